package bmw_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw"
	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

func TestFleetResolution(t *testing.T) {
	t.Parallel()

	seed := func(e *env) {
		e.sim.Add(bev(vin(1), "active"))
		s := bev(vin(2), "active")
		s.Account = "Ayvens NV"
		e.sim.Add(s)
		s = bev(vin(3), "active")
		s.Account = "Ayvens"
		e.sim.Add(s)
		e.sim.Add(bev(vin(4), ""))
	}

	t.Run("by id", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		seed(e)
		got := list(t, t.Context(), e.connector(t))
		if len(got) != 1 || got[vin(1)].Account != bmwtest.DefaultFleetName {
			t.Errorf("listing by BMW_FLEET_ID = %+v, want only %s in %q", got, vin(1), bmwtest.DefaultFleetName)
		}
	})

	t.Run("by owner name, exact and case-insensitive", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		seed(e)
		c := e.connector(t, func(cfg *bmw.Config) { cfg.FleetID, cfg.FleetName = "", "  AYVENS " })
		got := list(t, t.Context(), c)
		if len(got) != 1 || got[vin(3)].Account != "Ayvens" {
			t.Fatalf("listing for owner AYVENS = %+v, want only %s in Ayvens (not Ayvens NV)", got, vin(3))
		}

		res := one(t)(c.Activate(t.Context(), []oem.VIN{vin(4)}))
		if st, _ := e.sim.State(string(vin(4))); res.Err != nil || st != "in_fleet:Ayvens" {
			t.Errorf("Activate = %+v, sim state %q; want it in Ayvens", res, st)
		}

		// The fleet is resolved once.
		list(t, t.Context(), c)
		if n := e.count(epFleets); n != 1 {
			t.Errorf("%d GET /fleet, want 1", n)
		}
	})

	t.Run("no match: clear error, nothing registered", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		seed(e)
		c := e.connector(t, func(cfg *bmw.Config) { cfg.FleetID, cfg.FleetName = "", "Arval" })

		_, _, err := listErr(t.Context(), c)
		if !errors.Is(err, bmw.ErrFleetNotFound) || !errors.Is(err, oem.ErrNotFound) {
			t.Fatalf("Fleet error = %v, want ErrFleetNotFound", err)
		}

		if !strings.Contains(err.Error(), `"Arval"`) || !strings.Contains(err.Error(), `"Ayvens NV"`) {
			t.Errorf("error %q should name the owner and the fleets there are", err)
		}

		res, err := c.Activate(t.Context(), []oem.VIN{vin(4)})
		if !errors.Is(err, bmw.ErrFleetNotFound) || len(res) != 0 {
			t.Fatalf("Activate = %+v, %v; want ErrFleetNotFound and no results", res, err)
		}

		if n := e.count(epCheck) + e.count(epRegister) + e.count(epAdd); n != 0 {
			t.Errorf("%d activation requests sent for a fleet that does not exist", n)
		}

		if st, _ := e.sim.State(string(vin(4))); st != "unregistered" {
			t.Errorf("sim state %q, want unregistered", st)
		}

		// A failed resolution is not kept: creating the fleet fixes it.
		e.sim.AddFleet("arval")
		if got := list(t, t.Context(), c); len(got) != 0 {
			t.Errorf("new fleet lists %d vehicles, want 0", len(got))
		}
	})

	t.Run("fleet id not in the account", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		seed(e)
		c := e.connector(t, func(cfg *bmw.Config) { cfg.FleetID = "fleet-that-is-gone" })
		_, err := c.Activate(t.Context(), []oem.VIN{vin(4)})
		if !errors.Is(err, bmw.ErrFleetNotFound) || !strings.Contains(err.Error(), "fleet-that-is-gone") {
			t.Fatalf("Activate error = %v, want ErrFleetNotFound naming the id", err)
		}

		if n := e.count(epRegister); n != 0 {
			t.Errorf("%d registrations", n)
		}
	})

	t.Run("neither id nor name", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		c := e.connector(t, func(cfg *bmw.Config) { cfg.FleetID = "" })
		if got := list(t, t.Context(), c); len(got) != 1 {
			t.Errorf("the only fleet lists %d vehicles, want 1", len(got))
		}

		e.sim.AddFleet("Second")
		c = e.connector(t, func(cfg *bmw.Config) { cfg.FleetID = "" })
		_, _, err := listErr(t.Context(), c)
		if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), "BMW_FLEET_NAME") {
			t.Errorf("two fleets, no choice: %v, want ErrInvalidInput saying what to set", err)
		}
	})

	t.Run("a fleet id beyond 2^53 survives exactly", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epFleets, Status: 200,
			Body: `{"fleets":[{"fleet_id":12345678901234567891,"name":"Big"}]}`})
		c := e.connector(t, func(cfg *bmw.Config) { cfg.FleetID, cfg.FleetName = "", "big" })
		_, _, err := listErr(t.Context(), c)
		if err == nil || !strings.Contains(err.Error(), "/fleet/12345678901234567891/vehicle") {
			t.Errorf("Fleet error = %v, want the exact id in the listing path", err)
		}
	})

	t.Run("GET /fleet fails", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epFleets, Status: 503, Body: simkit.HTMLBody})
		_, err := e.connector(t).Activate(t.Context(), []oem.VIN{vin(4)})
		if !errors.Is(err, oem.ErrTransient) {
			t.Errorf("Activate = %v, want ErrTransient", err)
		}

		if n := e.count(epFleets); n != 3 {
			t.Errorf("%d GET /fleet, want 3 (two retries)", n)
		}
	})
}

