package tesla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/slack-go/slack"
	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/oem"
)

// TokenPrefix starts the first text element of a token message; the account
// name follows it, then a colon.
const TokenPrefix = "ACCESS_TOKEN_"

// SlackConfig sets up SlackTokens.
type SlackConfig struct {
	// Token is the Slack bot token; required.
	Token string
	// Channel is the id of the channel the token messages are posted to;
	// required.
	Channel string
	// Accounts are the Tesla accounts to find; required. Names compare
	// without case.
	Accounts []string
	// APIURL overrides Slack's Web API URL ("http://127.0.0.1:1234/api/").
	// Default slack-go's https://slack.com/api/.
	APIURL string
	// PageSize is the limit asked of conversations.history. Default 200.
	PageSize int
	// MaxPages bounds the pages one look-up reads. Default 50.
	MaxPages int
	// Retry is how long a failed look-up is kept before Slack is asked
	// again. Default 30 s.
	Retry time.Duration
	// MaxWait is the longest Slack rate-limit wait slept through. Default 1
	// min; a longer one fails the look-up with oem.ErrRateLimited.
	MaxWait time.Duration
	// Backoff is the first wait before retrying a Slack 5xx or connection
	// failure (doubled each time, three tries in all). Default 500 ms.
	Backoff time.Duration
	// HTTPClient sends the Slack requests. Default a client with a 30 s
	// timeout over http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives notes about skipped messages at debug level.
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// SlackTokens reads the Tesla access tokens another system posts to a Slack
// channel. One look-up pages through the channel's history (newest first)
// until every account it needs is found, keeps the newest token of each
// account, and skips messages that are not token messages or are malformed.
// Source gives each account an oauth2.TokenSource; after Tesla rejects a
// token (Invalidate, called by the HTTP stack on a 401) the next Token reads
// Slack again. A failed look-up is remembered for SlackConfig.Retry only.
//
// A token message is a rich_text block whose leaf elements (the elements of
// its sections, in order) start with a text "ACCESS_TOKEN_<ACCOUNT>:" and
// whose fourth leaf is a text holding a JSON document with access_token (and
// maybe refresh_token, expires_in). An access token that is a JWT expires
// at its exp claim.
type SlackTokens struct {
	api *slack.Client
	cfg SlackConfig
	sem chan struct{} // one look-up at a time

	mu       sync.Mutex
	names    map[string]string // key → account name as configured
	found    map[string]*slackEntry
	failed   map[string]slackFailure
	rejected map[string]bool // access tokens Tesla refused
	lookups  int
}

type slackEntry struct {
	tok   *oauth2.Token
	ts    string
	stale bool // Tesla rejected it
}

type slackFailure struct {
	err   error
	until time.Time
}

// NewSlackTokens validates cfg and returns the token reader. It sends no
// request until a token is asked for.
func NewSlackTokens(cfg SlackConfig) (*SlackTokens, error) {
	var missing []string
	if strings.TrimSpace(cfg.Token) == "" {
		missing = append(missing, "Slack token")
	}

	if strings.TrimSpace(cfg.Channel) == "" {
		missing = append(missing, "Slack channel")
	}

	if len(cfg.Accounts) == 0 {
		missing = append(missing, "Tesla accounts")
	}

	if len(missing) > 0 {
		return nil, fmt.Errorf("tesla: slack tokens: missing %s: %w",
			strings.Join(missing, ", "), oem.ErrInvalidInput)
	}

	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}

	if cfg.MaxPages <= 0 {
		cfg.MaxPages = 50
	}

	if cfg.Retry <= 0 {
		cfg.Retry = 30 * time.Second
	}

	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Minute
	}

	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}

	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}

	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	opts := []slack.Option{slack.OptionHTTPClient(cfg.HTTPClient)}
	if u := strings.TrimSpace(cfg.APIURL); u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("tesla: slack tokens: API URL %q is not an http(s) URL: %w",
				truncate(u, 100), oem.ErrInvalidInput)
		}

		if !strings.HasSuffix(u, "/") {
			u += "/"
		}

		opts = append(opts, slack.OptionAPIURL(u))
	}

	s := &SlackTokens{
		api:      slack.New(cfg.Token, opts...),
		cfg:      cfg,
		sem:      make(chan struct{}, 1),
		names:    make(map[string]string),
		found:    make(map[string]*slackEntry),
		failed:   make(map[string]slackFailure),
		rejected: make(map[string]bool),
	}

	for _, a := range cfg.Accounts {
		s.names[accountKey(a)] = strings.TrimSpace(a)
	}

	return s, nil
}

