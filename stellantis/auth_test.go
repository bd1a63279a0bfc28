package stellantis_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/stellantis"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

// listErr reads a listing and returns its error, if any.
func listErr(c oem.Connector, t *testing.T) error {
	for _, err := range c.Fleet(t.Context()) {
		if err != nil {
			return err
		}
	}

	return nil
}

func TestLoginOnceThenAgainOn401(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	vins := seedActive(s, 1, 2)
	c := newConn(t, s)

	fleet(t, c)
	if _, _, err := describe(t, c, vins...); err != nil {
		t.Fatal(err)
	}

	if n := s.Server().Counters.Get(epLogin); n != 1 {
		t.Fatalf("%d logins for three calls, want 1 (the token is cached)", n)
	}

	// The token dies mid-run: one new login, and the call succeeds.
	s.ExpireTokens()
	if got := fleet(t, c); len(got) != 2 {
		t.Fatalf("listing after expiry: %d vehicles", len(got))
	}

	if n := s.Server().Counters.Get(epLogin); n != 2 {
		t.Errorf("%d logins after the token expired, want 2", n)
	}

	if n := s.Server().Counters.Get(epContracts); n != 4 {
		t.Errorf("%d listing requests, want 4 (one per call plus the one that got 401)", n)
	}
}

func TestLoginConcurrentCallersShareOneLogin(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	seedActive(s, 1, 2)
	c := newConn(t, s)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := listErr(c, t); err != nil {
				t.Errorf("Fleet: %v", err)
			}
		})
	}

	wg.Wait()
	if n := s.Server().Counters.Get(epLogin); n != 1 {
		t.Errorf("%d logins for 8 concurrent calls, want 1", n)
	}
}

func TestTokenLifetimeIsAssumed(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	seedActive(s, 1, 1)
	var mu sync.Mutex
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()

		return now
	}
	c := newConn(t, s, stellantis.WithClock(clock),
		func(cfg *stellantis.Config) { cfg.TokenLifetime = 24 * time.Hour })

	fleet(t, c)
	mu.Lock()
	now = now.Add(23 * time.Hour)
	mu.Unlock()
	fleet(t, c)
	if n := s.Server().Counters.Get(epLogin); n != 1 {
		t.Fatalf("%d logins within the assumed lifetime, want 1", n)
	}

	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	fleet(t, c)
	if n := s.Server().Counters.Get(epLogin); n != 2 {
		t.Errorf("%d logins past the assumed lifetime, want 2", n)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	seedActive(s, 1, 1)
	const wrong = "fake-wrong-password-1234"
	log, buf := newLogger(slog.LevelDebug)
	c := newConn(t, s, stellantis.WithLogger(log), func(cfg *stellantis.Config) { cfg.Password = wrong })

	err := listErr(c, t)
	if !errors.Is(err, oem.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}

	if !strings.Contains(err.Error(), "Invalid email or password") ||
		!strings.Contains(err.Error(), stellantistest.DefaultEmail) {
		t.Errorf("err = %q, want the OEM's reason and the account", err)
	}

	if strings.Contains(err.Error(), wrong) || strings.Contains(buf.String(), wrong) {
		t.Errorf("the password leaked: err %q, log:\n%s", err, buf.String())
	}

	if n := s.Server().Counters.Get(epLogin); n != 1 {
		t.Errorf("%d login attempts, want 1 (no retry on refused credentials)", n)
	}

	if n := s.Server().Counters.Get(epContracts); n != 0 {
		t.Errorf("%d listing requests without a token, want none", n)
	}
}

func TestLoginAnswers(t *testing.T) {
	t.Parallel()

	for name, tc := range map[string]struct {
		fault simkit.Fault
		want  string
	}{
		// CASES 18: a 200 without the token is an error.
		"no token":    {simkit.Fault{Status: http.StatusOK, Body: `{"token":"x"}`}, "no authToken"},
		"empty token": {simkit.Fault{Status: http.StatusOK, Body: `{"authToken":""}`}, "no authToken"},
		"html":        {simkit.Fault{Status: http.StatusForbidden, Body: simkit.HTMLBody}, "credentials refused"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{})
			tc.fault.Endpoint = epLogin
			s.Server().AddFault(tc.fault)
			err := listErr(newConn(t, s), t)
			if !errors.Is(err, oem.ErrAuth) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrAuth saying %q", err, tc.want)
			}
		})
	}
}

