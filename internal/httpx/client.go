// Package httpx is the HTTP stack every connector shares: retries with
// go-retryablehttp (5xx, 429, connection resets) honouring every form of
// server-asked wait, a per-connector rate limiter, a response size cap,
// token handling with one refresh at a time and a single retry after a
// 401, typed *oem.APIError values built in one place, request counting for
// reports, and wire logging at debug level with secrets redacted.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/vehicleinfo/ingest/oem"
)

// Defaults used when a Config field is zero.
const (
	DefaultMaxRetries   = 4
	DefaultMinBackoff   = 250 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	DefaultMaxWait      = 2 * time.Minute
	DefaultMaxBodyBytes = 16 << 20
	DefaultStreamBytes  = 1 << 30
	DefaultTimeout      = 60 * time.Second
	DefaultCancelGrace  = time.Second
)

// ErrResponseTooLarge is returned when an answer exceeds the size cap.
var ErrResponseTooLarge = errors.New("response larger than the size cap")

// Config sets up a Client. Every field is optional except Connector and
// BaseURL.
type Config struct {
	// Connector names the connector in errors and logs ("bmw").
	Connector string
	// BaseURL is prefixed to relative request paths.
	BaseURL string
	// Transport is the base round tripper; http.DefaultTransport's clone
	// when nil.
	Transport http.RoundTripper
	// RateLimit is the steady request rate allowed, per second; 0 means no
	// limit. Burst is the bucket size (1 when zero and RateLimit is set).
	RateLimit float64
	Burst     int
	// MaxRetries bounds the retries after the first attempt (default 4).
	// Negative means no retry.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries when the server asks for no particular wait (250 ms, 10 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxWait is the longest server-asked wait (Retry-After, a wait in the
	// body) the client will sleep through (default 2 min). A longer one
	// ends the call at once with an ErrRateLimited or ErrQuotaExhausted
	// *oem.APIError carrying the wait.
	MaxWait time.Duration
	// MaxBodyBytes caps a buffered answer (16 MiB); StreamBytes caps a
	// streamed one (1 GiB).
	MaxBodyBytes int64
	StreamBytes  int64
	// Timeout bounds one attempt (60 s).
	Timeout time.Duration
	// CancelGrace is how long an exchange already on the wire may still
	// take after the caller's context is cancelled, so that what the OEM
	// did is not lost (1 s). New attempts never start after a cancel.
	CancelGrace time.Duration
	// Tokens, when set, authorises every request not marked NoAuth. A
	// source with TokenContext and Invalidate methods (CachedToken) gets
	// the request's context and a single retry after a 401.
	Tokens oauth2.TokenSource
	// Authorize puts the token on a request; "Authorization: Bearer
	// <AccessToken>" when nil.
	Authorize func(r *http.Request, t *oauth2.Token)
	// Header is added to every request (an API key, an Accept header).
	Header http.Header
	// Secrets are literal values (passwords, client secrets, API keys) to
	// redact from logs and errors besides the usual token shapes.
	Secrets []string
	// Logger receives the wire at debug level; nothing when nil.
	Logger *slog.Logger
	// Classify may adjust an error built from a failed answer: the OEM's
	// own codes for "already done", quotas and so on.
	Classify func(e *oem.APIError, body []byte)
	// UserAgent is sent on every request.
	UserAgent string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Client sends requests for one connector. It is safe for concurrent use.
type Client struct {
	cfg     Config
	rc      *retryablehttp.Client
	limiter *rate.Limiter
	red     *Redactor
	log     *slog.Logger

	mu        sync.RWMutex
	base      *url.URL
	notBefore time.Time // from RateLimit-Remaining: 0 headers
}

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Connector == "" {
		return nil, fmt.Errorf("httpx: connector name is required: %w", oem.ErrInvalidInput)
	}

	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: base URL: %w", cfg.Connector, err)
	}

	setDefaults(&cfg)

	c := &Client{cfg: cfg, base: base, red: NewRedactor(cfg.Secrets...), log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}

	if cfg.RateLimit > 0 {
		burst := max(cfg.Burst, 1)
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), burst)
	}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: &wire{c: c, next: cfg.Transport}, Timeout: cfg.Timeout}
	rc.Logger = nil
	rc.RetryMax = max(cfg.MaxRetries, 0)
	rc.RetryWaitMin = cfg.MinBackoff
	rc.RetryWaitMax = cfg.MaxBackoff
	rc.CheckRetry = c.checkRetry
	rc.Backoff = c.backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c.rc = rc

	return c, nil
}