func accountKey(a string) string { return strings.ToUpper(strings.TrimSpace(a)) }

// Source returns the token source of one account. Its TokenContext reads
// Slack when it has no valid token; its Invalidate drops a token Tesla
// rejected.
func (s *SlackTokens) Source(account string) oauth2.TokenSource {
	return &slackSource{s: s, key: accountKey(account)}
}

// Sources returns a source for every configured account, by account name,
// ready for Config.Tokens.
func (s *SlackTokens) Sources() map[string]oauth2.TokenSource {
	out := make(map[string]oauth2.TokenSource, len(s.cfg.Accounts))
	for _, a := range s.cfg.Accounts {
		out[strings.TrimSpace(a)] = s.Source(a)
	}

	return out
}

// Lookups returns how many history look-ups were made (each may read
// several pages).
func (s *SlackTokens) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.lookups
}

type slackSource struct {
	s   *SlackTokens
	key string
}

// Token implements oauth2.TokenSource.
func (ss *slackSource) Token() (*oauth2.Token, error) {
	return ss.TokenContext(context.Background())
}

// TokenContext returns the account's newest token, reading Slack when needed.
func (ss *slackSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return ss.s.token(ctx, ss.key)
}

// Invalidate marks old as rejected, so the next call reads Slack again.
func (ss *slackSource) Invalidate(old *oauth2.Token) { ss.s.invalidate(ss.key, old) }

func (s *SlackTokens) token(ctx context.Context, key string) (*oauth2.Token, error) {
	if _, ok := s.names[key]; !ok {
		return nil, fmt.Errorf("tesla: account %q is not one of the configured accounts: %w",
			key, oem.ErrInvalidInput)
	}

	if tok, err, done := s.cached(key); done {
		return tok, err
	}

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()

	// Another caller may have read Slack while this one waited.
	if tok, err, done := s.cached(key); done {
		return tok, err
	}

	if err := s.lookup(ctx, key); err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}

	if tok, err, done := s.cached(key); done {
		return tok, err
	}

	return nil, fmt.Errorf("tesla: no access token for account %s in Slack: %w", s.names[key], oem.ErrAuth)
}

// cached answers from memory: a valid token, or a failure still in force.
func (s *SlackTokens) cached(key string) (*oauth2.Token, error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if e := s.found[key]; e != nil && !e.stale && s.fresh(e.tok) {
		t := *e.tok
		return &t, nil, true
	}

	if f, ok := s.failed[key]; ok && s.cfg.Now().Before(f.until) {
		return nil, f.err, true
	}

	return nil, nil, false
}

func (s *SlackTokens) fresh(t *oauth2.Token) bool {
	return t.Expiry.IsZero() || s.cfg.Now().Add(30*time.Second).Before(t.Expiry)
}