func TestListing(t *testing.T) {
	t.Parallel()

	t.Run("pages followed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{PageSize: 2})
		for i := 1; i <= 5; i++ {
			e.sim.Add(bev(vin(i), "active"))
		}

		got := list(t, t.Context(), e.connector(t))
		if len(got) != 5 {
			t.Errorf("listed %d vehicles, want 5", len(got))
		}

		for i := 1; i <= 5; i++ {
			o := got[vin(i)]
			if o.Status != oem.StatusActive || o.Raw != "in_fleet" || !o.ChangedAt.Equal(t0) {
				t.Errorf("%s: %+v, want active since %s", vin(i), o, t0)
			}
		}

		if n := e.count(epList); n != 3 {
			t.Errorf("%d page requests, want 3", n)
		}
	})

	t.Run("exactly a full page", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{PageSize: 2})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"))
		if got := list(t, t.Context(), e.connector(t)); len(got) != 2 {
			t.Errorf("listed %d, want 2", len(got))
		}
	})

	t.Run("a repeated link is an error, not a loop", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{PageSize: 2, RepeatNext: true})
		for i := 1; i <= 5; i++ {
			e.sim.Add(bev(vin(i), "active"))
		}

		recs, _, err := listErr(t.Context(), e.connector(t))
		if err == nil || !strings.Contains(err.Error(), "links back") || len(recs) != 0 {
			t.Fatalf("Fleet = %d records, %v; want no records and a repeated-link error", len(recs), err)
		}

		if n := e.count(epList); n != 2 {
			t.Errorf("%d page requests, want 2", n)
		}
	})

	t.Run("an error on a later page fails the listing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{PageSize: 2})
		for i := 1; i <= 7; i++ {
			e.sim.Add(bev(vin(i), "active"))
		}

		c := e.connector(t, func(cfg *bmw.Config) {
			cfg.Transport = failingPages{page: "3", next: http.DefaultTransport}
		})
		recs, _, err := listErr(t.Context(), c)
		if !errors.Is(err, oem.ErrTransient) || len(recs) != 0 {
			t.Fatalf("Fleet = %d records, %v; want none and a transient error", len(recs), err)
		}

		if !strings.Contains(err.Error(), "page 3") {
			t.Errorf("error %q does not say which page", err)
		}
	})

	t.Run("a next link to another host is refused", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: 200,
			Body: fmt.Sprintf(`{"vehicles":[{"vin":%q}],"next":"http://127.0.0.2:9/fleet/x/vehicle?page=2"}`, vin(1))})
		_, _, err := listErr(t.Context(), e.connector(t))
		if err == nil || !strings.Contains(err.Error(), "another host") {
			t.Errorf("Fleet error = %v, want a refused next link", err)
		}
	})

	t.Run("odd records", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		v1, v2 := vin(1), vin(2)
		body := fmt.Sprintf(`{"vehicles":[
			{"vin":" %s ","added_to_fleet":"2024-05-01T10:00:00.000+0000","licence_plate":null,"note":null,"contract":null},
			{"vin":"WBA-NOT-A-VIN","added_to_fleet":null},
			{"vin":%q,"added_to_fleet":null,"contract":{"end_date":null}},
			{"vin":%q,"added_to_fleet":"2025-01-02T03:04:05.000+0000"}
		]}`, strings.ToLower(string(v1)), v2, v2)
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: 200, Body: body})

		recs, verrs, err := listErr(t.Context(), e.connector(t))
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		if len(recs) != 2 || len(verrs) != 1 {
			t.Fatalf("%d records and %d vehicle errors, want 2 and 1: %+v %v", len(recs), len(verrs), recs, verrs)
		}

		if recs[0].VIN != v1 || !recs[0].ChangedAt.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("first record %+v, want %s added 2024-05-01 10:00 UTC", recs[0], v1)
		}

		if recs[1].VIN != v2 || !recs[1].ChangedAt.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("duplicate VIN: kept %+v, want the newer record", recs[1])
		}

		if ve, _ := oem.AsVehicleError(verrs[0]); ve.VIN != "WBA-NOT-A-VIN" || !errors.Is(ve, oem.ErrInvalidInput) {
			t.Errorf("vehicle error %v, want the bad VIN as invalid input", verrs[0])
		}
	})

	t.Run("broken answers", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{`{}`, simkit.MalformedJSON, simkit.HTMLBody, `{"vehicles":{"vin":"x"}}`} {
			e := newEnv(t, bmwtest.Options{})
			e.sim.Add(bev(vin(1), "active"))
			e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: 200, Body: body})
			recs, _, err := listErr(t.Context(), e.connector(t))
			if err == nil || len(recs) != 0 {
				t.Errorf("answer %q: %d records, %v; want an error and no records", body, len(recs), err)
			}
		}
	})

	t.Run("5xx then success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 2, Status: 502, Body: simkit.HTMLBody})
		if got := list(t, t.Context(), e.connector(t)); len(got) != 1 {
			t.Errorf("listed %d, want 1", len(got))
		}

		if n := e.count(epList); n != 3 {
			t.Errorf("%d listing requests, want 3", n)
		}
	})

	t.Run("connection reset then success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 1, Reset: true})
		if got := list(t, t.Context(), e.connector(t)); len(got) != 1 {
			t.Errorf("listed %d, want 1", len(got))
		}
	})

	t.Run("rate limited throughout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epList, RateLimited: true})
		_, _, err := listErr(t.Context(), e.connector(t))
		if !errors.Is(err, oem.ErrRateLimited) {
			t.Errorf("Fleet = %v, want ErrRateLimited", err)
		}

		if n := e.count(epList); n != 3 {
			t.Errorf("%d listing requests, want 3 (bounded)", n)
		}
	})
}
