package tesla

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

// Expiry in the middle of a run: Tesla answers 401, the source reads Slack
// again (where the poster has put a fresh token) and the call succeeds.
func TestExpiredTokenReadsSlackAgain(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
	c := newConn(t, sim, nil)

	if _, _, err := list(t.Context(), c); err != nil {
		t.Fatal(err)
	}

	sim.Tokens().ExpireAll()
	counter := &oem.RequestCounter{}
	ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), counter), oem.RequestListing)

	seen, _, err := list(ctx, c)
	if err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet after the tokens expired: %v, %v", seen, err)
	}

	if n := sim.Slack().Counters.Get(teslatest.HistoryEndpoint); n != 2 {
		t.Errorf("%d Slack reads, want 2 (one more after the 401)", n)
	}

	if got := counter.Get(oem.RequestListing); got != 2 {
		t.Errorf("%d listing requests counted, want 2 (the 401 and the retry)", got)
	}

	if len(sim.Messages()) != 2 {
		t.Errorf("%d token messages in the channel, want 2", len(sim.Messages()))
	}
}

// A revoked token that is still the newest in Slack: one 401, no second try
// with the same token, a typed error; once a new message appears and the
// retry time has passed, the next call works.
func TestRevokedTokenStillInSlack(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}, ManualTokens: true},
		spec(v, "Model 3", "RWD", acctA))
	sim.PostToken(acctA)
	c := newConn(t, sim, func(cfg *Config) { cfg.SlackRetry = time.Minute })

	if _, _, err := list(t.Context(), c); err != nil {
		t.Fatal(err)
	}

	sim.Tokens().ExpireAll()
	_, _, err := list(t.Context(), c)
	wantKind(t, err, oem.ErrAuth)
	if n := requests(sim, epList); n != 2 {
		t.Errorf("%d listing requests, want 2 (the first run and one 401)", n)
	}

	sim.PostToken(acctA)
	sim.Clock().Advance(2 * time.Minute)
	if seen, _, err := list(t.Context(), c); err != nil || len(seen[v]) != 1 {
		t.Fatalf("after a new token message: %v, %v", seen, err)
	}
}

// A token Slack says expired is never sent to Tesla.
func TestExpiredTokenInSlackIsNotSent(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}, ManualTokens: true, TokenTTL: time.Hour},
		spec(vin('3', 'P', 1), "Model 3", "RWD", acctA))
	sim.Clock().Set(time.Now().Add(-3 * time.Hour))
	sim.PostToken(acctA)
	sim.Clock().Advance(3 * time.Hour)
	c := newConn(t, sim, nil)

	_, _, err := list(t.Context(), c)
	wantKind(t, err, oem.ErrAuth)
	if !strings.Contains(err.Error(), "expired") || requests(sim, epList) != 0 {
		t.Errorf("%v after %d listing requests; want an expiry error and none sent", err, requests(sim, epList))
	}
}

func TestStaticTokens(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{ManualTokens: true}, spec(v, "Model 3", "RWD", acctA))
	good, _ := sim.IssueToken(acctA)
	bad := "sim-tesla-access-revoked"

	c, err := New(Config{BaseURL: sim.URL(), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Tokens: map[string]oauth2.TokenSource{
			acctA: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: good}),
			acctB: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: bad}),
		}})
	if err != nil {
		t.Fatal(err)
	}

	if got := c.Accounts(); len(got) != 2 || got[0] != acctA {
		t.Fatalf("accounts from Tokens = %v, want [ACME BETA]", got)
	}

	seen, _, err := list(t.Context(), c)
	wantKind(t, err, oem.ErrAuth)
	if len(seen[v]) != 1 {
		t.Errorf("ACME's vehicle not listed before BETA failed: %v", seen)
	}

	if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), good) {
		t.Errorf("error shows a token: %v", err)
	}

	// ACME once, BETA once: the rejected static token is not sent twice.
	if n := requests(sim, epList); n != 2 {
		t.Errorf("%d listing requests, want 2", n)
	}
}

func TestRefreshTokens(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{ManualTokens: true, Accounts: []string{acctA}},
		spec(v, "Model 3", "RWD", acctA))
	_, first := sim.IssueToken(acctA)

	var (
		mu        sync.Mutex
		persisted []string
		listedAt  []int // listing requests seen when each token was stored
	)
	rt, err := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
		RefreshToken: first, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Persist: func(_ context.Context, tok *oauth2.Token) error {
			mu.Lock()
			defer mu.Unlock()

			persisted = append(persisted, tok.RefreshToken)
			listedAt = append(listedAt, requests(sim, epList))

			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}

	c, err := New(Config{BaseURL: sim.URL(), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Tokens: map[string]oauth2.TokenSource{acctA: rt}})
	if err != nil {
		t.Fatal(err)
	}

	if seen, _, err := list(t.Context(), c); err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet: %v %v", seen, err)
	}

	// Expiry mid-run: one new refresh with the rotated token, then success.
	sim.Tokens().ExpireAll()
	if seen, _, err := list(t.Context(), c); err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet after expiry: %v %v", seen, err)
	}

	mu.Lock()
	defer mu.Unlock()

	if len(persisted) != 2 || persisted[0] == first || persisted[1] == persisted[0] {
		t.Fatalf("persisted %v, want two new refresh tokens", persisted)
	}

	if listedAt[0] != 0 || listedAt[1] != 2 {
		t.Errorf("listing requests when stored = %v, want [0 2]: stored before the new access token was used",
			listedAt)
	}

	if rt.RefreshToken() != persisted[1] || rt.Refreshes() != 2 {
		t.Errorf("current refresh token / refreshes = %q / %d", rt.RefreshToken(), rt.Refreshes())
	}

	// The first refresh token is spent: login required, and no retry loop.
	spent, _ := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
		RefreshToken: first})
	for range 3 {
		_, err := spent.TokenContext(t.Context())
		wantKind(t, err, oem.ErrLoginRequired)
	}

	if spent.Refreshes() != 1 {
		t.Errorf("%d refresh requests with a spent token, want 1", spent.Refreshes())
	}
}