func (s *SlackTokens) invalidate(key string, old *oauth2.Token) {
	if old == nil {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	if e := s.found[key]; e != nil && e.tok.AccessToken == old.AccessToken {
		e.stale = true
		s.rejected[old.AccessToken] = true
	}
}

// lookup reads the history until want and every other account without a
// usable token are found, then records what it found and a failure for
// each needed account it did not find.
func (s *SlackTokens) lookup(ctx context.Context, want string) error {
	need := s.needed(want)
	newest := make(map[string]slackCandidate)
	seenCursor := make(map[string]bool)
	cursor, pages, messages := "", 0, 0

	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()

	var lookErr error
	for pages < s.cfg.MaxPages {
		resp, err := s.history(ctx, cursor)
		if err != nil {
			lookErr = err
			break
		}

		pages++
		messages += len(resp.Messages)
		for _, m := range resp.Messages {
			s.consider(m, newest)
		}

		if allFound(need, newest) {
			break
		}

		next := resp.ResponseMetaData.NextCursor
		if !resp.HasMore || next == "" {
			break
		}

		if seenCursor[next] {
			lookErr = fmt.Errorf("tesla: Slack channel %s: history cursor repeats after %d pages: %w",
				s.cfg.Channel, pages, oem.ErrTransient)
			break
		}

		seenCursor[next] = true
		cursor = next
	}

	if ctx.Err() != nil {
		return ctx.Err()
	}

	s.record(need, newest, lookErr, pages, messages)

	return lookErr
}

// needed lists want and the other accounts that have no usable token.
func (s *SlackTokens) needed(want string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	// An account whose last look-up failed is not looked for on behalf of
	// another: one account that never posts must not make every look-up
	// read the whole history.
	now := s.cfg.Now()
	need := map[string]bool{want: true}
	for key := range s.names {
		if f, ok := s.failed[key]; ok && now.Before(f.until) {
			continue
		}

		if e := s.found[key]; e == nil || e.stale || !s.fresh(e.tok) {
			need[key] = true
		}
	}

	return need
}

func allFound(need map[string]bool, newest map[string]slackCandidate) bool {
	for k := range need {
		if _, ok := newest[k]; !ok {
			return false
		}
	}

	return true
}

type slackCandidate struct {
	tok *oauth2.Token
	ts  string
}

// consider keeps m's token when m is a well-formed token message of a
// configured account and newer than what was found so far.
func (s *SlackTokens) consider(m slack.Message, newest map[string]slackCandidate) {
	account, tok, err := ParseTokenMessage(m)
	if err != nil {
		if !errors.Is(err, errNotToken) {
			s.cfg.Logger.Debug("skipping malformed Slack token message",
				slog.String("ts", m.Timestamp), slog.String("reason", err.Error()))
		}

		return
	}

	key := accountKey(account)
	if _, ok := s.names[key]; !ok {
		s.cfg.Logger.Debug("skipping Slack token message of an account not configured",
			slog.String("ts", m.Timestamp), slog.String("account", account))

		return
	}

	if cur, ok := newest[key]; ok && !tsBefore(cur.ts, m.Timestamp) {
		return
	}

	newest[key] = slackCandidate{tok: tok, ts: m.Timestamp}
}

func (s *SlackTokens) record(need map[string]bool, newest map[string]slackCandidate,
	lookErr error, pages, messages int) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.cfg.Now()
	for key, c := range newest {
		name := s.names[key]
		switch {
		case s.rejected[c.tok.AccessToken]:
			if need[key] {
				s.failed[key] = slackFailure{until: now.Add(s.cfg.Retry), err: fmt.Errorf(
					"tesla: the newest access token for account %s in Slack was rejected by Tesla; "+
						"waiting for a new one: %w", name, oem.ErrAuth)}
			}
		case !s.fresh(c.tok):
			if need[key] {
				s.failed[key] = slackFailure{until: now.Add(s.cfg.Retry), err: fmt.Errorf(
					"tesla: the newest access token for account %s in Slack expired at %s: %w",
					name, c.tok.Expiry.UTC().Format(time.RFC3339), oem.ErrAuth)}
			}
		default:
			if e := s.found[key]; e == nil || e.stale || !s.fresh(e.tok) || tsBefore(e.ts, c.ts) {
				s.found[key] = &slackEntry{tok: c.tok, ts: c.ts}
			}

			delete(s.failed, key)
		}
	}

	for key := range need {
		if _, ok := newest[key]; ok {
			continue
		}

		err := lookErr
		if err == nil {
			err = fmt.Errorf("tesla: no access token for account %s in %d messages (%d pages) "+
				"of Slack channel %s: %w", s.names[key], messages, pages, s.cfg.Channel, oem.ErrAuth)
		}

		s.failed[key] = slackFailure{err: err, until: now.Add(s.cfg.Retry)}
	}
}

