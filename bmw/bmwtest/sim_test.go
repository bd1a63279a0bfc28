package bmwtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

var (
	vinA = string(oem.MustParseVIN("WBY8P2100K7000001").WithCheckDigit())
	vinB = string(oem.MustParseVIN("WBY8P2100K7000002").WithCheckDigit())
)

func start(t *testing.T, opts bmwtest.Options) *bmwtest.Sim {
	t.Helper()

	s, err := bmwtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = s.Close() })

	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, method, url, body string, header map[string]string) answer {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	for k, v := range header {
		req.Header.Set(k, v)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	b, _ := io.ReadAll(resp.Body)

	return answer{resp.StatusCode, resp.Header, string(b)}
}

var loginHeader = map[string]string{
	"Content-Type": "application/x-amz-json-1.1",
	"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
}

func loginBody(user, pass string) string {
	b, _ := json.Marshal(map[string]any{
		"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": bmwtest.DefaultClientID,
		"AuthParameters": map[string]string{"USERNAME": user, "PASSWORD": pass},
	})

	return string(b)
}

// idToken logs in and returns the bearer header.
func idToken(t *testing.T, s *bmwtest.Sim, ttl time.Duration) map[string]string {
	t.Helper()

	a := call(t, http.MethodPost, s.AuthURL(), loginBody(bmwtest.DefaultUsername, bmwtest.DefaultPassword), loginHeader)
	var ans struct {
		AuthenticationResult struct {
			IDToken     string `json:"IdToken"`
			AccessToken string `json:"AccessToken"`
			ExpiresIn   int    `json:"ExpiresIn"`
		} `json:"AuthenticationResult"`
	}
	if err := json.Unmarshal([]byte(a.body), &ans); err != nil || a.status != 200 {
		t.Fatalf("login: %d %s", a.status, a.body)
	}

	if ct := a.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("login answer Content-Type %q", ct)
	}

	if ans.AuthenticationResult.ExpiresIn != int(ttl.Seconds()) {
		t.Errorf("ExpiresIn %d, want %v", ans.AuthenticationResult.ExpiresIn, ttl)
	}

	return map[string]string{"Authorization": "Bearer " + ans.AuthenticationResult.IDToken,
		"Content-Type": "application/json"}
}

func TestLogin(t *testing.T) {
	t.Parallel()

	s := start(t, bmwtest.Options{})
	idToken(t, s, time.Hour)

	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
		typ    string
	}{
		{"wrong content type", map[string]string{"Content-Type": "application/json",
			"X-Amz-Target": loginHeader["X-Amz-Target"]}, loginBody(bmwtest.DefaultUsername, bmwtest.DefaultPassword),
			"SerializationException"},
		{"no target", map[string]string{"Content-Type": loginHeader["Content-Type"]},
			loginBody(bmwtest.DefaultUsername, bmwtest.DefaultPassword), "UnknownOperationException"},
		{"bad password", loginHeader, loginBody(bmwtest.DefaultUsername, "fake-nope"), "NotAuthorizedException"},
		{"unknown user", loginHeader, loginBody("x@example.com", bmwtest.DefaultPassword), "UserNotFoundException"},
	} {
		a := call(t, http.MethodPost, s.AuthURL(), tc.body, tc.header)
		if a.status != 400 || !strings.Contains(a.body, `"__type":"`+tc.typ+`"`) {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, a.status, a.body, tc.typ)
		}
	}
}

