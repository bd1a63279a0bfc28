package stellantistest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

func vin(n int) string {
	return string(oem.VIN(fmt.Sprintf("VF3UHZKX0%08d", n)).WithCheckDigit())
}

type client struct {
	t     *testing.T
	s     *stellantistest.Sim
	token string
}

func start(t *testing.T, opts stellantistest.Options) (*stellantistest.Sim, *client) {
	t.Helper()

	s, err := stellantistest.New(opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = s.Close() })
	c := &client{t: t, s: s}
	status, body := c.do(http.MethodPost, "/api/auth/login",
		fmt.Sprintf(`{"email":%q,"password":%q}`, s.Env()["STELLANTIS_EMAIL"],
			s.Env()["STELLANTIS_PASSWORD"]))
	var ans struct {
		AuthToken string `json:"authToken"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &ans) != nil || ans.AuthToken == "" {
		t.Fatalf("login: %d %s", status, body)
	}

	c.token = ans.AuthToken

	return s, c
}

func (c *client) do(method, path, body string) (int, string) {
	c.t.Helper()

	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}

	req, err := http.NewRequestWithContext(c.t.Context(), method, c.s.URL()+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}

	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()

	b, _ := io.ReadAll(resp.Body)

	return resp.StatusCode, string(b)
}

// errorName reads the {"name","message"} error shape.
func errorName(t *testing.T, body string) string {
	t.Helper()

	var e struct{ Name, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Name == "" || e.Message == "" {
		t.Fatalf("error body %q is not {\"name\",\"message\"}", body)
	}

	return e.Name
}

func TestLoginAndAuth(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	s, c := start(t, stellantistest.Options{Clock: clock, TokenTTL: time.Hour})

	anon := &client{t: t, s: s}
	status, body := anon.do(http.MethodPost, "/api/auth/login",
		`{"email":"fleet-manager@example.com","password":"fake-wrong"}`)
	if status != http.StatusUnauthorized || errorName(t, body) != "AuthenticationError" {
		t.Errorf("bad login: %d %s", status, body)
	}

	if status, _ := anon.do(http.MethodGet, "/connected-fleet/api/contracts", ""); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}

	if status, _ := c.do(http.MethodGet, "/connected-fleet/api/contracts", ""); status != 200 {
		t.Errorf("with the token: %d, want 200", status)
	}

	clock.Advance(2 * time.Hour)
	if status, _ := c.do(http.MethodGet, "/connected-fleet/api/contracts", ""); status != 401 {
		t.Errorf("expired token: %d, want 401", status)
	}
}

func TestContractsPagingAndConditions(t *testing.T) {
	t.Parallel()

	s, c := start(t, stellantistest.Options{PageSize: 2})
	for i := range 5 {
		s.Add(simkit.Spec{VIN: vin(i), Initial: "active", Model: "e-208"})
	}

	page := func(q string) []map[string]any {
		t.Helper()

		status, body := c.do(http.MethodGet, "/connected-fleet/api/contracts"+q, "")
		var out []map[string]any
		if status != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("GET contracts%s: %d %s", q, status, body)
		}

		return out
	}

	if n := len(page("")); n != 2 {
		t.Errorf("default page: %d contracts, want 2", n)
	}

	if n := len(page("?skip=4&limit=2")); n != 1 {
		t.Errorf("last page: %d contracts, want 1", n)
	}

	if n := len(page("?skip=10&limit=2")); n != 0 {
		t.Errorf("past the end: %d contracts, want 0", n)
	}

	got := page("?conditions=" + `%7B%22car.vin%22%3A%22` + vin(3) + `%22%7D`)
	if len(got) != 1 {
		t.Fatalf("conditions: %d contracts, want 1", len(got))
	}

	k := got[0]
	car, _ := k["car"].(map[string]any)
	if car["vin"] != vin(3) || car["model"] != "e-208" || k["status"] != "activated" ||
		k["_id"] == "" || k["createdAt"] == nil {
		t.Errorf("contract %v", k)
	}

	if status, body := c.do(http.MethodGet, "/connected-fleet/api/contracts?limit=3", ""); status != 400 ||
		errorName(t, body) != "ValidationError" {
		t.Errorf("limit over the page size: %d %s, want 400", status, body)
	}
}

func TestCreateContractValidation(t *testing.T) {
	t.Parallel()

	s, c := start(t, stellantistest.Options{})
	v := vin(1)
	s.Add(simkit.Spec{VIN: v, Outcome: simkit.OutcomePending})
	body := func(ref, company, vin, from, pack string) string {
		return fmt.Sprintf(`{"reference":%q,"company":%q,"car":{"vin":%q,"note":""},`+
			`"from":%q,"to":"2029-05-01T10:00:00.000Z","pack":%q}`, ref, company, vin, from, pack)
	}
	const from = "2024-05-01T10:00:00.000Z"
	co := stellantistest.DefaultCompanyID

	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"no milliseconds": {body("r1", co, v, "2024-05-01T10:00:00Z", "pack-1"), 400},
		"offset not Z":    {body("r1", co, v, "2024-05-01T10:00:00.000+00:00", "pack-1"), 400},
		"short VIN":       {body("r1", co, v[:16], from, "pack-1"), 400},
		"other pack":      {body("r1", co, v, from, "pack-2"), 400},
		"no reference":    {body("", co, v, from, "pack-1"), 400},
		"other company":   {body("r1", "someone-else", v, from, "pack-1"), 403},
		"unknown vehicle": {body("r1", co, vin(2), from, "pack-1"), 400},
	} {
		if status, _ := c.do(http.MethodPost, "/connected-fleet/api/contracts", tc.body); status != tc.status {
			t.Errorf("%s: %d, want %d", name, status, tc.status)
		}
	}

	status, ans := c.do(http.MethodPost, "/connected-fleet/api/contracts", body("r1", co, v, from, "pack-1"))
	var k struct {
		ID     string `json:"_id"`
		Status string `json:"status"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(ans), &k) != nil || k.ID == "" ||
		k.Status != "pending" {
		t.Fatalf("create: %d %s, want 201 pending", status, ans)
	}

	status, ans = c.do(http.MethodPost, "/connected-fleet/api/contracts", body("r1", co, v, from, "pack-1"))
	if status != http.StatusConflict || errorName(t, ans) != "Conflict" {
		t.Errorf("same reference again: %d %s, want 409", status, ans)
	}

	if st, _ := s.State(v); st != "pending" || s.Contracts(v) != 1 || s.InFleet(v) {
		t.Errorf("state %q, %d contracts, in fleet %v", st, s.Contracts(v), s.InFleet(v))
	}

	// Into the fleet: unknown fleet, wrong shape, then right.
	if status, _ := c.do(http.MethodPut, "/connected-fleet/api/fleets/nope/vehicles", `["`+k.ID+`"]`); status != 404 {
		t.Errorf("unknown fleet: %d, want 404", status)
	}

	fleetPath := "/connected-fleet/api/fleets/" + stellantistest.DefaultFleetID + "/vehicles"
	if status, _ := c.do(http.MethodPut, fleetPath, `{"vins":["`+v+`"]}`); status != 400 {
		t.Errorf("vins body to an ids fleet: %d, want 400", status)
	}

	if status, _ := c.do(http.MethodPut, fleetPath, `["`+k.ID+`"]`); status != 204 || !s.InFleet(v) {
		t.Errorf("put in fleet: %d, in fleet %v", status, s.InFleet(v))
	}

	// Deletion, then 404 with an empty body, and a JSON 404 for a stranger.
	if status, _ := c.do(http.MethodDelete, "/connected-fleet/api/contracts/"+k.ID, ""); status != 204 {
		t.Errorf("delete: %d, want 204", status)
	}

	if status, b := c.do(http.MethodDelete, "/connected-fleet/api/contracts/"+k.ID, ""); status != 404 || b != "" {
		t.Errorf("delete again: %d %q, want 404 with an empty body", status, b)
	}

	if status, b := c.do(http.MethodDelete, "/connected-fleet/api/contracts/nope", ""); status != 404 ||
		errorName(t, b) != "NotFound" {
		t.Errorf("delete unknown: %d %s", status, b)
	}

	if st, _ := s.State(v); st != "cancelled" {
		t.Errorf("state after delete: %q", st)
	}
}

