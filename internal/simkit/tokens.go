package simkit

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Tokens issues and checks opaque bearer tokens that expire.
type Tokens struct {
	mu     sync.Mutex
	ttl    time.Duration
	clock  *Clock
	issued map[string]tokenInfo
}

type tokenInfo struct {
	subject string
	expires time.Time
}

// NewTokens issues tokens valid for ttl, on clock (wall time when nil).
func NewTokens(ttl time.Duration, clock *Clock) *Tokens {
	if clock == nil {
		clock = &Clock{}
	}

	return &Tokens{ttl: ttl, clock: clock, issued: make(map[string]tokenInfo)}
}

// SetTTL changes the lifetime of tokens issued from now on.
func (t *Tokens) SetTTL(d time.Duration) {
	t.mu.Lock()
	t.ttl = d
	t.mu.Unlock()
}

// TTL returns the lifetime of new tokens.
func (t *Tokens) TTL() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()

	return t.ttl
}

// Issue returns a new token for subject, with a prefix that says what it
// is ("sim-access-").
func (t *Tokens) Issue(prefix, subject string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := prefix + hex.EncodeToString(b)

	t.mu.Lock()
	t.issued[tok] = tokenInfo{subject: subject, expires: t.clock.Now().Add(t.ttl)}
	t.mu.Unlock()

	return tok
}

// Valid returns the subject of a live token.
func (t *Tokens) Valid(tok string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()

	info, ok := t.issued[tok]
	if !ok || (t.ttl > 0 && !t.clock.Now().Before(info.expires)) {
		return "", false
	}

	return info.subject, true
}

// Bearer checks the request's "Authorization: Bearer" token.
func (t *Tokens) Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}

	return t.Valid(strings.TrimSpace(h[7:]))
}

// ExpireAll makes every issued token invalid, as if they had all expired.
func (t *Tokens) ExpireAll() {
	t.mu.Lock()
	t.issued = make(map[string]tokenInfo)
	t.mu.Unlock()
}
