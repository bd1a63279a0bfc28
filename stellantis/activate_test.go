package stellantis_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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

const (
	epCreate = "POST /connected-fleet/api/contracts"
	epDelete = "DELETE /connected-fleet/api/contracts/{id}"
	epPut    = "PUT /connected-fleet/api/fleets/{fleet}/vehicles"
	epElig   = "POST /connected-fleet/api/vehicles/eligibilities"
	epLogin  = "POST /api/auth/login"
	epExport = "GET /connected-fleet/api/exports/car-states.json"
)

// recorder keeps the bodies sent, by method and path.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]string
	base   http.RoundTripper
}

func newRecorder() *recorder {
	return &recorder{bodies: make(map[string][]string),
		base: http.DefaultTransport.(*http.Transport).Clone()}
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.GetBody != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		rec.mu.Lock()
		rec.bodies[r.Method+" "+r.URL.Path] = append(rec.bodies[r.Method+" "+r.URL.Path], string(b))
		rec.mu.Unlock()
	}

	return rec.base.RoundTrip(r)
}

func (rec *recorder) get(key string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()

	return append([]string(nil), rec.bodies[key]...)
}

// one checks a call on one VIN gave one Result; use as one(t)(c.Activate(…)).
func one(t *testing.T) func([]oem.Result, error) oem.Result {
	t.Helper()

	return func(res []oem.Result, err error) oem.Result {
		t.Helper()

		return oneResult(t, res, err)
	}
}

func oneResult(t *testing.T, res []oem.Result, err error) oem.Result {
	t.Helper()

	if err != nil {
		t.Fatalf("call failed: %v", err)
	}

	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}

	return res[0]
}

func TestActivateSendsTheContract(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	s := newSim(t, stellantistest.Options{Clock: clock})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Model: "e-208", Outcome: simkit.OutcomeApprove, After: time.Hour})

	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	clock.Set(now)
	rec := newRecorder()
	c := newConn(t, s, stellantis.WithTransport(rec), stellantis.WithClock(clock.Now))

	r := one(t)(c.Activate(t.Context(), []oem.VIN{v}))
	if r.Err != nil || r.Status != oem.StatusPending || r.Raw != "pending" {
		t.Fatalf("Activate: %+v, want pending without error", r)
	}

	posts := rec.get("POST /connected-fleet/api/contracts")
	if len(posts) != 1 {
		t.Fatalf("%d contract bodies sent, want 1", len(posts))
	}

	var body map[string]any
	if err := json.Unmarshal([]byte(posts[0]), &body); err != nil {
		t.Fatal(err)
	}

	car, _ := body["car"].(map[string]any)
	want := map[string]any{
		"reference": "vehicleinfo-" + string(v),
		"company":   stellantistest.DefaultCompanyID,
		"from":      "2024-05-01T10:00:00.000Z",
		"to":        now.Add(stellantis.DefaultContractLength).Format("2006-01-02T15:04:05.000Z"),
		"pack":      "pack-1",
	}
	for k, w := range want {
		if body[k] != w {
			t.Errorf("contract %s = %v, want %v", k, body[k], w)
		}
	}

	if car["vin"] != string(v) {
		t.Errorf("contract car.vin = %v, want %s", car["vin"], v)
	}

	if _, ok := car["note"]; !ok {
		t.Error("contract car has no note member")
	}

	puts := rec.get("PUT /connected-fleet/api/fleets/" + stellantistest.DefaultFleetID + "/vehicles")
	var ids []string
	if len(puts) != 1 || json.Unmarshal([]byte(puts[0]), &ids) != nil || len(ids) != 1 || ids[0] == "" {
		t.Fatalf("put-in-fleet bodies = %q, want one array with the contract id", puts)
	}

	if !s.InFleet(string(v)) {
		t.Error("the contract is not in the fleet")
	}

	// The approval comes on the OEM's clock.
	if st := fleet(t, c)[v].Status; st != oem.StatusPending {
		t.Errorf("listed as %s before the approval, want pending", st)
	}

	clock.Advance(2 * time.Hour)
	if st := fleet(t, c)[v].Status; st != oem.StatusActive {
		t.Errorf("listed as %s after the approval, want active", st)
	}

	// Asking again is "already done": the 409 path reads the live contract.
	r = one(t)(c.Activate(t.Context(), []oem.VIN{v}))
	if r.Err != nil || r.Status != oem.StatusActive {
		t.Errorf("second Activate: %+v, want active without error", r)
	}

	if n := s.Contracts(string(v)); n != 1 {
		t.Errorf("%d contracts for %s, want 1", n, v)
	}
}