// history reads one page, sleeping through short Slack rate limits and
// retrying 5xx answers and connection failures twice.
func (s *SlackTokens) history(ctx context.Context, cursor string) (
	*slack.GetConversationHistoryResponse, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID: s.cfg.Channel, Cursor: cursor, Limit: s.cfg.PageSize,
	}

	backoff := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		resp, err := s.api.GetConversationHistoryContext(ctx, params)
		if err == nil {
			return resp, nil
		}

		if ctx.Err() != nil {
			return nil, ctx.Err()
		}

		wait, retry, serr := s.slackError(err)
		if !retry || attempt >= 3 {
			return nil, serr
		}

		if wait <= 0 {
			wait = backoff
			backoff *= 2
		}

		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// slackError types a Slack failure and says whether to try again, after
// how long (0: the backoff).
func (s *SlackTokens) slackError(err error) (time.Duration, bool, error) {
	op := "tesla: read Slack channel " + s.cfg.Channel

	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		if rl.RetryAfter > s.cfg.MaxWait {
			return 0, false, &oem.APIError{Connector: "tesla", Op: "read Slack channel " + s.cfg.Channel,
				StatusCode: http.StatusTooManyRequests, Message: "Slack rate limit",
				Kind: oem.ErrRateLimited, RetryAfter: rl.RetryAfter}
		}

		return rl.RetryAfter, true, &oem.APIError{Connector: "tesla", Op: "read Slack channel " + s.cfg.Channel,
			StatusCode: http.StatusTooManyRequests, Message: "Slack rate limit",
			Kind: oem.ErrRateLimited, RetryAfter: rl.RetryAfter}
	}

	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 {
			return 0, true, fmt.Errorf("%s: HTTP %d: %w", op, sc.Code, oem.ErrTransient)
		}

		kind := oem.ErrTransient
		if sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden {
			kind = oem.ErrAuth
		}

		return 0, false, fmt.Errorf("%s: HTTP %d: %w", op, sc.Code, kind)
	}

	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
			"missing_scope", "no_permission":
			return 0, false, fmt.Errorf("%s: %s: %w", op, se.Err, oem.ErrAuth)
		case "channel_not_found", "not_in_channel":
			return 0, false, fmt.Errorf("%s: %s: %w", op, se.Err, oem.ErrInvalidInput)
		case "ratelimited":
			return 0, true, fmt.Errorf("%s: %s: %w", op, se.Err, oem.ErrRateLimited)
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return 0, true, fmt.Errorf("%s: %s: %w", op, se.Err, oem.ErrTransient)
		}

		return 0, false, fmt.Errorf("%s: %s: %w", op, se.Err, oem.ErrTransient)
	}

	// A connection failure or an answer that is not JSON.
	return 0, true, fmt.Errorf("%s: %w: %w", op, oem.ErrTransient, err)
}

// errNotToken marks a message that does not claim to be a token message;
// it is skipped without a note.
var errNotToken = errors.New("not a token message")

// tokenDoc is the JSON document of a token message.
type tokenDoc struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
}