func TestAPIAuthAndValidation(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, bmwtest.Options{Clock: clock, TokenTTL: time.Minute})
	s.Add(simkit.Spec{VIN: vinA, Model: "i3", Type: "94", Initial: "active"})

	if a := call(t, http.MethodGet, s.URL()+"/fleet", "", nil); a.status != 401 {
		t.Errorf("no token: %d", a.status)
	}

	h := idToken(t, s, time.Minute)
	if a := call(t, http.MethodGet, s.URL()+"/fleet", "", h); a.status != 200 ||
		!strings.Contains(a.body, s.DefaultFleetID()) {
		t.Errorf("GET /fleet: %d %s", a.status, a.body)
	}

	if a := call(t, http.MethodPost, s.URL()+"/vehicle", `{"vin":"WBA123"}`, h); a.status != 400 ||
		!strings.Contains(a.body, "BMWFD_INVALID_VIN") {
		t.Errorf("short VIN: %d %s", a.status, a.body)
	}

	if a := call(t, http.MethodPost, s.URL()+"/vehicle", `{"vin":`, h); a.status != 400 {
		t.Errorf("broken body: %d %s", a.status, a.body)
	}

	if a := call(t, http.MethodGet, s.URL()+"/data/vehicle/"+vinA, "", h); a.status != 400 {
		t.Errorf("data without keys-list: %d %s", a.status, a.body)
	}

	h["keys-list"] = "model,capacity"
	a := call(t, http.MethodGet, s.URL()+"/data/vehicle/"+vinA, "", h)
	if a.status != 200 || !strings.Contains(a.body, `"value":"i3 94"`) ||
		!strings.Contains(a.body, `"key":"capacity","unit":null,"value":null`) {
		t.Errorf("data: %d %s", a.status, a.body)
	}

	a = call(t, http.MethodGet, s.URL()+"/vehicle/"+vinA, "", h)
	if a.status != 200 || !strings.Contains(a.body, `"added_to_fleet":"2026-01-01T00:00:00.000+0000"`) {
		t.Errorf("GET /vehicle: %d %s", a.status, a.body)
	}

	clock.Advance(2 * time.Minute)
	if a := call(t, http.MethodGet, s.URL()+"/fleet", "", h); a.status != 401 {
		t.Errorf("expired token: %d", a.status)
	}
}

func TestRateLimitAnswer(t *testing.T) {
	t.Parallel()

	s := start(t, bmwtest.Options{Limit: 1, Per: time.Hour})
	call(t, http.MethodGet, s.URL()+"/fleet", "", nil)
	a := call(t, http.MethodGet, s.URL()+"/fleet", "", nil)
	if a.status != 429 || strings.TrimSpace(a.body) != `{"message":"Too Many Requests"}` ||
		a.header.Get("Retry-After") != "" {
		t.Errorf("rate limited: %d %q Retry-After %q", a.status, a.body, a.header.Get("Retry-After"))
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()

	s := start(t, bmwtest.Options{PageSize: 1})
	s.Add(simkit.Spec{VIN: vinA, Initial: "active"}, simkit.Spec{VIN: vinB, Initial: "active"})
	h := idToken(t, s, time.Hour)
	first, second := min(vinA, vinB), max(vinA, vinB)

	a := call(t, http.MethodGet, s.URL()+"/fleet/"+s.DefaultFleetID()+"/vehicle", "", h)
	var page struct {
		Vehicles []struct{ VIN string } `json:"vehicles"`
		Next     string                 `json:"next"`
	}
	_ = json.Unmarshal([]byte(a.body), &page)
	if len(page.Vehicles) != 1 || page.Vehicles[0].VIN != first || !strings.HasPrefix(page.Next, s.URL()) {
		t.Fatalf("page 1: %s", a.body)
	}

	a = call(t, http.MethodGet, page.Next, "", h)
	page.Next = ""
	_ = json.Unmarshal([]byte(a.body), &page)
	if len(page.Vehicles) != 1 || page.Vehicles[0].VIN != second || page.Next != "" {
		t.Errorf("page 2: %s", a.body)
	}
}

func TestStateAndEnv(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "bmw.json")
	s, err := bmwtest.New(bmwtest.Options{StatePath: path, FleetName: "Ayvens"})
	if err != nil {
		t.Fatal(err)
	}

	s.Add(simkit.Spec{VIN: vinA, Initial: "active"}, simkit.Spec{VIN: vinB, Initial: "pending"})
	for _, k := range []string{"BMW_AUTH_URL", "BMW_BASE_URL", "BMW_CLIENT_ID", "BMW_USERNAME",
		"BMW_PASSWORD", "BMW_FLEET_ID"} {
		if s.Env()[k] == "" {
			t.Errorf("Env() has no %s", k)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := start(t, bmwtest.Options{StatePath: path, FleetName: "Ayvens"})
	if st, _ := s2.State(vinA); st != "in_fleet:Ayvens" {
		t.Errorf("reloaded %s: %q", vinA, st)
	}

	if st, _ := s2.State(vinB); st != "registered" {
		t.Errorf("reloaded %s: %q", vinB, st)
	}

	if _, ok := s2.State("WBY8P2100K7999999"); ok {
		t.Error("State knows a VIN never added")
	}

	if bmwtest.FleetID("Ayvens") != bmwtest.FleetID(" ayvens ") || s2.DefaultFleetID() != bmwtest.FleetID("Ayvens") {
		t.Error("fleet ids are not stable")
	}

	if _, err := bmwtest.New(bmwtest.Options{Addr: "192.0.2.1:0"}); err == nil {
		t.Error("a non-loopback address was accepted")
	}
}
