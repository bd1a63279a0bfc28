package tesla

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const fakeSlackToken = "xoxb-fake-slack-token"

// textEl is a rich-text text element.
func textEl(s string) string {
	b, _ := json.Marshal(map[string]string{"type": "text", "text": s})
	return string(b)
}

// tokenMsg is a message in Slack's format: one rich_text block with one
// section holding the given elements.
func tokenMsg(ts string, elements ...string) string {
	return fmt.Sprintf(`{"type":"message","subtype":"bot_message","bot_id":"B0FAKE","text":"token",`+
		`"ts":%q,"blocks":[{"type":"rich_text","block_id":"x1","elements":[`+
		`{"type":"rich_text_section","elements":[%s]}]}]}`, ts, strings.Join(elements, ","))
}

// goodMsg is a well-formed token message.
func goodMsg(ts, account, access string) string {
	return tokenMsg(ts, textEl("ACCESS_TOKEN_"+account+":"), textEl("\n"), textEl("valid 8 h\n"),
		textEl(`{"access_token":"`+access+`","refresh_token":"fake-refresh"}`))
}

// slackHistory is a conversations.history handler over fixed pages,
// answering in Slack's format with next_cursor while has_more.
type slackHistory struct {
	mu     sync.Mutex
	pages  [][]string
	cursor func(page int) string // cursor handed out after page; "c<n>" by default
	calls  atomic.Int32
}

func (h *slackHistory) setPages(p [][]string) {
	h.mu.Lock()
	h.pages = p
	h.mu.Unlock()
}