func setDefaults(cfg *Config) {
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}

	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}

	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}

	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}

	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}

	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}

	if cfg.StreamBytes <= 0 {
		cfg.StreamBytes = DefaultStreamBytes
	}

	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}

	if cfg.CancelGrace <= 0 {
		cfg.CancelGrace = DefaultCancelGrace
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	if cfg.UserAgent == "" {
		cfg.UserAgent = "vehicleinfo-ingest/1"
	}
}

func parseBase(s string) (*url.URL, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty: %w", oem.ErrInvalidInput)
	}

	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL: %w", s, oem.ErrInvalidInput)
	}

	return u, nil
}

// BaseURL returns the base URL in use.
func (c *Client) BaseURL() string {
	c.mu.RLock()
	defer c.mu.RUnlock()

	return c.base.String()
}

// SetBaseURL switches the base URL (a region change the OEM asked for).
func (c *Client) SetBaseURL(s string) error {
	u, err := parseBase(s)
	if err != nil {
		return err
	}

	c.mu.Lock()
	c.base = u
	c.mu.Unlock()

	return nil
}

// Redactor returns the client's redactor, so connectors can clean their own
// messages.
func (c *Client) Redactor() *Redactor { return c.red }

// Request is one call.
type Request struct {
	// Op says what is being done, for errors: "register vehicle".
	Op     string
	Method string
	// Path is relative to the base URL, or an absolute URL.
	Path   string
	Query  url.Values
	Header http.Header
	// JSON, when not nil, is encoded as the body with a JSON content type.
	JSON any
	// Body and ContentType give a raw body instead.
	Body        []byte
	ContentType string
	// NoAuth sends the request without a token (login calls).
	NoAuth bool
	// Kind counts the request under this kind instead of the context's.
	Kind oem.RequestKind
	// Accept lists non-2xx statuses the caller handles itself: they come
	// back as a Response, not an error.
	Accept []int
}

// Response is a buffered answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Decode unmarshals the body into v, keeping numbers exact.
func (r *Response) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}

	return nil
}

// Do sends r and buffers the answer. A status outside 2xx and r.Accept is
// an *oem.APIError; a failure to reach the OEM after the retries is an
// *oem.APIError with StatusCode 0 and kind ErrTransient; a cancelled
// context is the context's error.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	resp, release, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer release()
	defer resp.Body.Close()

	body, err := readCapped(resp.Body, c.cfg.MaxBodyBytes)
	if err != nil {
		return nil, c.transportError(ctx, r, err)
	}

	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	if ok(resp.StatusCode, r.Accept) {
		return out, nil
	}

	return out, c.apiError(r, resp, body)
}

// DoJSON is Do followed by decoding a success answer into out (when out is
// not nil).
func (c *Client) DoJSON(ctx context.Context, r Request, out any) (*Response, error) {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return resp, err
	}

	if out != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 && len(bytes.TrimSpace(resp.Body)) > 0 {
		if err := resp.Decode(out); err != nil {
			return resp, fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, err)
		}
	}

	return resp, nil
}

