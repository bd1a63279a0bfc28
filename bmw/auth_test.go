package bmw_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw"
	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// recorder keeps the requests sent to the simulator.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(req.Context()))
	r.mu.Unlock()

	return r.next.RoundTrip(req)
}

func (r *recorder) sent() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]*http.Request(nil), r.reqs...)
}

func TestLoginWireAndBearer(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	e.sim.Add(bev(vin(1), "active"))
	rec := &recorder{next: http.DefaultTransport}
	c := e.connector(t, func(cfg *bmw.Config) { cfg.Transport = rec })

	list(t, t.Context(), c)

	reqs := rec.sent()
	if len(reqs) < 2 {
		t.Fatalf("sent %d requests, want a login and API calls", len(reqs))
	}

	login := reqs[0]
	if login.Method != http.MethodPost || login.URL.Path != bmwtest.LoginPath {
		t.Fatalf("first request %s %s, want POST %s", login.Method, login.URL.Path, bmwtest.LoginPath)
	}

	if got := login.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("login Content-Type = %q", got)
	}

	if got := login.Header.Get("X-Amz-Target"); got != "AWSCognitoIdentityProviderService.InitiateAuth" {
		t.Errorf("login X-Amz-Target = %q", got)
	}

	if login.Header.Get("Authorization") != "" {
		t.Error("the login carries an Authorization header")
	}

	for _, r := range reqs[1:] {
		// The simulator accepts only the IdToken; its access token is
		// "sim-access-...".
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer sim-id-") {
			t.Errorf("%s %s: Authorization %q, want the IdToken as bearer", r.Method, r.URL.Path, got)
		}
	}

	if n := e.count(epLogin); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()

	t.Run("before expiry a fresh login", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{TokenTTL: 10 * time.Minute})
		e.sim.Add(bev(vin(1), "active"))
		c := e.connector(t)

		list(t, t.Context(), c)
		e.clock.Advance(9 * time.Minute) // inside the 30 s skew? no: 1 min left
		list(t, t.Context(), c)
		if n := e.count(epLogin); n != 1 {
			t.Fatalf("after 9 of 10 minutes: %d logins, want 1", n)
		}

		e.clock.Advance(40 * time.Second) // 20 s left: within the skew
		list(t, t.Context(), c)
		if n := e.count(epLogin); n != 2 {
			t.Errorf("near expiry: %d logins, want 2", n)
		}

		// The listing was never rejected: three listings, three requests.
		if n := e.count(epList); n != 3 {
			t.Errorf("%d listing requests, want 3 (no 401 retry)", n)
		}
	})

	t.Run("ExpiresIn absent means 3600 s", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{TokenTTL: 2 * time.Hour, OmitExpiresIn: true})
		e.sim.Add(bev(vin(1), "active"))
		c := e.connector(t)

		list(t, t.Context(), c)
		e.clock.Advance(3500 * time.Second)
		list(t, t.Context(), c)
		if n := e.count(epLogin); n != 1 {
			t.Fatalf("after 3500 s: %d logins, want 1", n)
		}

		e.clock.Advance(90 * time.Second)
		list(t, t.Context(), c)
		if n := e.count(epLogin); n != 2 {
			t.Errorf("after 3590 s: %d logins, want 2", n)
		}
	})

	t.Run("401 mid-run: one new login, the call succeeds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"))
		c := e.connector(t)

		list(t, t.Context(), c)
		e.sim.Tokens().ExpireAll()

		infos, verrs := describe(t, t.Context(), c, vin(1), vin(2))
		if len(infos) != 2 || len(verrs) != 0 {
			t.Fatalf("after token expiry: %d infos, errors %v", len(infos), verrs)
		}

		if n := e.count(epLogin); n != 2 {
			t.Errorf("%d logins, want 2", n)
		}

		if n := e.count(epData); n != 3 {
			t.Errorf("%d data requests, want 3 (one rejected, retried once, then one)", n)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name     string
		opts     bmwtest.Options
		edit     func(*bmw.Config)
		fault    *simkit.Fault
		kind     error
		contains string
	}{
		{name: "bad password", edit: func(c *bmw.Config) { c.Password = "fake-wrong-password" },
			kind: oem.ErrAuth, contains: "NotAuthorizedException"},
		{name: "unknown user", edit: func(c *bmw.Config) { c.Username = "nobody@example.com" },
			kind: oem.ErrAuth, contains: "UserNotFoundException"},
		{name: "password reset", opts: bmwtest.Options{PasswordResetRequired: true},
			kind: oem.ErrAuth, contains: "PasswordResetRequiredException"},
		{name: "wrong client id", edit: func(c *bmw.Config) { c.ClientID = "fake-other-client" },
			kind: oem.ErrAuth, contains: "ResourceNotFoundException"},
		{name: "challenge", opts: bmwtest.Options{Challenge: "NEW_PASSWORD_REQUIRED"},
			kind: oem.ErrLoginRequired, contains: "NEW_PASSWORD_REQUIRED"},
		{name: "throttled", fault: &simkit.Fault{Endpoint: epLogin, Status: 400,
			ContentType: "application/x-amz-json-1.1",
			Body:        `{"__type":"TooManyRequestsException","message":"Rate exceeded"}`},
			kind: oem.ErrRateLimited, contains: "TooManyRequestsException"},
		{name: "200 without result", fault: &simkit.Fault{Endpoint: epLogin, Status: 200,
			ContentType: "application/x-amz-json-1.1", Body: `{"ChallengeParameters":{}}`},
			kind: oem.ErrAuth, contains: "without AuthenticationResult"},
		{name: "200 without IdToken", fault: &simkit.Fault{Endpoint: epLogin, Status: 200,
			Body: `{"AuthenticationResult":{"AccessToken":"x","ExpiresIn":3600}}`},
			kind: oem.ErrAuth, contains: "without IdToken"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts)
			e.sim.Add(bev(vin(1), "active"), bev(vin(2), ""), bev(vin(3), ""))
			if tc.fault != nil {
				e.sim.Server().AddFault(*tc.fault)
			}

			var logs bytes.Buffer
			c := e.connector(t, func(cfg *bmw.Config) {
				if tc.edit != nil {
					tc.edit(cfg)
				}

				cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})

			_, _, err := listErr(t.Context(), c)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("Fleet error = %v, want %v", err, tc.kind)
			}

			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not name %q", err, tc.contains)
			}

			for _, secret := range []string{bmwtest.DefaultPassword, "fake-wrong-password"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("the password appears in the error or the log")
				}
			}

			// Activate and Describe stop at once instead of logging in
			// again for every vehicle.
			before := e.count(epLogin)
			res, err := c.Activate(t.Context(), []oem.VIN{vin(2), vin(3)})
			if !errors.Is(err, tc.kind) {
				t.Errorf("Activate error = %v (results %+v), want %v", err, res, tc.kind)
			}

			for info, err := range c.Describe(t.Context(), []oem.VIN{vin(1), vin(2), vin(3)}) {
				if _, ve := oem.AsVehicleError(err); ve || !errors.Is(err, tc.kind) {
					t.Errorf("Describe yielded %+v, %v; want the stream to end with %v", info, err, tc.kind)
				}
			}

			if n := e.count(epLogin) - before; n > 2 {
				t.Errorf("Activate and Describe tried %d logins, want at most one each", n)
			}

			if n := e.count(epRegister); n != 0 {
				t.Errorf("%d registrations without a login", n)
			}
		})
	}
}