func (h *slackHistory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	_ = r.ParseForm()
	if r.Form.Get("token") != fakeSlackToken {
		_, _ = fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}

	if r.Form.Get("channel") != "C0FAKE" {
		_, _ = fmt.Fprint(w, `{"ok":false,"error":"channel_not_found"}`)
		return
	}

	h.mu.Lock()
	pages := h.pages
	h.mu.Unlock()

	page := 0
	if c := r.Form.Get("cursor"); c != "" {
		_, _ = fmt.Sscanf(c, "c%d", &page)
		if h.cursor != nil {
			page = 1
		}
	}

	if page >= len(pages) {
		_, _ = fmt.Fprint(w, `{"ok":true,"messages":[],"has_more":false}`)
		return
	}

	more := page+1 < len(pages)
	next := fmt.Sprintf("c%d", page+1)
	if h.cursor != nil {
		next = h.cursor(page)
	}

	meta := ""
	if more {
		meta = fmt.Sprintf(`,"response_metadata":{"next_cursor":%q}`, next)
	}

	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"ok":true,"messages":[%s],"has_more":%v,"pin_count":0%s}`,
		strings.Join(pages[page], ","), more, meta)
}

// startSlack serves h as conversations.history on slack-go's own test
// server and returns its API URL.
func startSlack(t *testing.T, h http.Handler) string {
	t.Helper()

	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/conversations.history", h.ServeHTTP)
	})
	srv.Start()
	t.Cleanup(srv.Stop)

	return srv.GetAPIURL()
}

func newSlackTokens(t *testing.T, apiURL string, clock *simkit.Clock, accounts ...string) *SlackTokens {
	t.Helper()

	s, err := NewSlackTokens(SlackConfig{Token: fakeSlackToken, Channel: "C0FAKE", Accounts: accounts,
		APIURL: apiURL, PageSize: 3, Retry: time.Minute, Backoff: time.Millisecond,
		MaxWait: time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	return s
}

func TestSlackTokensPagesUntilEveryAccountIsFound(t *testing.T) {
	t.Parallel()

	h := &slackHistory{pages: [][]string{
		{
			`{"type":"message","text":"hello, no blocks","ts":"1700000400.000100"}`,
			goodMsg("1700000300.000100", "ACME", "acme-newest"),
			tokenMsg("1700000299.000100", textEl("ACCESS_TOKEN_BETA:"), textEl(" "), textEl(" "),
				textEl(`{"access_token": "beta-broken"`)),
			goodMsg("1700000298.000100", "GAMMA", "gamma-not-configured"),
		},
		{
			goodMsg("1700000200.000100", "ACME", "acme-older"),
			tokenMsg("1700000199.000100", textEl("ACCESS_TOKEN_BETA:"), textEl(" "),
				textEl(`{"access_token":"beta-three-elements"}`)),
			tokenMsg("1700000198.000100", textEl("ACCESS_TOKEN_BETA:"), textEl(" "), textEl(" "),
				`{"type":"user","user_id":"U0FAKE"}`),
			tokenMsg("1700000197.000100", textEl("ACCESS_TOKEN_BETA:"), textEl(" "), textEl(" "),
				textEl(`{"refresh_token":"no access token"}`)),
		},
		{goodMsg("1700000100.000100", "beta", "beta-good")},
		{goodMsg("1700000050.000100", "BETA", "beta-oldest-never-read")},
	}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "acme", "Beta")

	acme, err := s.Source("ACME").(*slackSource).TokenContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	beta, err := s.Source("beta").(*slackSource).TokenContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if acme.AccessToken != "acme-newest" || beta.AccessToken != "beta-good" {
		t.Errorf("tokens %q and %q, want acme-newest and beta-good", acme.AccessToken, beta.AccessToken)
	}

	if acme.RefreshToken != "fake-refresh" {
		t.Errorf("refresh token %q, want fake-refresh", acme.RefreshToken)
	}

	if n := h.calls.Load(); n != 3 {
		t.Errorf("%d history pages read, want 3 (stop once every account is found)", n)
	}

	if s.Lookups() != 1 {
		t.Errorf("%d look-ups, want 1 for both accounts", s.Lookups())
	}
}

func TestSlackTokensFailuresAreRetriedLater(t *testing.T) {
	t.Parallel()

	h := &slackHistory{pages: [][]string{{goodMsg("1700000300.000100", "ACME", "acme-1")}}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "ACME", "BETA")
	beta := s.Source("BETA").(*slackSource)

	_, err := beta.TokenContext(t.Context())
	wantKind(t, err, oem.ErrAuth)
	if !strings.Contains(err.Error(), "BETA") {
		t.Errorf("error %q does not name the account", err)
	}

	// Within SlackConfig.Retry the failure stands without asking Slack.
	if _, err := beta.TokenContext(t.Context()); err == nil || h.calls.Load() != 1 {
		t.Fatalf("second call: %v after %d reads, want the kept failure and 1 read", err, h.calls.Load())
	}

	// The poster catches up; once Retry has passed Slack is asked again.
	h.setPages([][]string{{goodMsg("1700000600.000100", "BETA", "beta-1"),
		goodMsg("1700000300.000100", "ACME", "acme-1")}})
	clock.Advance(2 * time.Minute)

	tok, err := beta.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "beta-1" {
		t.Fatalf("after Retry: %v, %v; want beta-1", tok, err)
	}
}

func TestSlackTokensAfterARejectedToken(t *testing.T) {
	t.Parallel()

	h := &slackHistory{pages: [][]string{{goodMsg("1700000300.000100", "ACME", "acme-1")}}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "ACME")
	src := s.Source("ACME").(*slackSource)

	tok, err := src.TokenContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	// Tesla refused it; Slack still has only that one.
	src.Invalidate(tok)
	_, err = src.TokenContext(t.Context())
	wantKind(t, err, oem.ErrAuth)
	if !strings.Contains(err.Error(), "rejected") || h.calls.Load() != 2 {
		t.Fatalf("%v after %d reads; want a rejected-token error after reading Slack again", err, h.calls.Load())
	}

	h.setPages([][]string{{goodMsg("1700000700.000100", "ACME", "acme-2"),
		goodMsg("1700000300.000100", "ACME", "acme-1")}})
	clock.Advance(2 * time.Minute)
	tok, err = src.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "acme-2" {
		t.Fatalf("after a new message: %v, %v; want acme-2", tok, err)
	}

	// Invalidating a token that is no longer the cached one changes nothing.
	src.Invalidate(&oauth2.Token{AccessToken: "acme-1"})
	tok, err = src.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "acme-2" || h.calls.Load() != 3 {
		t.Errorf("%v, %v after %d reads; want acme-2 from memory", tok, err, h.calls.Load())
	}
}

func TestSlackTokensExpiry(t *testing.T) {
	t.Parallel()

	exp := time.Unix(1700003600, 0)
	jwtTok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": exp.Unix(), "sub": "fake"}).
		SignedString([]byte("fake-signing-key"))
	if err != nil {
		t.Fatal(err)
	}

	h := &slackHistory{pages: [][]string{{
		goodMsg("1700000300.000100", "ACME", jwtTok),
		tokenMsg("1700000200.000100", textEl("ACCESS_TOKEN_BETA:"), textEl(""), textEl(""),
			textEl(`{"access_token":"beta-short","expires_in":60}`)),
	}}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "ACME", "BETA")

	tok, err := s.Source("ACME").(*slackSource).TokenContext(t.Context())
	if err != nil || !tok.Expiry.Equal(exp) {
		t.Fatalf("JWT token: %v, %v; want expiry %v from its exp claim", tok, err, exp)
	}

	// BETA's token expired 60 s after its message, long before now.
	_, err = s.Source("BETA").(*slackSource).TokenContext(t.Context())
	wantKind(t, err, oem.ErrAuth)
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("error %q, want it to say the token expired", err)
	}
}

func TestSlackTokensSlackErrors(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}

	t.Run("bad token", func(t *testing.T) {
		t.Parallel()

		h := &slackHistory{}
		s, err := NewSlackTokens(SlackConfig{Token: "xoxb-fake-wrong-token", Channel: "C0FAKE",
			Accounts: []string{"ACME"}, APIURL: startSlack(t, h), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}

		_, err = s.Source("ACME").(*slackSource).TokenContext(t.Context())
		wantKind(t, err, oem.ErrAuth)
		if !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-fake-wrong") {
			t.Errorf("error %q: want invalid_auth named and the token absent", err)
		}
	})

	t.Run("repeating cursor", func(t *testing.T) {
		t.Parallel()

		h := &slackHistory{pages: [][]string{{`{"type":"message","text":"a","ts":"1.1"}`},
			{`{"type":"message","text":"b","ts":"1.0"}`}, {}}, cursor: func(int) string { return "same" }}
		s := newSlackTokens(t, startSlack(t, h), clock, "ACME")

		_, err := s.Source("ACME").(*slackSource).TokenContext(t.Context())
		wantKind(t, err, oem.ErrTransient)
		if n := h.calls.Load(); n != 2 {
			t.Errorf("%d reads, want 2 (stop when the cursor repeats)", n)
		}
	})

	t.Run("unknown account", func(t *testing.T) {
		t.Parallel()

		s := newSlackTokens(t, startSlack(t, &slackHistory{}), clock, "ACME")
		_, err := s.Source("OTHER").(*slackSource).TokenContext(t.Context())
		wantKind(t, err, oem.ErrInvalidInput)
	})
}

func TestSlackTokensOneLookupForConcurrentCallers(t *testing.T) {
	t.Parallel()

	h := &slackHistory{pages: [][]string{{goodMsg("1700000300.000100", "ACME", "acme-1"),
		goodMsg("1700000200.000100", "BETA", "beta-1")}}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "ACME", "BETA")

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			acct := []string{"ACME", "BETA"}[i%2]
			tok, err := s.Source(acct).(*slackSource).TokenContext(t.Context())
			if err == nil && !strings.HasPrefix(tok.AccessToken, strings.ToLower(acct)) {
				err = fmt.Errorf("%s got %s", acct, tok.AccessToken)
			}

			errs <- err
		})
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	if n := h.calls.Load(); n != 1 {
		t.Errorf("%d history reads for 16 concurrent callers, want 1", n)
	}
}

func TestParseTokenMessageShapes(t *testing.T) {
	t.Parallel()

	parse := func(raw string) (string, *oauth2.Token, error) {
		var m slack.Message
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("test message does not decode: %v", err)
		}

		return ParseTokenMessage(m)
	}

	// The JSON in a preformatted element after a three-element section.
	raw := `{"type":"message","ts":"1.0","blocks":[{"type":"rich_text","elements":[` +
		`{"type":"rich_text_section","elements":[` + textEl("ACCESS_TOKEN_ACME_NL: ") + `,` + textEl("x") + `,` +
		textEl("y") + `]},{"type":"rich_text_preformatted","elements":[` +
		textEl("`{\"access_token\":\"acme-nl\"}`") + `]}]}]}`
	acct, tok, err := parse(raw)
	if err != nil || acct != "ACME_NL" || tok.AccessToken != "acme-nl" {
		t.Errorf("preformatted JSON: %q %v %v", acct, tok, err)
	}

	// HTML-escaped JSON.
	acct, tok, err = parse(tokenMsg("1.0", textEl("ACCESS_TOKEN_ACME:"), textEl(""), textEl(""),
		textEl(`{&quot;access_token&quot;:&quot;a-b&quot;}`)))
	if err != nil || acct != "ACME" || tok.AccessToken != "a-b" {
		t.Errorf("escaped JSON: %q %v %v", acct, tok, err)
	}

	for name, raw := range map[string]string{
		"no colon":       tokenMsg("1.0", textEl("ACCESS_TOKEN_ACME"), textEl(""), textEl(""), textEl(`{"access_token":"a"}`)),
		"other text":     tokenMsg("1.0", textEl("good morning"), textEl(""), textEl(""), textEl(`{"access_token":"a"}`)),
		"text only":      `{"type":"message","ts":"1.0","text":"ACCESS_TOKEN_ACME: {\"access_token\":\"a\"}"}`,
		"section blocks": `{"type":"message","ts":"1.0","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"ACCESS_TOKEN_ACME:"}}]}`,
	} {
		if acct, tok, err := parse(raw); err == nil {
			t.Errorf("%s: parsed as %q %v, want an error", name, acct, tok)
		}
	}
}

// An account that never posts makes one look-up read the whole history,
// not every look-up after it.
func TestSlackTokensMissingAccountDoesNotSlowOthers(t *testing.T) {
	t.Parallel()

	h := &slackHistory{pages: [][]string{
		{goodMsg("1700000300.000100", "ACME", "acme-2")},
		{goodMsg("1700000200.000100", "ACME", "acme-1")},
		{`{"type":"message","text":"old","ts":"1700000100.000100"}`},
	}}
	clock := &simkit.Clock{}
	clock.Set(time.Unix(1700000500, 0))
	s := newSlackTokens(t, startSlack(t, h), clock, "ACME", "BETA")
	acme := s.Source("ACME").(*slackSource)

	tok, err := acme.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "acme-2" || h.calls.Load() != 3 {
		t.Fatalf("%v, %v after %d reads; want acme-2 after reading all 3 pages for BETA", tok, err, h.calls.Load())
	}

	h.setPages([][]string{{goodMsg("1700000400.000100", "ACME", "acme-3")}, {}, {}})
	acme.Invalidate(tok)
	tok, err = acme.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "acme-3" || h.calls.Load() != 4 {
		t.Errorf("%v, %v after %d reads; want acme-3 after one more page", tok, err, h.calls.Load())
	}
}