// Stream sends r and returns the live answer for the caller to read and
// close; the body is capped at Config.StreamBytes. A failed status is an
// *oem.APIError as for Do, with the body already consumed.
func (c *Client) Stream(ctx context.Context, r Request) (*http.Response, error) {
	resp, release, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}

	if !ok(resp.StatusCode, r.Accept) {
		defer release()
		defer resp.Body.Close()
		body, _ := readCapped(resp.Body, 64<<10)

		return nil, c.apiError(r, resp, body)
	}

	resp.Body = &cappedBody{r: io.LimitReader(resp.Body, c.cfg.StreamBytes+1), c: resp.Body,
		max: c.cfg.StreamBytes, release: release}

	return resp, nil
}

func ok(status int, accept []int) bool {
	if status >= 200 && status < 300 {
		return true
	}

	for _, a := range accept {
		if a == status {
			return true
		}
	}

	return false
}

// send runs the retrying request, with one more try after a 401 when the
// token source can drop the rejected token. The caller must call release
// once done with the answer's body.
//
// A request already on the wire when ctx is cancelled is not cut off at
// once: its answer is awaited for up to Config.CancelGrace and returned, so
// the caller can record what the OEM did. No new attempt starts after the
// cancel, and waits for the rate limiter or a retry end at once.
func (c *Client) send(ctx context.Context, r Request) (*http.Response, func(), error) {
	if r.Kind != "" {
		ctx = oem.WithRequestKind(ctx, r.Kind)
	}

	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, err)
	}

	caller := ctx
	wireCtx, cancelWire := context.WithCancel(context.WithValue(context.WithoutCancel(ctx), callerKey{}, caller))
	stopGrace := context.AfterFunc(caller, func() {
		t := time.AfterFunc(c.cfg.CancelGrace, cancelWire)
		context.AfterFunc(wireCtx, func() { t.Stop() })
	})
	release := func() {
		stopGrace()
		cancelWire()
	}

	for attempt := 0; ; attempt++ {
		tok, err := c.token(caller, r)
		if err != nil {
			release()
			return nil, nil, err
		}

		req, err := c.newRequest(wireCtx, r, tok)
		if err != nil {
			release()
			return nil, nil, err
		}

		resp, err := c.rc.Do(req)
		if err != nil {
			release()
			return nil, nil, c.transportError(caller, r, err)
		}

		if resp.StatusCode == http.StatusUnauthorized && tok != nil && attempt == 0 && caller.Err() == nil {
			if inv, ok := c.cfg.Tokens.(invalidator); ok {
				drain(resp.Body)
				inv.Invalidate(tok)
				c.log.DebugContext(ctx, "token rejected; fetching a new one",
					slog.String("connector", c.cfg.Connector), slog.String("op", r.Op))

				continue
			}
		}

		return resp, release, nil
	}
}

func (c *Client) token(ctx context.Context, r Request) (*oauth2.Token, error) {
	if r.NoAuth || c.cfg.Tokens == nil {
		return nil, nil
	}

	var (
		tok *oauth2.Token
		err error
	)
	if cs, ok := c.cfg.Tokens.(contextTokenSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		tok, err = c.cfg.Tokens.Token()
	}

	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, ctx.Err())
		}

		// Token sources name their connector already ("hm: get token: …").
		if strings.HasPrefix(err.Error(), c.cfg.Connector+": ") {
			return nil, fmt.Errorf("%s: %w", r.Op, err)
		}

		return nil, fmt.Errorf("%s: %s: get token: %w", c.cfg.Connector, r.Op, err)
	}

	return tok, nil
}

func (c *Client) newRequest(ctx context.Context, r Request, tok *oauth2.Token) (*retryablehttp.Request, error) {
	u, err := c.resolve(r.Path, r.Query)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, err)
	}

	var body []byte
	ctype := r.ContentType
	switch {
	case r.JSON != nil:
		body, err = json.Marshal(r.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: encode body: %w", c.cfg.Connector, r.Op, err)
		}

		if ctype == "" {
			ctype = "application/json"
		}
	case r.Body != nil:
		body = r.Body
	}

	var rb any
	if body != nil {
		rb = body
	}

	req, err := retryablehttp.NewRequestWithContext(ctx, r.Method, u, rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, err)
	}

	for k, vs := range c.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}

	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}

	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if tok != nil {
		if c.cfg.Authorize != nil {
			c.cfg.Authorize(req.Request, tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		}

		// An OEM that echoes the token in an error must not put it in
		// our errors and logs: whatever credential went out is redacted.
		c.red.Learn(tok.AccessToken)
		if _, cred, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok {
			c.red.Learn(cred)
		}
	}

	return req, nil
}