func TestActivateImmediateApprovalAndRejection(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	s := newSim(t, stellantistest.Options{Clock: clock})
	now, later, refused := vin("VF3", 1), vin("VF7", 2), vin("VF7", 3)
	s.Add(simkit.Spec{VIN: string(now), Outcome: simkit.OutcomeApprove},
		simkit.Spec{VIN: string(later), Outcome: simkit.OutcomeReject, After: time.Minute,
			Reason: "owner refused"},
		simkit.Spec{VIN: string(refused), Outcome: simkit.OutcomeReject})
	c := newConn(t, s)

	res, err := c.Activate(t.Context(), []oem.VIN{now, later, refused})
	if err != nil {
		t.Fatal(err)
	}

	byVIN := map[oem.VIN]oem.Result{}
	for _, r := range res {
		byVIN[r.VIN] = r
	}

	if r := byVIN[now]; r.Status != oem.StatusActive || r.Raw != "activated" || r.Err != nil {
		t.Errorf("%s: %+v, want active at once", now, r)
	}

	if r := byVIN[later]; r.Status != oem.StatusPending || r.Err != nil {
		t.Errorf("%s: %+v, want pending", later, r)
	}

	// A refusal due at once: the 201 says pending, the listing tells.
	if r := byVIN[refused]; r.Status != oem.StatusPending || r.Err != nil {
		t.Errorf("%s: %+v, want pending", refused, r)
	}

	if o := fleet(t, c)[refused]; o.Status != oem.StatusRejected || o.Raw != "rejected" {
		t.Errorf("%s listed as %+v, want rejected with raw rejected", refused, o)
	}

	clock.Advance(time.Hour)
	// "rejected" is read as rejected, a guess (mapStatus), raw kept.
	if o := fleet(t, c)[later]; o.Status != oem.StatusRejected || o.Raw != "rejected" {
		t.Errorf("%s after the refusal: %+v, want rejected with raw rejected", later, o)
	}
}

func TestActivateRerunAfterCrashMakesNoSecondContract(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Outcome: simkit.OutcomePending})
	c := newConn(t, s)

	// The run stops between the contract and the put-in-fleet call.
	s.Server().AddFault(simkit.Fault{Endpoint: epPut, Reset: true})
	r := one(t)(c.Activate(t.Context(), []oem.VIN{v}))
	if r.Err == nil || !strings.Contains(r.Reason, "not put in the fleet") {
		t.Fatalf("Activate with the fleet down: %+v, want an error saying the fleet step failed", r)
	}

	if s.Contracts(string(v)) != 1 || s.InFleet(string(v)) {
		t.Fatalf("contracts %d, in fleet %v; want 1 contract, not in the fleet",
			s.Contracts(string(v)), s.InFleet(string(v)))
	}

	s.Server().ClearFaults()
	r = one(t)(c.Activate(t.Context(), []oem.VIN{v}))
	if r.Err != nil || r.Status != oem.StatusPending {
		t.Fatalf("rerun: %+v, want pending without error", r)
	}

	if n := s.Contracts(string(v)); n != 1 {
		t.Errorf("%d contracts after the rerun, want 1 (CASES 24)", n)
	}

	if !s.InFleet(string(v)) {
		t.Error("the rerun did not put the contract in the fleet")
	}

	if n := s.Server().Counters.Get(epCreate); n != 2 {
		t.Errorf("%d contract requests, want 2 (one per run)", n)
	}
}