func TestEligibilities(t *testing.T) {
	t.Parallel()

	s, c := start(t, stellantistest.Options{MaxEligibilityVINs: 3})
	s.Add(simkit.Spec{VIN: vin(1)}, simkit.Spec{VIN: vin(2), Outcome: simkit.OutcomeIneligible})

	status, body := c.do(http.MethodPost, "/connected-fleet/api/vehicles/eligibilities",
		`{"vins":["`+vin(1)+`","`+vin(2)+`","SHORT"],"resultByEmail":false}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}

	var items []map[string]any
	_ = json.Unmarshal([]byte(body), &items)
	if len(items) != 3 || items[0]["eligible"] != true || items[1]["eligible"] != false ||
		items[2]["error_code"] != "INVALID_VIN" {
		t.Errorf("items %v", items)
	}

	for name, b := range map[string]string{
		"too many":         `{"vins":["a","b","c","d"],"resultByEmail":false}`,
		"no resultByEmail": `{"vins":["` + vin(1) + `"]}`,
		"empty":            `{"vins":[],"resultByEmail":false}`,
		"not json":         `{"vins":`,
	} {
		if status, _ := c.do(http.MethodPost, "/connected-fleet/api/vehicles/eligibilities", b); status != 400 {
			t.Errorf("%s: %d, want 400", name, status)
		}
	}
}

func TestExportFraming(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	s, c := start(t, stellantistest.Options{Clock: clock})
	s.Add(simkit.Spec{VIN: vin(1), Initial: "active", Powertrain: "bev", BatteryKWh: 50},
		simkit.Spec{VIN: vin(2), Initial: "active", Powertrain: "ice"},
		simkit.Spec{VIN: vin(3), Initial: "pending", Outcome: simkit.OutcomePending})

	status, body := c.do(http.MethodGet, "/connected-fleet/api/exports/car-states.json?v=2", "")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}

	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 5 || lines[0] != "[" || lines[2] != "," || lines[4] != "]" {
		t.Fatalf("export lines %q, want [, record, \",\", record, ]", lines)
	}

	for _, want := range []string{`"value":50000`, `"unit":"Wh"`, `"percentage":"60.0"`,
		`2024-05-01T10:00:00.000+0000`, `Wed May 01 10:00:00 GMT 2024`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("record %s lacks %s", lines[1], want)
		}
	}

	if strings.Contains(lines[3], "electricity") || !strings.Contains(lines[3], "fuel") {
		t.Errorf("combustion record %s", lines[3])
	}

	s.FailExportAfter(1)
	_, body = c.do(http.MethodGet, "/connected-fleet/api/exports/car-states.json?v=2", "")
	if !strings.Contains(body, `{"name":"ExportError"`) || strings.Count(body, `"vin"`) != 1 {
		t.Errorf("failing export %q", body)
	}

	if status, _ := c.do(http.MethodGet, "/connected-fleet/api/exports/car-states.json", ""); status != 400 {
		t.Errorf("no version: %d, want 400", status)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "stellantis.json")
	clock := &simkit.Clock{}
	clock.Set(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	s, err := stellantistest.New(stellantistest.Options{StatePath: path, Clock: clock, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}

	s.Add(simkit.Spec{VIN: vin(1), Initial: "pending", Outcome: simkit.OutcomeApprove, After: time.Hour},
		simkit.Spec{VIN: vin(2), Initial: "active"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := stellantistest.New(stellantistest.Options{StatePath: path, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()

	if st, _ := s2.State(vin(1)); st != "pending" {
		t.Errorf("after restart: %q, want pending", st)
	}

	clock.Advance(2 * time.Hour)
	if st, _ := s2.State(vin(1)); st != "activated" {
		t.Errorf("after restart and the delay: %q, want activated", st)
	}

	if !s2.InFleet(vin(2)) || s2.Contracts(vin(2)) != 1 {
		t.Error("the active vehicle's contract did not survive")
	}

	// Seeding the loaded world again adds no contract.
	s2.Add(simkit.Spec{VIN: vin(2), Initial: "active"})
	if n := s2.Contracts(vin(2)); n != 1 {
		t.Errorf("%d contracts after seeding again, want 1", n)
	}

	if _, known := s2.State(vin(9)); known {
		t.Error("a VIN never added is known")
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()

	if _, err := stellantistest.New(stellantistest.Options{Addr: "192.0.2.1:80"}); err == nil {
		t.Error("a non-loopback address was accepted")
	}

	if _, err := stellantistest.New(stellantistest.Options{FleetBody: "array"}); err == nil {
		t.Error("an unknown fleet body shape was accepted")
	}

	s, err := stellantistest.New(stellantistest.Options{FleetBody: "vins", ModelField: "modelName"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	env := s.Env()
	if env["STELLANTIS_BASE_URL"] != s.URL() || env["STELLANTIS_FLEET_BODY"] != "vins" ||
		env["STELLANTIS_MODEL_FIELD"] != "modelName" || !strings.HasPrefix(env["STELLANTIS_PASSWORD"], "fake-") {
		t.Errorf("Env() = %v", env)
	}
}
