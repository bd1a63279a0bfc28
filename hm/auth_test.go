package hm_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const tokenEndpoint = "POST /v1/access_tokens"

func drainFleet(t *testing.T, e *env) []oem.Observed {
	t.Helper()

	var out []oem.Observed
	for o, err := range e.conn.Fleet(t.Context()) {
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		out = append(out, o)
	}

	return out
}

// The token is fetched once, reused while fresh, and fetched again one
// minute (the skew) before its five minutes are up.
func TestTokenReusedAndRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	drainFleet(t, e)
	drainFleet(t, e)
	if n := e.count(tokenEndpoint); n != 1 {
		t.Fatalf("two listings fetched %d tokens, want 1", n)
	}

	e.clock.Advance(3*time.Minute + 59*time.Second)
	drainFleet(t, e)
	if n := e.count(tokenEndpoint); n != 1 {
		t.Fatalf("at 3m59s the token was fetched again (%d fetches); it is still fresh", n)
	}

	e.clock.Advance(2 * time.Second) // 4m01s: inside the one-minute skew
	drainFleet(t, e)
	if n := e.count(tokenEndpoint); n != 2 {
		t.Fatalf("at 4m01s %d token fetches, want 2 (fetched again before expiry)", n)
	}
}

// A token that expires in the middle of a run (the simulator forgets it)
// gets a 401; the connector logs in once more and the call succeeds.
func TestTokenExpiryMidRun(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"), volvo(2, "active"))
	drainFleet(t, e)
	e.sim.Tokens().ExpireAll()

	got := drainFleet(t, e)
	if len(got) != 2 {
		t.Fatalf("listing after expiry gave %d vehicles, want 2", len(got))
	}

	if n := e.count(tokenEndpoint); n != 2 {
		t.Errorf("%d token fetches, want 2 (one new login)", n)
	}

	if n := e.count("GET /v1/fleets/vehicles"); n != 3 {
		t.Errorf("%d listing requests, want 3 (ok, 401, retried ok)", n)
	}
}

func TestTokenSingularPath(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{cfg: func(c *hm.Config) { c.TokenPath = "/v1/access_token" }}, mercedes(1, "active"))
	if got := drainFleet(t, e); len(got) != 1 {
		t.Fatalf("listing gave %d vehicles, want 1", len(got))
	}

	if n := e.count("POST /v1/access_token"); n != 1 {
		t.Errorf("singular token path used %d times, want 1", n)
	}
}

// Bad credentials: a typed error naming the cause, without the secret, in
// the error or in the debug log.
func TestBadCredentials(t *testing.T) {
	t.Parallel()

	const wrong = "fake-wrong-client-secret"
	e := newEnv(t, envOpt{cfg: func(c *hm.Config) { c.ClientSecret = wrong }}, mercedes(1, "active"))

	var err error
	for _, ferr := range e.conn.Fleet(t.Context()) {
		err = ferr
	}

	if !errors.Is(err, oem.ErrAuth) {
		t.Fatalf("Fleet with a wrong secret: %v, want oem.ErrAuth", err)
	}

	if !strings.Contains(err.Error(), "client_secret is invalid") {
		t.Errorf("error %q does not name the cause", err)
	}

	if strings.Contains(err.Error(), wrong) || strings.Contains(e.logs.String(), wrong) {
		t.Errorf("the secret leaked into the error or the log")
	}

	if n := e.count(tokenEndpoint); n != 1 {
		t.Errorf("%d login attempts, want 1 (no retry loop on bad credentials)", n)
	}

	_, err = e.conn.Deactivate(t.Context(), []oem.VIN{testVIN(wmiMercedes, 1)})
	if !errors.Is(err, oem.ErrAuth) {
		t.Errorf("Deactivate with a wrong secret: %v, want the whole call to fail with oem.ErrAuth", err)
	}
}

// A 200 token answer without the token (CASES 18) is an auth error.
func TestTokenAnswerWithoutToken(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{offSpec: true}, mercedes(1, "active"))
	e.sim.Server().AddFault(simkit.Fault{Endpoint: tokenEndpoint, Times: 1, Status: http.StatusOK,
		Body: `{"expires_in":300,"token_type":"bearer"}`})

	var err error
	for _, ferr := range e.conn.Fleet(t.Context()) {
		err = ferr
	}

	if !errors.Is(err, oem.ErrAuth) || !strings.Contains(err.Error(), "without access_token") {
		t.Fatalf("token answer without token: %v, want oem.ErrAuth naming it", err)
	}
}

// The token request is JSON, not a form; the simulator refuses a form.
func TestTokenRequestIsJSON(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.sim.URL()+"/v1/access_tokens",
		strings.NewReader("grant_type=client_credentials&client_id=a&client_secret=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("form-encoded token request got %d, want 400", resp.StatusCode)
	}

	drainFleet(t, e) // the connector's JSON request succeeds
	if n := e.count(tokenEndpoint); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// Many requests in flight when the token expires cause one new login, not
// one per request (CASES 19).
func TestTokenExpiryConcurrent(t *testing.T) {
	t.Parallel()

	var specs []simkit.Spec
	var vins []oem.VIN
	for i := range 8 {
		specs = append(specs, mercedes(i, "active"))
		vins = append(vins, testVIN(wmiMercedes, i))
	}

	e := newEnv(t, envOpt{}, specs...)
	drainFleet(t, e)
	e.sim.Tokens().ExpireAll()

	res, err := e.conn.Deactivate(t.Context(), vins)
	if err != nil {
		t.Fatal(err)
	}

	for _, r := range res {
		if r.Err != nil || r.Status != oem.StatusDeactivating {
			t.Errorf("%s: %+v", r.VIN, r)
		}
	}

	if n := e.count(tokenEndpoint); n != 2 {
		t.Errorf("%d token fetches, want 2 (one new login for all eight requests)", n)
	}
}