func TestActivateFleetBodyShapes(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{FleetBody: "vins"})
	a, b := vin("VF3", 1), vin("VF3", 2)
	s.Add(simkit.Spec{VIN: string(a)}, simkit.Spec{VIN: string(b)})

	// A connector sending the other shape is refused, and says so.
	wrong := newConn(t, s, func(cfg *stellantis.Config) { cfg.FleetBody = stellantis.FleetBodyIDs })
	r := one(t)(wrong.Activate(t.Context(), []oem.VIN{a}))
	if r.Err == nil || !errors.Is(r.Err, oem.ErrInvalidInput) {
		t.Fatalf("array body to a vins fleet: %+v, want an ErrInvalidInput", r)
	}

	rec := newRecorder()
	c := newConn(t, s, stellantis.WithTransport(rec)) // FleetBody from Env: vins
	res, err := c.Activate(t.Context(), []oem.VIN{a, b})
	if err != nil {
		t.Fatal(err)
	}

	for _, r := range res {
		if r.Err != nil || !s.InFleet(string(r.VIN)) {
			t.Errorf("%s: %+v, in fleet %v; want success in the fleet", r.VIN, r, s.InFleet(string(r.VIN)))
		}
	}

	puts := rec.get("PUT /connected-fleet/api/fleets/" + stellantistest.DefaultFleetID + "/vehicles")
	var body struct {
		VINs []string `json:"vins"`
	}
	if len(puts) != 1 || json.Unmarshal([]byte(puts[0]), &body) != nil || len(body.VINs) != 2 {
		t.Errorf("put bodies = %q, want one {\"vins\":[2 VINs]}", puts)
	}

	if n := s.Contracts(string(a)); n != 1 {
		t.Errorf("%d contracts for %s, want 1", n, a)
	}
}

func TestActivateRefusals(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	inel, unknown := vin("VF3", 1), vin("VF3", 2)
	s.Add(simkit.Spec{VIN: string(inel), Outcome: simkit.OutcomeIneligible, Reason: "no telematics box"})
	c := newConn(t, s)

	bad := oem.VIN(strings.ToLower(string(vin("VF3", 3))))
	res, err := c.Activate(t.Context(), []oem.VIN{inel, unknown, bad})
	if err != nil {
		t.Fatal(err)
	}

	byVIN := map[oem.VIN]oem.Result{}
	for _, r := range res {
		byVIN[r.VIN] = r
	}

	if r := byVIN[inel]; r.Status != oem.StatusIneligible || !errors.Is(r.Err, oem.ErrPermissionDenied) ||
		r.Reason != "no telematics box" {
		t.Errorf("ineligible: %+v, want status ineligible, ErrPermissionDenied, the OEM's reason", r)
	}

	if r := byVIN[unknown]; !errors.Is(r.Err, oem.ErrInvalidInput) {
		t.Errorf("unknown vehicle: %+v, want ErrInvalidInput", r)
	}

	if r := byVIN[bad]; !errors.Is(r.Err, oem.ErrInvalidInput) {
		t.Errorf("not normalised VIN: %+v, want ErrInvalidInput", r)
	}

	if n := s.Server().Counters.Get(epCreate); n != 2 {
		t.Errorf("%d contract requests, want 2 (the bad VIN is never sent)", n)
	}

	if n := s.Server().Counters.Get(epPut); n != 0 {
		t.Errorf("%d put-in-fleet requests, want none", n)
	}
}

func TestActivateRetriesTransientFailures(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Outcome: simkit.OutcomePending})
	s.Server().AddFault(simkit.Fault{Endpoint: epCreate, Times: 1, Status: http.StatusBadGateway,
		Body: simkit.HTMLBody})
	s.Server().AddFault(simkit.Fault{Endpoint: epPut, Times: 1, Reset: true})

	r := one(t)(newConn(t, s).Activate(t.Context(), []oem.VIN{v}))
	if r.Err != nil || r.Status != oem.StatusPending || !s.InFleet(string(v)) {
		t.Fatalf("Activate: %+v (in fleet %v), want pending in the fleet", r, s.InFleet(string(v)))
	}
}

