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

// streamed is one item of a Fleet stream, in order.
type streamed struct {
	obs oem.Observed
	err error
}

func stream(t *testing.T, c *Connector) []streamed {
	t.Helper()

	var out []streamed
	for o, err := range c.Fleet(t.Context()) {
		out = append(out, streamed{o, err})
	}

	return out
}

// listItems writes n listing records with VINs and ids from first on.
func listItems(first, n int) string {
	items := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		id := 1493021234567890123 + int64(i)
		items = append(items, fmt.Sprintf(
			`{"id":%d,"id_s":"%d","vehicle_id":%d,"vin":%q,"state":"online"}`,
			id, id, 900000000+i, vin('3', 'P', i)))
	}

	return strings.Join(items, ",")
}

// CASES 5, as the tester found it: 315 vehicles at 20 a page; page 5
// answers 200 but stops the listing (null, no list, an empty list with
// next null, a short page whose own count is short). The account's
// listing fails with an error that is not a *VehicleError, none of its
// vehicles comes out, the other account's do, and nothing is asked past
// the bad page.
func TestFleetListThatStopsEarlyFailsTheAccount(t *testing.T) {
	t.Parallel()

	const total, perPage = 315, 20
	for _, tc := range []struct {
		name, page5 string
	}{
		{"control: no override", ""},
		{"response null", `{"response":null}`},
		{"response missing", `{"pagination":{"previous":4,"next":6,"current":5,"per_page":20,` +
			`"count":315,"pages":16},"count":315}`},
		{"response an object", `{"response":{},"count":315}`},
		{"response a string", `{"response":"none"}`},
		{"empty list, next null", `{"response":[],"pagination":{"previous":4,"next":null,"current":5,` +
			`"per_page":20,"count":315,"pages":16},"count":315}`},
		{"empty list, bare pagination", `{"response":[],"pagination":{"next":null}}`},
		{"empty list, pagination null", `{"response":[],"pagination":null,"count":0}`},
		{"empty list only", `{"response":[]}`},
		{"short page that says it is the last of 85", `{"response":[` + listItems(1001, 5) +
			`],"pagination":{"previous":4,"next":null,"current":5,"per_page":20,"count":85,"pages":5},` +
			`"count":85}`},
		{"short page, next null, no page count", `{"response":[` + listItems(1001, 5) +
			`],"pagination":{"previous":4,"next":null,"current":5,"per_page":20}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			specs := make([]simkit.Spec, 0, total+1)
			for i := range total {
				specs = append(specs, spec(vin('3', 'P', i+1), "Model 3", "RWD", acctA))
			}

			b := vin('Y', 'R', 900)
			specs = append(specs, spec(b, "Model Y", "RWD", acctB))
			sim := newSim(t, teslatest.Options{}, specs...)
			sim.SetListPageJSON(acctA, 5, tc.page5)
			c := newConn(t, sim, func(cfg *Config) { cfg.PageSize = perPage })

			got := stream(t, c)
			if tc.page5 == "" {
				if len(got) != total+1 || got[len(got)-1].err != nil {
					t.Fatalf("Fleet yielded %d items (last %v), want %d vehicles", len(got),
						got[len(got)-1].err, total+1)
				}

				if n := requests(sim, epList); n != 16+1 {
					t.Errorf("listing requests = %d, want 17", n)
				}

				return
			}

			if len(got) == 0 {
				t.Fatal("Fleet yielded nothing")
			}

			last := got[len(got)-1].err
			if last == nil {
				t.Fatalf("Fleet ended without error after page 5 of %s stopped the listing", acctA)
			}

			if _, ok := oem.AsVehicleError(last); ok {
				t.Fatalf("the listing failure is a *VehicleError: %v", last)
			}

			t.Logf("listing error: %v", last)
			wantKind(t, last, oem.ErrTransient)
			if msg := last.Error(); !strings.Contains(msg, "account "+acctA) ||
				!strings.Contains(msg, "page 5") {
				t.Errorf("error %q does not name account %s and page 5", msg, acctA)
			}

			for _, it := range got[:len(got)-1] {
				if it.err != nil {
					t.Errorf("error before the end of the stream: %v", it.err)
				} else if it.obs.Account == acctA {
					t.Fatalf("%s of the failed account came out as listed", it.obs.VIN)
				}
			}

			if len(got) != 2 || got[0].obs.VIN != b {
				t.Errorf("Fleet yielded %d items, want %s of %s and the error", len(got), b, acctB)
			}

			if _, _, complete := c.lookupVehicle(b); complete {
				t.Error("the failed account counts as completely listed")
			}

			if n := requests(sim, epList); n != 5+1 {
				t.Errorf("listing requests = %d, want 6 (nothing past the page that stopped)", n)
			}
		})
	}
}

// A listing that ends before the page count a page announced fails, even
// with no vehicle count to compare with.
func TestFleetEndsBeforeAnnouncedPages(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}})
	sim.SetListPageJSON(acctA, 1, `{"response":[`+listItems(1, 20)+
		`],"pagination":{"previous":null,"next":2,"current":1,"per_page":20,"pages":3}}`)
	sim.SetListPageJSON(acctA, 2, `{"response":[`+listItems(21, 20)+
		`],"pagination":{"previous":1,"next":null,"current":2,"per_page":20}}`)
	c := newConn(t, sim, func(cfg *Config) { cfg.PageSize = 20 })

	seen, _, err := list(t.Context(), c)
	if err == nil || len(seen) != 0 {
		t.Fatalf("Fleet = %d vehicles, %v; want an error and none", len(seen), err)
	}

	wantKind(t, err, oem.ErrTransient)
	if !strings.Contains(err.Error(), "page 2 of the 3 pages") {
		t.Errorf("error %q does not say the listing ended at page 2 of 3", err)
	}
}

// Without a pagination object a short page ends the listing; a count
// that some page gave still has to be reached.
func TestFleetWithoutPaginationShortPageEnds(t *testing.T) {
	t.Parallel()

	specs := make([]simkit.Spec, 0, 45)
	for i := range 45 {
		specs = append(specs, spec(vin('3', 'P', i+1), "Model 3", "RWD", acctA))
	}

	short := func(t *testing.T, sim *teslatest.Sim) {
		sim.SetListPageJSON(acctA, 1, `{"response":[`+listItems(1, 20)+`]}`)
		sim.SetListPageJSON(acctA, 2, `{"response":[`+listItems(21, 5)+`]}`)
	}

	for _, tc := range []struct {
		name     string
		setup    func(*testing.T, *teslatest.Sim)
		want     int
		requests int
		err      string
	}{
		{"generated pages", nil, 45, 3, ""},
		{"no count anywhere", short, 25, 2, ""},
		{"empty page 3 before the count", func(_ *testing.T, sim *teslatest.Sim) {
			sim.SetListPageJSON(acctA, 3, `{"response":[]}`)
		}, 0, 3, "after 40 of the 45"},
		{"short page 2 before the count", func(_ *testing.T, sim *teslatest.Sim) {
			sim.SetListPageJSON(acctA, 2, `{"response":[`+listItems(21, 5)+`]}`)
		}, 0, 2, "after 25 of the 45"},
		{"page 2 null", func(_ *testing.T, sim *teslatest.Sim) {
			sim.SetListPageJSON(acctA, 2, `{"response":null}`)
		}, 0, 2, "response is not a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, teslatest.Options{OmitPagination: true, Accounts: []string{acctA}}, specs...)
			if tc.setup != nil {
				tc.setup(t, sim)
			}

			c := newConn(t, sim, func(cfg *Config) { cfg.PageSize = 20 })
			seen, _, err := list(t.Context(), c)
			switch {
			case tc.err == "" && (err != nil || len(seen) != tc.want):
				t.Fatalf("Fleet = %d vehicles, %v; want %d", len(seen), err, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || len(seen) != 0):
				t.Fatalf("Fleet = %d vehicles, %v; want none and an error saying %q", len(seen), err, tc.err)
			}

			if n := requests(sim, epList); n != tc.requests {
				t.Errorf("listing requests = %d, want %d", n, tc.requests)
			}
		})
	}
}
