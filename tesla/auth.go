package tesla

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// accountKeyCtx carries the account whose token a request uses.
type accountKeyCtx struct{}

func withAccount(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, accountKeyCtx{}, account)
}

func accountFrom(ctx context.Context) string {
	a, _ := ctx.Value(accountKeyCtx{}).(string)
	return a
}

// accountTokens is the one token source the HTTP client sees: it hands out
// the token of the account named in the request's context. After a 401 it
// passes the rejected token to the account's source (which reads Slack or
// refreshes again) and refuses to hand the same token out again, so a
// source that cannot renew (a static token) costs one rejected request, not
// two.
type accountTokens struct {
	sources map[string]oauth2.TokenSource // by account key

	mu       sync.Mutex
	rejected map[string]bool
	handed   []string // the access tokens handed out lately, to scrub from errors
}

func newAccountTokens(src map[string]oauth2.TokenSource) *accountTokens {
	m := make(map[string]oauth2.TokenSource, len(src))
	for a, s := range src {
		m[accountKey(a)] = s
	}

	return &accountTokens{sources: m, rejected: make(map[string]bool)}
}

type invalidator interface{ Invalidate(old *oauth2.Token) }

type contextSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// Token implements oauth2.TokenSource; it needs an account in a context, so
// it always fails.
func (a *accountTokens) Token() (*oauth2.Token, error) {
	return nil, fmt.Errorf("tesla: no account named for the request: %w", oem.ErrInvalidInput)
}

// TokenContext returns the token of the context's account.
func (a *accountTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	account := accountFrom(ctx)
	src, ok := a.sources[accountKey(account)]
	if !ok {
		return nil, fmt.Errorf("tesla: no token source for account %q: %w", account, oem.ErrInvalidInput)
	}

	var (
		tok *oauth2.Token
		err error
	)
	if cs, ok := src.(contextSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		tok, err = src.Token()
	}

	if err != nil {
		return nil, fmt.Errorf("account %s: %w", account, err)
	}

	if tok == nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("account %s: empty access token: %w", account, oem.ErrAuth)
	}

	a.mu.Lock()
	bad := a.rejected[tok.AccessToken]
	if !bad && !slices.Contains(a.handed, tok.AccessToken) {
		if len(a.handed) >= 64 {
			a.handed = a.handed[1:]
		}

		a.handed = append(a.handed, tok.AccessToken)
	}
	a.mu.Unlock()

	if bad {
		return nil, fmt.Errorf("account %s: Tesla rejected the access token and no new one is available: %w",
			account, oem.ErrAuth)
	}

	return tok, nil
}

// scrub removes the access tokens handed out lately from an answer's error
// fields: opaque tokens that an OEM echoes back are not caught by the
// HTTP stack's redaction, which knows JWTs and configured secrets only.
func (a *accountTokens) scrub(err error) {
	var ae *oem.APIError
	if !errors.As(err, &ae) {
		return
	}

	a.mu.Lock()
	defer a.mu.Unlock()

	for _, t := range a.handed {
		if len(t) < 8 {
			continue
		}

		ae.Code = strings.ReplaceAll(ae.Code, t, "[redacted]")
		ae.Message = strings.ReplaceAll(ae.Message, t, "[redacted]")
		ae.Snippet = strings.ReplaceAll(ae.Snippet, t, "[redacted]")
	}
}

// Invalidate remembers old as rejected and tells the sources that can drop it.
func (a *accountTokens) Invalidate(old *oauth2.Token) {
	if old == nil {
		return
	}

	a.mu.Lock()
	if len(a.rejected) > 1024 {
		clear(a.rejected)
	}

	a.rejected[old.AccessToken] = true
	a.mu.Unlock()

	for _, s := range a.sources {
		if inv, ok := s.(invalidator); ok {
			inv.Invalidate(old)
		}
	}
}

// DefaultTokenURL is Tesla's OAuth token endpoint for Fleet API tokens.
const DefaultTokenURL = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"

// RefreshConfig sets up a refresh-token source.
type RefreshConfig struct {
	// TokenURL is the OAuth token endpoint. Default DefaultTokenURL.
	TokenURL string
	// ClientID is the Tesla application's client id; required.
	ClientID string
	// RefreshToken is the current refresh token; required. Tesla's refresh
	// tokens work once: each refresh answer carries the next one.
	RefreshToken string
	// Persist stores a rotated refresh token. It is called with the new
	// token before the new access token is handed out; when it fails, the
	// access token is not used and the call fails (the new refresh token
	// is kept in memory and offered to Persist again on the next call).
	// Optional: without it, rotated tokens live in memory only.
	Persist func(ctx context.Context, t *oauth2.Token) error
	// Transport, Timeout, MinBackoff, MaxBackoff and Now tune the HTTP
	// client as in Config. Defaults as there.
	Transport              http.RoundTripper
	Timeout                time.Duration
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
}