func TestDeactivate(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	active, none, twice := vin("VF3", 1), vin("VF3", 2), vin("VF3", 3)
	s.Add(simkit.Spec{VIN: string(active), Initial: "active"}, simkit.Spec{VIN: string(none)})
	s.AddContract(string(twice), "activated", time.Now().Add(-time.Hour))
	s.AddContract(string(twice), "pending", time.Now())
	c := newConn(t, s)

	for round := 1; round <= 2; round++ {
		res, err := c.Deactivate(t.Context(), []oem.VIN{active, none, twice})
		if err != nil {
			t.Fatal(err)
		}

		for _, r := range res {
			if r.Err != nil || r.Status != oem.StatusInactive {
				t.Errorf("round %d: %s: %+v, want inactive without error", round, r.VIN, r)
			}
		}
	}

	if n := s.Server().Counters.Get(epDelete); n != 3 {
		t.Errorf("%d deletions, want 3 (one per live contract, none in round 2)", n)
	}

	for _, v := range []oem.VIN{active, twice} {
		if st, _ := s.State(string(v)); st != "cancelled" {
			t.Errorf("%s at the OEM: %q, want cancelled", v, st)
		}
	}

	if o := fleet(t, c)[twice]; o.Status != oem.StatusInactive {
		t.Errorf("listed %s as %s, want inactive", twice, o.Status)
	}
}

func TestDeactivateAlreadyGone(t *testing.T) {
	t.Parallel()

	for name, f := range map[string]simkit.Fault{
		"json":  {Status: http.StatusNotFound, Body: `{"name":"NotFound","message":"contract not found"}`},
		"empty": {Status: http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{})
			v := vin("VF3", 1)
			s.Add(simkit.Spec{VIN: string(v), Initial: "active"})
			f.Endpoint, f.Times = epDelete, 1
			s.Server().AddFault(f)

			r := one(t)(newConn(t, s).Deactivate(t.Context(), []oem.VIN{v}))
			if r.Err != nil || r.Status != oem.StatusInactive {
				t.Errorf("404 (%s) on delete: %+v, want inactive without error", name, r)
			}
		})
	}
}

func TestDeactivateFailure(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Initial: "active"})
	s.Server().AddFault(simkit.Fault{Endpoint: epDelete, Status: http.StatusInternalServerError,
		Body: `{"name":"InternalError","message":"database unavailable"}`})

	r := one(t)(newConn(t, s).Deactivate(t.Context(), []oem.VIN{v}))
	var ae *oem.APIError
	if !errors.Is(r.Err, oem.ErrTransient) || !errors.As(r.Err, &ae) || ae.Code != "InternalError" {
		t.Fatalf("delete failing: %+v, want a transient *oem.APIError with code InternalError", r)
	}

	if r.Status != oem.StatusActive || r.Reason != "database unavailable" {
		t.Errorf("status %s, reason %q; want active and the OEM's message", r.Status, r.Reason)
	}
}

func TestCheckEligibility(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{EligibilityBadGatewayEvery: 2})
	ok1, ok2, no, unknown, bad := vin("VF3", 1), vin("VF7", 2), vin("W0L", 3), vin("ZFA", 4),
		oem.VIN("VF3 NOT A VIN")
	s.Add(simkit.Spec{VIN: string(ok1)}, simkit.Spec{VIN: string(ok2)},
		simkit.Spec{VIN: string(no), Outcome: simkit.OutcomeIneligible})
	rec := newRecorder()
	c := newConn(t, s, stellantis.WithTransport(rec),
		func(cfg *stellantis.Config) { cfg.EligibilityBatchSize = 2 })

	got, err := c.CheckEligibility(t.Context(), []oem.VIN{ok1, ok2, no, unknown, bad})
	if err != nil {
		t.Fatalf("CheckEligibility: %v", err)
	}

	byVIN := map[oem.VIN]oem.Eligibility{}
	for _, e := range got {
		byVIN[e.VIN] = e
	}

	if len(got) != 5 {
		t.Errorf("%d answers, want 5", len(got))
	}

	for _, v := range []oem.VIN{ok1, ok2} {
		if e := byVIN[v]; !e.Eligible || e.Err != nil {
			t.Errorf("%s: %+v, want eligible", v, e)
		}
	}

	if e := byVIN[no]; e.Eligible || e.Err != nil || e.Reason == "" {
		t.Errorf("%s: %+v, want not eligible with a reason", no, e)
	}

	var ae *oem.APIError
	if e := byVIN[unknown]; !errors.Is(e.Err, oem.ErrNotFound) || !errors.As(e.Err, &ae) ||
		ae.Code != "VEHICLE_NOT_FOUND" {
		t.Errorf("%s: %+v, want ErrNotFound with the error_code", unknown, e)
	}

	if e := byVIN[bad]; !errors.Is(e.Err, oem.ErrInvalidInput) {
		t.Errorf("bad VIN: %+v, want ErrInvalidInput", e)
	}

	// Two batches of two (the bad VIN is never sent), each second request
	// a 502 that is retried: 1 ok, 2 502, 3 ok.
	if n := s.Server().Counters.Get(epElig); n != 3 {
		t.Errorf("%d eligibility requests, want 3", n)
	}

	for _, b := range rec.get("POST /connected-fleet/api/vehicles/eligibilities") {
		var req struct {
			VINs          []string `json:"vins"`
			ResultByEmail *bool    `json:"resultByEmail"`
		}
		if json.Unmarshal([]byte(b), &req) != nil || len(req.VINs) > 2 || req.ResultByEmail == nil ||
			*req.ResultByEmail {
			t.Errorf("eligibility body %s, want at most 2 vins and resultByEmail false", b)
		}
	}
}