func (c *Client) resolve(path string, q url.Values) (string, error) {
	var u *url.URL
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		p, err := url.Parse(path)
		if err != nil {
			return "", err
		}

		u = p
	} else {
		c.mu.RLock()
		b := *c.base
		c.mu.RUnlock()

		rel, err := url.Parse(path)
		if err != nil {
			return "", err
		}

		b.Path = strings.TrimRight(b.Path, "/") + "/" + strings.TrimLeft(rel.Path, "/")
		b.RawPath = ""
		if rel.RawPath != "" {
			b.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + "/" + strings.TrimLeft(rel.RawPath, "/")
		}

		b.RawQuery = rel.RawQuery
		u = &b
	}

	if len(q) > 0 {
		qq := u.Query()
		for k, vs := range q {
			for _, v := range vs {
				qq.Add(k, v)
			}
		}

		u.RawQuery = qq.Encode()
	}

	return u.String(), nil
}

func (c *Client) apiError(r Request, resp *http.Response, body []byte) error {
	path := ""
	if resp.Request != nil && resp.Request.URL != nil {
		path = resp.Request.URL.Path
	}

	e := NewAPIError(c.cfg.Connector, r.Op, r.Method, path, resp.StatusCode, resp.Header, body, c.red, c.cfg.Now())
	if c.cfg.Classify != nil {
		c.cfg.Classify(e, body)
	}

	return e
}

func (c *Client) transportError(ctx context.Context, r Request, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, ctx.Err())
	}

	if errors.Is(err, ErrResponseTooLarge) {
		return fmt.Errorf("%s: %s: %w", c.cfg.Connector, r.Op, err)
	}

	var apiErr *oem.APIError
	if errors.As(err, &apiErr) {
		return err
	}

	return &oem.APIError{
		Connector: c.cfg.Connector,
		Op:        r.Op,
		Method:    r.Method,
		Path:      pathOf(r.Path),
		Message:   c.red.String(err.Error()),
		Kind:      oem.ErrTransient,
	}
}

func pathOf(p string) string {
	if u, err := url.Parse(p); err == nil {
		return u.Path
	}

	return p
}

// callerKey holds, in the detached context a request is sent with, the
// caller's own context: cancelling it stops retries and waits but not an
// exchange already on the wire.
type callerKey struct{}

// callerCtx returns the caller's context carried by ctx, or ctx itself.
func callerCtx(ctx context.Context) context.Context {
	if c, ok := ctx.Value(callerKey{}).(context.Context); ok {
		return c
	}

	return ctx
}

// waitHeader carries a parsed wait from checkRetry to backoff on the
// response; it never leaves the process.
const waitHeader = "X-Vehicleinfo-Wait"

// checkRetry decides whether to try again: connection errors, 5xx (but 501)
// and 429 are retried, unless the server asks for a wait longer than
// MaxWait or names a spent quota.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if cerr := callerCtx(ctx).Err(); cerr != nil {
		if err == nil {
			return false, nil // an answer that arrived in the grace: keep it
		}

		return false, cerr
	}

	if err != nil {
		var apiErr *oem.APIError
		if errors.As(err, &apiErr) {
			return false, err
		}

		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}

	if resp.StatusCode != http.StatusTooManyRequests &&
		(resp.StatusCode < 500 || resp.StatusCode == http.StatusNotImplemented) {
		return false, nil
	}

	// Peek at the body for a wait or a quota, then put it back.
	body, _ := readCapped(resp.Body, 64<<10)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))

	if resp.StatusCode == http.StatusTooManyRequests && isQuota(strings.ToLower(string(body))) &&
		!strings.Contains(strings.ToLower(string(body)), "too many requests") {
		return false, nil
	}

	if d, ok := waitFromResponse(resp.Header, body, c.cfg.Now()); ok {
		if d > c.cfg.MaxWait {
			return false, nil
		}

		resp.Header.Set(waitHeader, d.String())
	}

	return true, nil
}