// RefreshTokens is an oauth2.TokenSource that refreshes Tesla access tokens
// with single-use refresh tokens, one refresh at a time. A refresh answer
// without a new refresh token keeps the old one. invalid_grant or
// login_required make it fail with oem.ErrLoginRequired, and it then sends
// no more requests until SetRefreshToken gives it a new refresh token.
type RefreshTokens struct {
	*httpx.CachedToken

	cfg    RefreshConfig
	client *httpx.Client

	mu        sync.Mutex
	refresh   string
	unsaved   *oauth2.Token // a rotated token Persist has not accepted yet
	pending   *oauth2.Token // the access token waiting for unsaved to be stored
	loginErr  error
	refreshes int
}

// NewRefreshTokens validates cfg and returns the source. It sends nothing
// until a token is asked for.
func NewRefreshTokens(cfg RefreshConfig) (*RefreshTokens, error) {
	if strings.TrimSpace(cfg.ClientID) == "" || strings.TrimSpace(cfg.RefreshToken) == "" {
		return nil, fmt.Errorf("tesla: refresh tokens: client id and refresh token are required: %w",
			oem.ErrInvalidInput)
	}

	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}

	client, err := httpx.New(httpx.Config{
		Connector: "tesla", BaseURL: cfg.TokenURL, Transport: cfg.Transport, Timeout: cfg.Timeout,
		MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff, Now: cfg.Now,
		Secrets: []string{cfg.RefreshToken},
	})
	if err != nil {
		return nil, err
	}

	r := &RefreshTokens{cfg: cfg, client: client, refresh: cfg.RefreshToken}
	r.CachedToken = httpx.NewCachedToken(r.fetch, 0)
	if cfg.Now != nil {
		r.SetClock(cfg.Now)
	}

	return r, nil
}

// SetRefreshToken replaces the refresh token (after a new log-in) and
// clears a login-required failure.
func (r *RefreshTokens) SetRefreshToken(t string) {
	r.mu.Lock()
	r.refresh, r.loginErr, r.unsaved, r.pending = t, nil, nil, nil
	r.mu.Unlock()
	r.Invalidate(nil)
}

// RefreshToken returns the refresh token the next refresh will use.
func (r *RefreshTokens) RefreshToken() string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return r.refresh
}

// Refreshes counts the refresh requests sent.
func (r *RefreshTokens) Refreshes() int {
	r.mu.Lock()
	defer r.mu.Unlock()

	return r.refreshes
}

type refreshAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// fetch runs under CachedToken's lock: one refresh at a time.
func (r *RefreshTokens) fetch(ctx context.Context) (*oauth2.Token, error) {
	r.mu.Lock()
	loginErr, unsaved, pending, refresh := r.loginErr, r.unsaved, r.pending, r.refresh
	r.mu.Unlock()

	if loginErr != nil {
		return nil, loginErr
	}

	if unsaved != nil {
		// The last refresh's token was not stored: store it before using
		// the access token that came with it.
		if err := r.persist(ctx, unsaved); err != nil {
			return nil, err
		}

		return pending, nil
	}

	now := time.Now
	if r.cfg.Now != nil {
		now = r.cfg.Now
	}

	form := url.Values{
		"grant_type": {"refresh_token"}, "client_id": {r.cfg.ClientID}, "refresh_token": {refresh},
	}

	r.mu.Lock()
	r.refreshes++
	r.mu.Unlock()

	var ans refreshAnswer
	_, err := r.client.DoJSON(ctx, httpx.Request{
		Op: "refresh access token", Method: http.MethodPost, Path: r.cfg.TokenURL, NoAuth: true,
		Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded",
		Kind: oem.RequestAuth,
	}, &ans)
	if err != nil {
		if errors.Is(err, oem.ErrLoginRequired) {
			r.mu.Lock()
			r.loginErr = fmt.Errorf("tesla: the refresh token was refused; log in again: %w", err)
			r.mu.Unlock()
		}

		return nil, err
	}

	if ans.AccessToken == "" {
		return nil, fmt.Errorf("tesla: refresh answer without an access token: %w", oem.ErrAuth)
	}

	tok := &oauth2.Token{AccessToken: ans.AccessToken, TokenType: ans.TokenType, RefreshToken: refresh}
	if ans.ExpiresIn > 0 {
		tok.Expiry = now().Add(time.Duration(ans.ExpiresIn) * time.Second)
	}

	if ans.RefreshToken == "" || ans.RefreshToken == refresh {
		return tok, nil
	}

	tok.RefreshToken = ans.RefreshToken
	r.mu.Lock()
	r.refresh = ans.RefreshToken
	r.mu.Unlock()

	if err := r.persist(ctx, tok); err != nil {
		r.mu.Lock()
		r.unsaved, r.pending = tok, tok
		r.mu.Unlock()

		return nil, err
	}

	return tok, nil
}

func (r *RefreshTokens) persist(ctx context.Context, tok *oauth2.Token) error {
	if r.cfg.Persist != nil {
		if err := r.cfg.Persist(ctx, tok); err != nil {
			return fmt.Errorf("tesla: store the rotated refresh token: %w", err)
		}
	}

	r.mu.Lock()
	r.unsaved, r.pending = nil, nil
	r.mu.Unlock()

	return nil
}