func TestCheckEligibilityPartialAnswers(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	a, b, c3, d := vin("VF3", 1), vin("VF3", 2), vin("VF3", 3), vin("VF3", 4)
	// A 200 that is partly an error (CASES 18): a string boolean, an
	// item with neither member, one left out.
	s.Server().AddFault(simkit.Fault{Endpoint: epElig, Times: 1, Status: http.StatusOK,
		Body: `[{"vin":"` + string(a) + `","eligible":"true"},{"vin":"` + string(b) +
			`","error_code":"TECHNICAL_ERROR"},{"vin":"` + string(c3) + `"}]`})

	got, err := newConn(t, s).CheckEligibility(t.Context(), []oem.VIN{a, b, c3, d})
	if err != nil {
		t.Fatal(err)
	}

	byVIN := map[oem.VIN]oem.Eligibility{}
	for _, e := range got {
		byVIN[e.VIN] = e
	}

	if !byVIN[a].Eligible || byVIN[a].Err != nil {
		t.Errorf("%s: %+v, want eligible", a, byVIN[a])
	}

	for _, v := range []oem.VIN{b, c3, d} {
		if !errors.Is(byVIN[v].Err, oem.ErrTransient) {
			t.Errorf("%s: %+v, want a transient per-vehicle error", v, byVIN[v])
		}
	}
}

func TestCheckEligibilityBatchFailure(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	s.Server().AddFault(simkit.Fault{Endpoint: epElig, Status: http.StatusBadGateway,
		Body: simkit.HTMLBody})

	_, err := newConn(t, s).CheckEligibility(t.Context(), []oem.VIN{vin("VF3", 1)})
	var ae *oem.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway || !strings.Contains(ae.Snippet, "Bad Gateway") {
		t.Fatalf("err = %v, want the 502 *oem.APIError with its HTML snippet", err)
	}

	if n := s.Server().Counters.Get(epElig); n != 5 {
		t.Errorf("%d attempts, want 5 (4 retries)", n)
	}
}

func TestDeactivateKeepsBigIDsExact(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v)})
	// CASES 10: an id beyond 2^53 must survive to the DELETE path.
	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Times: 1, Status: http.StatusOK,
		Body: `[{"_id":90071992547409931,"status":"activated","car":{"vin":"` + string(v) + `"}}]`})

	var mu sync.Mutex
	var paths []string
	base := http.DefaultTransport.(*http.Transport).Clone()
	c := newConn(t, s, stellantis.WithTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodDelete {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
		}

		return base.RoundTrip(r)
	})))

	r := one(t)(c.Deactivate(t.Context(), []oem.VIN{v}))
	if r.Err != nil || r.Status != oem.StatusInactive {
		t.Errorf("%+v, want inactive (the simulator does not know the id: 404)", r)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "/connected-fleet/api/contracts/90071992547409931" {
		t.Errorf("DELETE paths %v, want the id digit for digit", paths)
	}
}