func TestNoSecretsInDebugLog(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	e.sim.Add(bev(vin(1), "active"), bev(vin(2), ""))
	var logs bytes.Buffer
	c := e.connector(t, func(cfg *bmw.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})

	list(t, t.Context(), c)
	if _, err := c.Activate(t.Context(), []oem.VIN{vin(2)}); err != nil {
		t.Fatal(err)
	}

	describe(t, t.Context(), c, vin(1))
	out := logs.String()
	if !strings.Contains(out, "/vin-checker/") {
		t.Fatalf("the debug log shows no wire traffic:\n%s", out)
	}

	for _, secret := range []string{bmwtest.DefaultPassword, "sim-id-", "Bearer sim"} {
		if strings.Contains(out, secret) {
			t.Errorf("the debug log contains %q", secret)
		}
	}
}

func TestRequestKinds(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	e.sim.Add(bev(vin(1), "active"))
	c := e.connector(t)

	var rc oem.RequestCounter
	ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &rc), oem.RequestListing)
	list(t, ctx, c)

	if got := rc.Get(oem.RequestAuth); got != 1 {
		t.Errorf("auth requests = %d, want 1", got)
	}

	// GET /fleet to resolve the fleet, then the list.
	if got := rc.Get(oem.RequestListing); got != 2 {
		t.Errorf("listing requests = %d, want 2", got)
	}
}