// ParseTokenMessage reads a token message: the account it names and its
// token. It returns an error for a message that is not a token message or
// is malformed: no rich_text block, fewer than four leaf elements, a first
// text that does not start with ACCESS_TOKEN_<ACCOUNT>:, a fourth element
// that is not a JSON document with an access_token. A JWT access token gets
// its exp claim as Expiry (the signature is not checked: only Tesla can).
func ParseTokenMessage(m slack.Message) (string, *oauth2.Token, error) {
	var rt *slack.RichTextBlock
	for _, b := range m.Blocks.BlockSet {
		if r, ok := b.(*slack.RichTextBlock); ok {
			rt = r
			break
		}
	}

	if rt == nil {
		if strings.Contains(m.Text, TokenPrefix) {
			return "", nil, errors.New("token message without a rich_text block")
		}

		return "", nil, errNotToken
	}

	leaves := richTextLeaves(rt.Elements, 0)
	if len(leaves) == 0 {
		return "", nil, errNotToken
	}

	first, ok := leaves[0].(*slack.RichTextSectionTextElement)
	if !ok || !strings.HasPrefix(strings.TrimSpace(first.Text), TokenPrefix) {
		return "", nil, errNotToken
	}

	head := strings.TrimPrefix(strings.TrimSpace(first.Text), TokenPrefix)
	colon := strings.IndexByte(head, ':')
	if colon <= 0 {
		return "", nil, errors.New("token message: no account name before a colon")
	}

	account := strings.TrimSpace(head[:colon])
	if len(leaves) < 4 {
		return account, nil, fmt.Errorf("token message for %s: %d rich-text elements, want at least 4",
			account, len(leaves))
	}

	docEl, ok := leaves[3].(*slack.RichTextSectionTextElement)
	if !ok {
		return account, nil, fmt.Errorf("token message for %s: fourth element is not text", account)
	}

	doc, err := decodeTokenDoc(docEl.Text)
	if err != nil {
		return account, nil, fmt.Errorf("token message for %s: fourth element: %w", account, err)
	}

	tok := &oauth2.Token{AccessToken: doc.AccessToken, RefreshToken: doc.RefreshToken,
		TokenType: doc.TokenType}
	if exp, ok := jwtExpiry(doc.AccessToken); ok {
		tok.Expiry = exp
	}

	if tok.Expiry.IsZero() {
		if exp, ok := expiresIn(string(doc.ExpiresIn), m.Timestamp); ok {
			tok.Expiry = exp
		}
	}

	return account, tok, nil
}

func decodeTokenDoc(text string) (tokenDoc, error) {
	t := strings.Trim(strings.TrimSpace(text), "`")
	var doc tokenDoc
	err := json.Unmarshal([]byte(t), &doc)
	if err != nil {
		// Slack escapes &, < and > in some texts.
		if err2 := json.Unmarshal([]byte(html.UnescapeString(t)), &doc); err2 != nil {
			return tokenDoc{}, errors.New("not a JSON document")
		}
	}

	doc.AccessToken = strings.TrimSpace(doc.AccessToken)
	if doc.AccessToken == "" {
		return tokenDoc{}, errors.New("JSON document without access_token")
	}

	return doc, nil
}

// richTextLeaves flattens a rich_text block's elements into their inner
// elements, in order. An element of a kind it does not know counts as one
// leaf (nil) so that positions stay put.
func richTextLeaves(els []slack.RichTextElement, depth int) []slack.RichTextSectionElement {
	var out []slack.RichTextSectionElement
	for _, e := range els {
		switch t := e.(type) {
		case *slack.RichTextSection:
			out = append(out, t.Elements...)
		case *slack.RichTextPreformatted:
			out = append(out, t.Elements...)
		case *slack.RichTextQuote:
			out = append(out, t.Elements...)
		case *slack.RichTextList:
			if depth < 4 {
				out = append(out, richTextLeaves(t.Elements, depth+1)...)
			}
		default:
			out = append(out, nil)
		}
	}

	return out
}

// jwtExpiry reads the exp claim of a JWT without checking its signature.
func jwtExpiry(tok string) (time.Time, bool) {
	if strings.Count(tok, ".") != 2 {
		return time.Time{}, false
	}

	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		return time.Time{}, false
	}

	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}, false
	}

	return exp.Time, true
}

// expiresIn computes an expiry from an expires_in member, counted from the
// message's time.
func expiresIn(raw, ts string) (time.Time, bool) {
	raw = strings.Trim(strings.TrimSpace(raw), `"`)
	if raw == "" {
		return time.Time{}, false
	}

	secs, err := strconv.ParseFloat(raw, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}

	at, ok := tsTime(ts)
	if !ok {
		return time.Time{}, false
	}

	return at.Add(time.Duration(secs * float64(time.Second))), true
}

// tsTime reads a Slack message timestamp ("1733312345.000200").
func tsTime(ts string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}

	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, false
	}

	return time.Unix(s, us*1000), true
}

// tsBefore reports whether Slack timestamp a is older than b. An unreadable
// timestamp counts as the oldest.
func tsBefore(a, b string) bool {
	ta, okA := tsTime(a)
	tb, okB := tsTime(b)
	switch {
	case !okB:
		return false
	case !okA:
		return true
	}

	return ta.Before(tb)
}
