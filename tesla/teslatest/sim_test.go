package teslatest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

var testVIN = oem.VIN("5YJ3E1EA0PF000001").WithCheckDigit()

func start(t *testing.T, opts teslatest.Options) *teslatest.Sim {
	t.Helper()

	sim, err := teslatest.New(opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = sim.Close() })

	return sim
}

func TestSlackHistoryInSlacksFormat(t *testing.T) {
	t.Parallel()

	sim := start(t, teslatest.Options{Accounts: []string{"ACME", "BETA"}})
	for i := range 3 {
		sim.PostMessage("chatter "+string(rune('a'+i)), nil)
	}

	api := slack.New(teslatest.DefaultSlackToken, slack.OptionAPIURL(sim.SlackURL()))
	var (
		all    []slack.Message
		cursor string
		pages  int
	)
	for {
		resp, err := api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{
			ChannelID: teslatest.DefaultSlackChannel, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}

		pages++
		all = append(all, resp.Messages...)
		if !resp.HasMore {
			break
		}

		cursor = resp.ResponseMetaData.NextCursor
		if cursor == "" {
			t.Fatal("has_more without a next_cursor")
		}
	}

	if len(all) != 5 || pages != 3 {
		t.Fatalf("%d messages in %d pages, want 5 in 3", len(all), pages)
	}

	if all[0].Text != "chatter c" {
		t.Errorf("first message %q, want the newest", all[0].Text)
	}

	// The two oldest are the token messages, one per account, that the
	// connector's parser reads.
	for i, want := range map[int]string{3: "BETA", 4: "ACME"} {
		acct, tok, err := tesla.ParseTokenMessage(all[i])
		if err != nil || acct != want || !strings.HasPrefix(tok.AccessToken, "sim-tesla-access-") ||
			tok.Expiry.IsZero() {
			t.Errorf("message %d: %q %v %v; want a token of %s with an expiry", i, acct, tok, err, want)
		}
	}

	bad := slack.New("xoxb-fake-other", slack.OptionAPIURL(sim.SlackURL()))
	_, err := bad.GetConversationHistoryContext(t.Context(),
		&slack.GetConversationHistoryParameters{ChannelID: teslatest.DefaultSlackChannel})
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}

	_, err = api.GetConversationHistoryContext(t.Context(),
		&slack.GetConversationHistoryParameters{ChannelID: "C0OTHER"})
	if err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("wrong channel: %v, want channel_not_found", err)
	}
}

func TestAutoRenewedTokens(t *testing.T) {
	t.Parallel()

	sim := start(t, teslatest.Options{Accounts: []string{"ACME"}})
	if n := len(sim.Messages()); n != 1 {
		t.Fatalf("%d messages at start, want one token message", n)
	}

	sim.Tokens().ExpireAll()
	api := slack.New(teslatest.DefaultSlackToken, slack.OptionAPIURL(sim.SlackURL()))
	if _, err := api.GetConversationHistoryContext(t.Context(),
		&slack.GetConversationHistoryParameters{ChannelID: teslatest.DefaultSlackChannel}); err != nil {
		t.Fatal(err)
	}

	if n := len(sim.Messages()); n != 2 {
		t.Errorf("%d messages after the token was revoked and the channel read, want 2", n)
	}
}

func get(t *testing.T, rawURL, token string) (int, map[string]any) {
	t.Helper()

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)

	return resp.StatusCode, body
}

func TestFleetAPIChecksRequests(t *testing.T) {
	t.Parallel()

	sim := start(t, teslatest.Options{ManualTokens: true, Accounts: []string{"ACME"}})
	sim.Add(simkit.Spec{VIN: string(testVIN), Model: "Model 3", Trim: "RWD", Initial: "active"})
	tok, _ := sim.IssueToken("ACME")

	for _, tc := range []struct {
		path, token string
		status      int
		errWord     string
	}{
		{"/api/1/vehicles", "", 401, "invalid bearer token"},
		{"/api/1/vehicles?per_page=abc", tok, 400, "invalid_request"},
		{"/api/1/dx/vehicles/options?vin=5YJ3", tok, 400, "invalid_request"},
		{"/api/1/dx/warranty/details?vin=" + string(oem.VIN("5YJ3E1EA0PF000002").WithCheckDigit()), tok,
			404, "not_found"},
	} {
		status, body := get(t, sim.URL()+tc.path, tc.token)
		if status != tc.status || body["error"] != tc.errWord || body["response"] != nil {
			t.Errorf("GET %s: %d %v, want %d with error %q and response null", tc.path, status, body,
				tc.status, tc.errWord)
		}
	}

	status, body := get(t, sim.URL()+"/api/1/vehicles?page=1&per_page=100", tok)
	items, _ := body["response"].([]any)
	if status != 200 || len(items) != 1 {
		t.Fatalf("listing: %d %v", status, body)
	}

	if pg, _ := body["pagination"].(map[string]any); pg == nil || pg["next"] != nil || pg["pages"] != 1.0 {
		t.Errorf("pagination %v, want next null and one page", body["pagination"])
	}

	status, body = get(t, sim.RegionURL()+"/api/1/vehicles", tok)
	if msg, _ := body["error"].(string); status != 421 || !strings.Contains(msg, "use base URL: "+sim.URL()) {
		t.Errorf("other region: %d %v, want 421 naming %s", status, body, sim.URL())
	}
}

func TestRefreshTokensAreSingleUse(t *testing.T) {
	t.Parallel()

	sim := start(t, teslatest.Options{ManualTokens: true})
	_, refresh := sim.IssueToken("FLEET")

	post := func(rt string) (int, map[string]any) {
		resp, err := http.PostForm(sim.TokenURL(), url.Values{"grant_type": {"refresh_token"},
			"client_id": {teslatest.DefaultClientID}, "refresh_token": {rt}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()

		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)

		return resp.StatusCode, body
	}

	status, body := post(refresh)
	if status != 200 || body["access_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", status, body)
	}

	if status, body := post(refresh); status != 401 || body["error"] != "login_required" {
		t.Errorf("reused refresh token: %d %v, want 401 login_required", status, body)
	}
}

func TestStateFile(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "tesla.json")
	sim, err := teslatest.New(teslatest.Options{StatePath: path, Accounts: []string{"ACME"}})
	if err != nil {
		t.Fatal(err)
	}

	sim.Add(simkit.Spec{VIN: string(testVIN), Model: "Model 3", Initial: "active"})
	id := sim.ID(string(testVIN))
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}

	again := start(t, teslatest.Options{StatePath: path})
	if st, ok := again.State(string(testVIN)); !ok || st != "shared" || again.ID(string(testVIN)) != id {
		t.Errorf("after reload: %q %v id %s, want shared with id %s", st, ok, again.ID(string(testVIN)), id)
	}

	if got := again.Accounts(); len(got) != 1 || got[0] != "ACME" {
		t.Errorf("accounts after reload %v", got)
	}

	env := again.Env()
	for _, k := range []string{"TESLA_BASE_URL", "SLACK_TOKEN", "TESLA_SLACK_CHANNEL", "SLACK_API_URL",
		"TESLA_ACCOUNTS"} {
		if env[k] == "" {
			t.Errorf("Env lacks %s", k)
		}
	}
}
