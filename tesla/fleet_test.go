package tesla

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

func TestFleetPagesToTheEndAndKeepsBigIDs(t *testing.T) {
	t.Parallel()

	var specs []simkit.Spec
	for i := range 230 {
		specs = append(specs, spec(vin('3', 'P', i+1), "Model 3", "RWD", acctA))
	}

	specs = append(specs, spec(vin('Y', 'R', 500), "Model Y", "RWD", acctB))
	sim := newSim(t, teslatest.Options{}, specs...)
	c := newConn(t, sim, nil)

	seen, verrs, err := list(t.Context(), c)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Fleet: %v %v", err, verrs)
	}

	if len(seen) != 231 {
		t.Fatalf("Fleet listed %d vehicles, want 231", len(seen))
	}

	for v, obs := range seen {
		want := acctA
		if v == vin('Y', 'R', 500) {
			want = acctB
		}

		if len(obs) != 1 || obs[0].Status != oem.StatusActive || obs[0].Account != want ||
			obs[0].Raw != RawShared || obs[0].Make != oem.MakeTesla {
			t.Fatalf("%s: %+v, want once, active, account %s", v, obs, want)
		}
	}

	// 230 vehicles at 100 a page are three pages for ACME, one for BETA.
	if n := requests(sim, epList); n != 4 {
		t.Errorf("listing requests = %d, want 4", n)
	}

	// CASES 10: the id beyond 2^53 survives exactly.
	first := vin('3', 'P', 1)
	rec, found, complete := c.lookupVehicle(first)
	if !found || !complete || rec.ID != "1493021234567890123" || rec.ID != sim.ID(string(first)) {
		t.Errorf("remembered %+v (found %v, complete %v), want id 1493021234567890123", rec, found, complete)
	}
}

func TestFleetFullPageWithoutPaginationAsksForTheNext(t *testing.T) {
	t.Parallel()

	var specs []simkit.Spec
	for i := range 100 {
		specs = append(specs, spec(vin('3', 'P', i+1), "Model 3", "RWD", acctA))
	}

	sim := newSim(t, teslatest.Options{OmitPagination: true, Accounts: []string{acctA}}, specs...)
	c := newConn(t, sim, nil)

	seen, _, err := list(t.Context(), c)
	if err != nil || len(seen) != 100 {
		t.Fatalf("Fleet = %d vehicles, %v; want 100", len(seen), err)
	}

	if n := requests(sim, epList); n != 2 {
		t.Errorf("listing requests = %d, want 2 (a full page means ask for the next)", n)
	}
}

func TestFleetVehicleInTwoAccountsAppearsOnce(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 7)
	sim := newSim(t, teslatest.Options{}, spec(v, "Model 3", "RWD", acctB))
	sim.Share(string(v), acctA)
	c := newConn(t, sim, nil)

	seen, _, err := list(t.Context(), c)
	if err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet = %v, %v; want %s once", seen, err, v)
	}

	if seen[v][0].Account != acctA {
		t.Errorf("Account = %q, want %q (the first configured account listing it)", seen[v][0].Account, acctA)
	}
}

// CASES 5: a failure on any page fails that account; the other accounts
// still come, and the listing ends with an error naming the account.
func TestFleetPageFailureFailsTheAccount(t *testing.T) {
	t.Parallel()

	var specs []simkit.Spec
	for i := range 150 {
		specs = append(specs, spec(vin('3', 'P', i+1), "Model 3", "RWD", acctA))
	}

	b := vin('Y', 'R', 900)
	specs = append(specs, spec(b, "Model Y", "RWD", acctB))
	sim := newSim(t, teslatest.Options{}, specs...)
	sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 1}) // page 1 passes
	sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 5, Status: http.StatusBadGateway,
		Body: simkit.HTMLBody})
	c := newConn(t, sim, nil)

	seen, _, err := list(t.Context(), c)
	if err == nil {
		t.Fatal("Fleet ended without error after page 2 of ACME failed")
	}

	wantKind(t, err, oem.ErrTransient)
	if !strings.Contains(err.Error(), "account "+acctA) || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error %q does not name account %s and page 2", err, acctA)
	}

	if len(seen) != 1 || len(seen[b]) != 1 {
		t.Errorf("Fleet yielded %d vehicles, want only BETA's %s (none of the failed account)", len(seen), b)
	}

	if _, _, complete := c.lookupVehicle(b); complete {
		t.Error("the failed account counts as completely listed")
	}
}

func TestFleetOddPages(t *testing.T) {
	t.Parallel()

	page := func(items, pagination string, count int) string {
		return fmt.Sprintf(`{"response":[%s],"pagination":%s,"count":%d}`, items, pagination, count)
	}
	item := func(id, v string) string {
		return fmt.Sprintf(`{"id":%s,"id_s":"%s","vehicle_id":1,"vin":%q,"state":"asleep"}`, id, id, v)
	}
	good := vin('3', 'P', 1)

	for _, tc := range []struct {
		name  string
		body  string
		kind  error
		verrs int
	}{
		{"next page names itself", page(item("1", string(good)),
			`{"previous":null,"next":1,"current":1,"per_page":100,"count":5,"pages":2}`, 5), oem.ErrTransient, 0},
		{"fewer vehicles than the count", page(item("1", string(good)),
			`{"previous":null,"next":null,"current":1,"per_page":100,"count":3,"pages":1}`, 3), oem.ErrTransient, 0},
		{"malformed JSON", simkit.MalformedJSON, oem.ErrTransient, 0},
		{"an error inside a 200", `{"response":null,"error":"internal error","error_description":"try later"}`,
			oem.ErrTransient, 0},
		{"a bad VIN is a vehicle error", page(item("1", string(good))+","+item("2", "5YJ3-BAD"),
			`{"previous":null,"next":null,"current":1,"per_page":100,"count":2,"pages":1}`, 2), nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, teslatest.Options{Accounts: []string{acctA}})
			sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: http.StatusOK, Body: tc.body})
			c := newConn(t, sim, nil)

			seen, verrs, err := list(t.Context(), c)
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				if len(seen) != 0 {
					t.Errorf("yielded %d vehicles from a failed listing", len(seen))
				}

				return
			}

			if err != nil || len(seen[good]) != 1 || len(verrs) != tc.verrs {
				t.Fatalf("Fleet = %v, %v, %v; want %s and %d vehicle error", seen, verrs, err, good, tc.verrs)
			}
		})
	}
}

func TestFleetStopsEarlyAndOnCancel(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{},
		spec(vin('3', 'P', 1), "Model 3", "RWD", acctA), spec(vin('3', 'P', 2), "Model 3", "RWD", acctB))
	c := newConn(t, sim, nil)

	for range c.Fleet(t.Context()) {
		break
	}

	if n := requests(sim, epList); n != 1 {
		t.Errorf("a consumer that stopped after one record cost %d listing requests, want 1", n)
	}
}
