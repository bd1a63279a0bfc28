package httpx

import (
	"context"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/oem"
)

// TokenFunc fetches a new token. Connectors write one per login flow
// (Cognito, client credentials with a JSON body, a signed assertion...).
type TokenFunc func(ctx context.Context) (*oauth2.Token, error)

// CachedToken is an oauth2.TokenSource that keeps one token and fetches a
// new one, one caller at a time, when it is within Skew of expiring or after
// Invalidate. Concurrent callers wait for the one fetch instead of logging in
// several times.
type CachedToken struct {
	fetch TokenFunc
	skew  time.Duration
	now   func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

// NewCachedToken wraps fetch. skew is how long before expiry a token counts
// as expired (30 s when zero or negative).
func NewCachedToken(fetch TokenFunc, skew time.Duration) *CachedToken {
	if skew <= 0 {
		skew = 30 * time.Second
	}

	return &CachedToken{fetch: fetch, skew: skew, now: time.Now}
}

// SetClock replaces the clock, for tests.
func (c *CachedToken) SetClock(now func() time.Time) { c.now = now }

// Token implements oauth2.TokenSource with a background context.
func (c *CachedToken) Token() (*oauth2.Token, error) {
	return c.TokenContext(context.Background())
}

// TokenContext returns the cached token, or fetches a new one with ctx.
// The fetch's requests count as oem.RequestAuth.
func (c *CachedToken) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.tok != nil && c.valid(c.tok) {
		return c.tok, nil
	}

	tok, err := c.fetch(oem.WithRequestKind(ctx, oem.RequestAuth))
	if err != nil {
		return nil, err
	}

	c.tok = tok

	return tok, nil
}

func (c *CachedToken) valid(t *oauth2.Token) bool {
	if t.AccessToken == "" {
		return false
	}

	return t.Expiry.IsZero() || c.now().Add(c.skew).Before(t.Expiry)
}

// Invalidate forgets old so the next call fetches a new token. It does
// nothing when the cached token has already been replaced, so that many
// callers failing with the same stale token cause one fetch, not many.
func (c *CachedToken) Invalidate(old *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.tok == nil || old == nil || c.tok.AccessToken == old.AccessToken {
		c.tok = nil
	}
}

// contextTokenSource is a TokenSource that can take a context.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// invalidator is a TokenSource that can drop a rejected token.
type invalidator interface {
	Invalidate(old *oauth2.Token)
}