func TestRetriesAndWaits(t *testing.T) {
	t.Parallel()

	for name, tc := range map[string]struct {
		faults   []simkit.Fault
		requests int
	}{
		"5xx then success": {[]simkit.Fault{{Times: 2, Status: http.StatusServiceUnavailable,
			Body: `{"name":"ServiceUnavailable","message":"try later"}`}}, 3},
		"429 with a fractional Retry-After": {[]simkit.Fault{{Times: 1,
			Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "0.01"},
			Body: `{"name":"TooManyRequests","message":"Too many requests"}`}}, 2},
		"429 with the wait in the body": {[]simkit.Fault{{Times: 1,
			Status: http.StatusTooManyRequests,
			Body:   `{"name":"TooManyRequests","message":"retry after 0.01s"}`}}, 2},
		"connection reset": {[]simkit.Fault{{Times: 1, Reset: true}}, 2},
		"html proxy page":  {[]simkit.Fault{{Times: 1, Status: http.StatusBadGateway, Body: simkit.HTMLBody}}, 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{})
			seedActive(s, 1, 1)
			c := newConn(t, s)
			fleet(t, c) // log in first
			s.Server().Counters.Reset()
			for _, f := range tc.faults {
				f.Endpoint = epContracts
				s.Server().AddFault(f)
			}

			if got := fleet(t, c); len(got) != 1 {
				t.Fatalf("%d vehicles, want 1", len(got))
			}

			if n := s.Server().Counters.Get(epContracts); n != tc.requests {
				t.Errorf("%d listing requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestLongWaitEndsTheCall(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	seedActive(s, 1, 1)
	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, RateLimited: true, RetryAfter: time.Hour})

	start := time.Now()
	err := listErr(newConn(t, s), t)
	if !errors.Is(err, oem.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}

	if d, ok := oem.RetryAfter(err); !ok || d != time.Hour {
		t.Errorf("RetryAfter = %v, %v; want 1h", d, ok)
	}

	if time.Since(start) > 5*time.Second {
		t.Errorf("a wait beyond MaxWait took %s; it should end the call at once", time.Since(start))
	}
}

func TestSimulatorRateLimit(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	s := newSim(t, stellantistest.Options{Clock: clock, Limit: 2, Per: time.Hour})
	seedActive(s, 1, 1)
	c := newConn(t, s)

	fleet(t, c) // login + one page: the window is spent
	err := listErr(c, t)
	if !errors.Is(err, oem.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited from the simulator's own 429", err)
	}

	var ae *oem.APIError
	if !errors.As(err, &ae) || ae.Code != "TooManyRequests" || ae.RetryAfter != time.Hour {
		t.Errorf("err = %#v, want code TooManyRequests and a 1h wait", ae)
	}
}

func TestSlowAnswerBeyondTimeout(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	seedActive(s, 1, 1)
	c := newConn(t, s, func(cfg *stellantis.Config) { cfg.Timeout = 100 * time.Millisecond })
	fleet(t, c)

	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Times: 1, Delay: time.Second})
	if got := fleet(t, c); len(got) != 1 {
		t.Fatalf("after one slow answer: %d vehicles, want 1", len(got))
	}

	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Delay: time.Second})
	err := listErr(c, t)
	if !errors.Is(err, oem.ErrTransient) {
		t.Errorf("every answer slow: err = %v, want a transient error", err)
	}
}

func TestWireLogIsRedacted(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	vins := seedActive(s, 1, 1)
	log, buf := newLogger(slog.LevelDebug)
	c := newConn(t, s, stellantis.WithLogger(log))
	fleet(t, c)
	if _, err := c.Activate(t.Context(), vins); err != nil {
		t.Fatal(err)
	}

	out := buf.String()
	if !strings.Contains(out, "/connected-fleet/api/contracts") {
		t.Fatalf("no wire log at debug level:\n%s", out)
	}

	if strings.Contains(out, stellantistest.DefaultPassword) || strings.Contains(out, "sim-stellantis-") {
		t.Errorf("a secret is in the log:\n%s", out)
	}
}

func TestRequestsAreCountedByKind(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{PageSize: 2})
	vins := seedActive(s, 1, 3)
	c := newConn(t, s)

	var rc oem.RequestCounter
	ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &rc), oem.RequestListing)
	for _, err := range c.Fleet(ctx) {
		if err != nil {
			t.Fatal(err)
		}
	}

	ctx = oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &rc), oem.RequestDescription)
	for _, err := range c.Describe(ctx, vins) {
		if err != nil {
			t.Fatal(err)
		}
	}

	want := map[oem.RequestKind]int64{oem.RequestAuth: 1, oem.RequestListing: 2,
		oem.RequestDescription: 3} // two listing pages and the export
	for k, n := range want {
		if got := rc.Get(k); got != n {
			t.Errorf("%s requests: %d, want %d (all: %v)", k, got, n, rc.Snapshot())
		}
	}
}
