package tesla

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

func TestActivateAndDeactivateAreNotSupported(t *testing.T) {
	t.Parallel()

	shared, hidden := vin('3', 'P', 1), vin('Y', 'R', 2)
	sim := newSim(t, teslatest.Options{}, spec(shared, "Model 3", "RWD", acctB),
		simkit.Spec{VIN: string(hidden), Model: "Model Y", Initial: "inactive"})
	c := newConn(t, sim, nil)

	// Before any listing the status is unknown, and nothing is sent.
	res, err := c.Activate(t.Context(), []oem.VIN{shared, hidden})
	if err != nil || len(res) != 2 {
		t.Fatalf("Activate = %v, %v", res, err)
	}

	for _, r := range res {
		if r.Status != oem.StatusUnknown || !errors.Is(r.Err, oem.ErrNotSupported) {
			t.Errorf("before listing: %+v, want unknown and ErrNotSupported", r)
		}
	}

	if _, _, err := list(t.Context(), c); err != nil {
		t.Fatal(err)
	}

	before := sim.Server().Counters.Sum(func(string) bool { return true })
	for _, op := range []string{"activate", "deactivate"} {
		call := c.Activate
		if op == "deactivate" {
			call = c.Deactivate
		}

		res, err := call(t.Context(), []oem.VIN{shared, hidden})
		if err != nil || len(res) != 2 {
			t.Fatalf("%s = %v, %v", op, res, err)
		}

		byVIN := map[oem.VIN]oem.Result{res[0].VIN: res[0], res[1].VIN: res[1]}
		if r := byVIN[shared]; r.Status != oem.StatusActive || !errors.Is(r.Err, oem.ErrNotSupported) ||
			!strings.Contains(r.Reason, acctB) {
			t.Errorf("%s shared vehicle: %+v, want active, ErrNotSupported, reason naming %s", op, r, acctB)
		}

		if r := byVIN[hidden]; r.Status != oem.StatusInactive || !errors.Is(r.Err, oem.ErrNotSupported) {
			t.Errorf("%s unshared vehicle: %+v, want inactive and ErrNotSupported", op, r)
		}
	}

	if !strings.Contains(res[0].Reason, ReasonShare) {
		t.Errorf("reason %q, want it to say %q", res[0].Reason, ReasonShare)
	}

	if after := sim.Server().Counters.Sum(func(string) bool { return true }); after != before {
		t.Errorf("Activate and Deactivate sent %d requests, want none", after-before)
	}
}

func TestDescribeFallsBackToTryingAccounts(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{}, spec(v, "Model 3", "RWD", acctA),
		spec(vin('3', 'P', 2), "Model 3", "RWD", acctB))
	// ACME's listing fails (a 400 is not retried); BETA's works.
	sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 1, Status: http.StatusBadRequest,
		Body: `{"response":null,"error":"invalid_request","error_description":"try again"}`})
	c := newConn(t, sim, nil)

	infos, verrs, err := describe(t.Context(), c, v)
	if err != nil || verrs[v] != nil || infos[v].Model != "Model 3" {
		t.Fatalf("Describe: %+v %v %v", infos[v], verrs, err)
	}

	if l, o := requests(sim, epList), requests(sim, epOptions); l != 2 || o != 1 {
		t.Errorf("listing %d, options %d requests; want 2 and 1", l, o)
	}
}

func TestFleetUntidyAndRepeatedRecords(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	lower := " " + strings.ToLower(string(v)) + " "
	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}})
	sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: http.StatusOK, Body: `{"response":[` +
		`{"id":1493021234567890123,"id_s":"1493021234567890123","vin":"` + lower + `"},` +
		`{"id":1493021234567890124,"id_s":"1493021234567890124","vin":"` + string(v) + `"}],` +
		`"pagination":{"previous":null,"next":null,"current":"1","per_page":"100","count":"2","pages":"1"},` +
		`"count":2.0}`})
	c := newConn(t, sim, nil)

	seen, verrs, err := list(t.Context(), c)
	if err != nil || len(verrs) > 0 || len(seen) != 1 || len(seen[v]) != 1 {
		t.Fatalf("Fleet = %v, %v, %v; want %s once", seen, verrs, err, v)
	}

	if rec, _, _ := c.lookupVehicle(v); rec.ID != "1493021234567890123" {
		t.Errorf("id %q, want the first record's 1493021234567890123", rec.ID)
	}
}

func TestRefreshAnswerWithoutAccessToken(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{ManualTokens: true})
	_, refresh := sim.IssueToken(acctA)
	sim.Server().AddFault(simkit.Fault{Endpoint: "POST " + teslatest.TokenPath, Times: 1, Status: 200,
		Body: `{"token_type":"Bearer","expires_in":28800}`})
	rt, err := NewRefreshTokens(RefreshConfig{TokenURL: sim.TokenURL(), ClientID: teslatest.DefaultClientID,
		RefreshToken: refresh})
	if err != nil {
		t.Fatal(err)
	}

	_, err = rt.TokenContext(t.Context())
	wantKind(t, err, oem.ErrAuth)

	// The refresh token was not spent by the odd answer; the next call works.
	if tok, err := rt.TokenContext(t.Context()); err != nil || tok.AccessToken == "" {
		t.Errorf("second call: %v, %v", tok, err)
	}
}
