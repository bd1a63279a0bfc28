package httpx

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

const redacted = "[redacted]"

// secretHeaders are never logged or kept in errors.
var secretHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"apikey": true, "x-api-key": true, "api-key": true, "x-amz-security-token": true,
}

// secretKeys are JSON members and form fields whose values are secrets.
var secretKeyRe = regexp.MustCompile(`(?i)"((?:[a-z_]*)?(?:password|secret|token|assertion|authtoken|idtoken|accesstoken|refreshtoken|apikey|api_key|authorization)[a-z_]*)"\s*:\s*"(?:[^"\\]|\\.)*"`)

var secretFormRe = regexp.MustCompile(`(?i)\b([a-z_]*(?:password|secret|token|assertion|api_?key)[a-z_]*)=[^&\s]*`)

var bearerRe = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*`)

// jwtRe matches anything shaped like a JWT.
var jwtRe = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// Redactor removes secrets from text before it is logged or kept in an
// error: secret JSON members and form fields, bearer tokens, JWTs, and any
// literal value it was told about.
type Redactor struct {
	literals []string

	// learned are credentials seen at run time (session tokens the OEM
	// handed out), newest last, bounded by maxLearned.
	mu      sync.RWMutex
	learned []string
}

// maxLearned bounds the run-time credentials a Redactor remembers.
const maxLearned = 32

// Learn adds a credential seen at run time (a session token) to what is
// redacted. Short values are ignored, as in NewRedactor.
func (r *Redactor) Learn(secret string) {
	if r == nil || len(secret) < 8 {
		return
	}

	r.mu.Lock()
	defer r.mu.Unlock()

	if slices.Contains(r.learned, secret) {
		return
	}

	r.learned = append(r.learned, secret)
	if len(r.learned) > maxLearned {
		r.learned = r.learned[len(r.learned)-maxLearned:]
	}
}

// NewRedactor returns a Redactor that also removes each literal (passwords,
// client secrets, API keys of the connector's configuration). Empty and very
// short literals are ignored so that redaction cannot eat ordinary text.
func NewRedactor(literals ...string) *Redactor {
	r := &Redactor{}
	for _, l := range literals {
		if len(l) >= 4 {
			r.literals = append(r.literals, l)
		}
	}

	return r
}

// String returns s without secrets.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}

	for _, l := range r.literalsOrNil() {
		s = strings.ReplaceAll(s, l, redacted)
	}

	if r != nil {
		r.mu.RLock()
		for _, l := range r.learned {
			s = strings.ReplaceAll(s, l, redacted)
		}
		r.mu.RUnlock()
	}

	s = secretKeyRe.ReplaceAllString(s, `"$1":"`+redacted+`"`)
	s = secretFormRe.ReplaceAllString(s, `$1=`+redacted)
	s = bearerRe.ReplaceAllString(s, `$1 `+redacted)
	s = jwtRe.ReplaceAllString(s, redacted)

	return s
}

func (r *Redactor) literalsOrNil() []string {
	if r == nil {
		return nil
	}

	return r.literals
}

// Header returns a copy of h with secret headers redacted, for logging.
func (r *Redactor) Header(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if secretHeaders[strings.ToLower(k)] {
			out[k] = redacted
			continue
		}

		out[k] = r.String(strings.Join(v, ", "))
	}

	return out
}

// URL returns u as text with secret query parameters and user info
// redacted.
func (r *Redactor) URL(u *url.URL) string {
	if u == nil {
		return ""
	}

	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			if secretFormRe.MatchString(k + "=x") {
				q.Set(k, redacted)
			}
		}

		c.RawQuery = q.Encode()
	}

	return r.String(c.String())
}