// backoff waits what the server asked, else grows exponentially from
// MinBackoff to MaxBackoff with jitter.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, err := time.ParseDuration(resp.Header.Get(waitHeader)); err == nil {
			return d
		}
	}

	d := lo << min(attempt, 20)
	if d > hi || d <= 0 {
		d = hi
	}

	// Jitter in [d/2, d].
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// wire is the lowest layer: it waits for the rate limiter, counts the
// request, sends it and logs it with secrets redacted.
type wire struct {
	c    *Client
	next http.RoundTripper
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := w.c

	caller := callerCtx(ctx)
	if err := caller.Err(); err != nil {
		return nil, err // cancelled: no new attempt goes out
	}

	if err := c.waitTurn(caller); err != nil {
		return nil, err
	}

	oem.CountRequest(ctx)
	start := c.cfg.Now()
	resp, err := w.next.RoundTrip(req)
	elapsed := time.Since(start)

	if err != nil {
		c.log.DebugContext(ctx, "http",
			slog.String("connector", c.cfg.Connector), slog.String("method", req.Method),
			slog.String("url", c.red.URL(req.URL)), slog.Int64("duration_ms", elapsed.Milliseconds()),
			slog.String("error", c.red.String(err.Error())))

		return nil, err
	}

	c.learnLimits(resp.Header)
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.DebugContext(ctx, "http",
			slog.String("connector", c.cfg.Connector), slog.String("method", req.Method),
			slog.String("url", c.red.URL(req.URL)), slog.Int("status", resp.StatusCode),
			slog.Int64("duration_ms", elapsed.Milliseconds()),
			slog.Any("request_headers", c.red.Header(req.Header)),
			slog.String("request_id", requestID(resp.Header)))
	}

	return resp, nil
}

// waitTurn blocks until the limiter and any OEM-announced pause allow a
// request.
func (c *Client) waitTurn(ctx context.Context) error {
	c.mu.RLock()
	nb := c.notBefore
	c.mu.RUnlock()

	if d := nb.Sub(c.cfg.Now()); d > 0 {
		if d > c.cfg.MaxWait {
			return &oem.APIError{
				Connector: c.cfg.Connector, Op: "wait for rate limit", StatusCode: http.StatusTooManyRequests,
				Message: "the OEM's rate limit is spent", Kind: oem.ErrRateLimited, RetryAfter: d,
			}
		}

		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}

	if c.limiter != nil {
		return c.limiter.Wait(ctx)
	}

	return nil
}

// learnLimits pauses requests when the OEM says none remain.
func (c *Client) learnLimits(h http.Header) {
	if strings.TrimSpace(h.Get("RateLimit-Remaining")) != "0" {
		return
	}

	if d, ok := ParseRetryAfter(h.Get("RateLimit-Reset"), c.cfg.Now()); ok && d > 0 {
		c.mu.Lock()
		if t := c.cfg.Now().Add(d); t.After(c.notBefore) {
			c.notBefore = t
		}
		c.mu.Unlock()
	}
}

func readCapped(r io.Reader, n int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return b, err
	}

	if int64(len(b)) > n {
		return b[:n], fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, n)
	}

	return b, nil
}

func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	rc.Close()
}

type cappedBody struct {
	r       io.Reader
	c       io.Closer
	max     int64
	read    int64
	release func()
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.max {
		return n, fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, b.max)
	}

	return n, err
}

func (b *cappedBody) Close() error {
	err := b.c.Close()
	b.release()

	return err
}