func TestRefreshTokensKeepsTheOldOneAndPersistFailure(t *testing.T) {
	t.Parallel()

	t.Run("no new refresh token in the answer", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{ManualTokens: true, KeepRefreshToken: true})
		_, refresh := sim.IssueToken(acctA)
		calls := 0
		rt, _ := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
			RefreshToken: refresh, Persist: func(context.Context, *oauth2.Token) error { calls++; return nil }})

		tok, err := rt.TokenContext(t.Context())
		if err != nil || tok.AccessToken == "" || rt.RefreshToken() != refresh || calls != 0 {
			t.Fatalf("%v, %v; refresh token %q, %d persists: want the old refresh token kept",
				tok, err, rt.RefreshToken(), calls)
		}
	})

	t.Run("persist fails", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{ManualTokens: true})
		_, refresh := sim.IssueToken(acctA)
		fail := true
		rt, _ := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
			RefreshToken: refresh, Persist: func(context.Context, *oauth2.Token) error {
				if fail {
					return errors.New("disk full")
				}

				return nil
			}})

		if _, err := rt.TokenContext(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("first call: %v, want the persist failure", err)
		}

		fail = false
		tok, err := rt.TokenContext(t.Context())
		if err != nil || tok.AccessToken == "" {
			t.Fatalf("second call: %v, %v", tok, err)
		}

		if rt.Refreshes() != 1 {
			t.Errorf("%d refreshes, want 1: the stored token's access token is used", rt.Refreshes())
		}
	})

	t.Run("bad client", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{ManualTokens: true})
		_, refresh := sim.IssueToken(acctA)
		rt, _ := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: "fake-wrong-client",
			RefreshToken: refresh})
		_, err := rt.TokenContext(t.Context())
		wantKind(t, err, oem.ErrAuth)
		if strings.Contains(err.Error(), refresh) {
			t.Errorf("error shows the refresh token: %v", err)
		}
	})
}

func TestSlackSideFailuresThroughTheConnector(t *testing.T) {
	t.Parallel()

	t.Run("slack down then up", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{Accounts: []string{acctA}},
			spec(vin('3', 'P', 1), "Model 3", "RWD", acctA))
		sim.Slack().AddFault(simkit.Fault{Endpoint: teslatest.HistoryEndpoint, Times: 1, Status: 503,
			Body: simkit.HTMLBody})
		sim.Slack().AddFault(simkit.Fault{Endpoint: teslatest.HistoryEndpoint, Times: 1, RateLimited: true})
		c := newConn(t, sim, nil)

		if seen, _, err := list(t.Context(), c); err != nil || len(seen) != 1 {
			t.Fatalf("Fleet: %v %v", seen, err)
		}

		if n := sim.Slack().Counters.Get(teslatest.HistoryEndpoint); n != 3 {
			t.Errorf("%d Slack reads, want 3 (503, ratelimited, ok)", n)
		}
	})

	t.Run("wrong slack token", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{Accounts: []string{acctA}},
			spec(vin('3', 'P', 1), "Model 3", "RWD", acctA))
		c := newConn(t, sim, func(cfg *Config) { cfg.SlackToken = "xoxb-fake-but-wrong" })

		_, _, err := list(t.Context(), c)
		wantKind(t, err, oem.ErrAuth)
		if strings.Contains(err.Error(), "xoxb-fake-but-wrong") || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("error %q: want the cause named, the token absent", err)
		}

		if requests(sim, epList) != 0 {
			t.Error("a request went to Tesla without a token")
		}
	})
}

func TestRefreshTokensInvalidGrantAndOneRefreshAtATime(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{ManualTokens: true})
	_, refresh := sim.IssueToken(acctA)
	rt, err := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
		RefreshToken: refresh})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := rt.TokenContext(t.Context())
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

	if rt.Refreshes() != 1 {
		t.Errorf("%d refreshes for 8 concurrent callers, want 1", rt.Refreshes())
	}

	// invalid_grant from the token endpoint: log in again, no retry loop.
	sim.Server().AddFault(simkit.Fault{Endpoint: "POST " + teslatest.TokenPath, Status: 400,
		Body: `{"error":"invalid_grant","error_description":"refresh token revoked"}`})
	rt.Invalidate(nil)
	for range 3 {
		_, err := rt.TokenContext(t.Context())
		wantKind(t, err, oem.ErrLoginRequired)
	}

	if rt.Refreshes() != 2 {
		t.Errorf("%d refreshes, want 2 (one refused, then no more)", rt.Refreshes())
	}

	// A new log-in clears it.
	sim.Server().ClearFaults()
	_, fresh := sim.IssueToken(acctA)
	rt.SetRefreshToken(fresh)
	if _, err := rt.TokenContext(t.Context()); err != nil {
		t.Errorf("after SetRefreshToken: %v", err)
	}
}
