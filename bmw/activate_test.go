package bmw_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

func TestActivate(t *testing.T) {
	t.Parallel()

	t.Run("new vehicle: check, register, add", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""))
		c := e.connector(t)

		r := one(t)(c.Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusActive || r.VIN != vin(1) {
			t.Fatalf("Activate = %+v, want active", r)
		}

		for ep, want := range map[string]int{epGet: 1, epCheck: 1, epRegister: 1, epAdd: 1} {
			if n := e.count(ep); n != want {
				t.Errorf("%s sent %d times, want %d", ep, n, want)
			}
		}

		if st, _ := e.sim.State(string(vin(1))); st != "in_fleet:"+bmwtest.DefaultFleetName {
			t.Errorf("sim state %q", st)
		}

		// Done already: one look-up, nothing else.
		r = one(t)(c.Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusActive {
			t.Errorf("second Activate = %+v, want active", r)
		}

		if e.count(epGet) != 2 || e.count(epRegister) != 1 || e.count(epCheck) != 1 {
			t.Errorf("second Activate sent more than a look-up: %v", e.sim.Server().Counters.Snapshot())
		}

		if got := list(t, t.Context(), c); got[vin(1)].Status != oem.StatusActive {
			t.Errorf("Fleet after Activate: %+v", got[vin(1)])
		}
	})

	t.Run("an eligibility check just made is not asked again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""))
		c := e.connector(t)

		els, err := c.CheckEligibility(t.Context(), []oem.VIN{vin(1)})
		if err != nil || len(els) != 1 || !els[0].Eligible {
			t.Fatalf("CheckEligibility = %+v, %v", els, err)
		}

		r := one(t)(c.Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusActive {
			t.Fatalf("Activate = %+v, want active", r)
		}

		if n := e.count(epCheck); n != 1 {
			t.Errorf("vin-checker asked %d times for one activation, want 1 (every call is billed)", n)
		}
	})

	t.Run("registered but not in the fleet is finished", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "pending"))
		r := one(t)(e.connector(t).Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusActive {
			t.Fatalf("Activate = %+v, want active", r)
		}

		if e.count(epCheck) != 0 || e.count(epRegister) != 0 || e.count(epAdd) != 1 {
			t.Errorf("finishing a half-done activation sent %v", e.sim.Server().Counters.Snapshot())
		}
	})

	t.Run("already exists and already in the fleet are success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "pending"))
		// The look-up misses them, so the connector registers: 403
		// BMWFD_VEHICLE_ALREADY_EXISTS, then the addition: 422 for the one
		// in the fleet already.
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epGet, Times: 2, Status: 404,
			Body: `{"logErrorId":"BMWFD_VEHICLE_NOT_FOUND"}`})

		res, err := e.connector(t).Activate(t.Context(), []oem.VIN{vin(1), vin(2)})
		if err != nil || len(res) != 2 {
			t.Fatalf("Activate = %+v, %v", res, err)
		}

		for _, r := range res {
			if r.Err != nil || r.Status != oem.StatusActive {
				t.Errorf("%s: %+v, want active", r.VIN, r)
			}
		}

		if e.count(epRegister) != 2 || e.count(epAdd) != 2 {
			t.Errorf("requests %v", e.sim.Server().Counters.Snapshot())
		}

		for _, v := range []oem.VIN{vin(1), vin(2)} {
			if st, _ := e.sim.State(string(v)); st != "in_fleet:"+bmwtest.DefaultFleetName {
				t.Errorf("%s: sim state %q", v, st)
			}
		}
	})

	t.Run("ineligible by the vin-checker: no registration", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		s := bev(vin(1), "")
		s.Outcome = simkit.OutcomeIneligible
		e.sim.Add(s)

		r := one(t)(e.connector(t).Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Status != oem.StatusIneligible || !errors.Is(r.Err, oem.ErrPermissionDenied) ||
			!strings.Contains(r.Reason, "extended_capability") {
			t.Errorf("Activate = %+v, want ineligible with the vin-checker's reason", r)
		}

		if n := e.count(epRegister); n != 0 {
			t.Errorf("%d registrations of an ineligible vehicle", n)
		}
	})

	t.Run("412 BMWFD_VEHICLE_NOT_ALLOWED is ineligible", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		s := bev(vin(1), "")
		s.Outcome, s.Reason = simkit.OutcomeReject, "head unit ATM1 not supported"
		e.sim.Add(s)

		r := one(t)(e.connector(t).Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Status != oem.StatusIneligible || r.Raw != "BMWFD_VEHICLE_NOT_ALLOWED" ||
			!errors.Is(r.Err, oem.ErrPermissionDenied) || !strings.Contains(r.Reason, "ATM1") {
			t.Errorf("Activate = %+v, want ineligible naming the head unit", r)
		}

		if n := e.count(epAdd); n != 0 {
			t.Errorf("%d fleet additions after a refused registration", n)
		}
	})

	t.Run("a failed addition leaves it pending, the next run finishes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epAdd, Status: 500, Body: `{"message":"Internal"}`})
		c := e.connector(t)

		r := one(t)(c.Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Status != oem.StatusPending || !errors.Is(r.Err, oem.ErrTransient) {
			t.Fatalf("Activate = %+v, want pending with a transient error", r)
		}

		if ve, ok := oem.AsVehicleError(r.Err); !ok || ve.VIN != vin(1) {
			t.Errorf("Err = %v, want a *oem.VehicleError for %s", r.Err, vin(1))
		}

		if st, _ := e.sim.State(string(vin(1))); st != "registered" {
			t.Errorf("sim state %q, want registered", st)
		}

		e.sim.Server().ClearFaults()
		r = one(t)(c.Activate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusActive {
			t.Fatalf("second Activate = %+v, want active", r)
		}

		if e.count(epRegister) != 1 || e.count(epCheck) != 1 {
			t.Errorf("the second run asked again: %v", e.sim.Server().Counters.Snapshot())
		}
	})

	t.Run("a quota 403 is not an auth failure", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""), bev(vin(2), ""))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epRegister, Times: 1, Status: 403,
			Body: `{"code":"CU-429","message":"API quota exceeded"}`})

		res, err := e.connector(t).Activate(t.Context(), []oem.VIN{vin(1), vin(2)})
		if err != nil || len(res) != 2 {
			t.Fatalf("Activate = %+v, %v", res, err)
		}

		if !errors.Is(res[0].Err, oem.ErrQuotaExhausted) || errors.Is(res[0].Err, oem.ErrAuth) {
			t.Errorf("%s: %v, want quota exhausted", res[0].VIN, res[0].Err)
		}

		if res[1].Err != nil || res[1].Status != oem.StatusActive {
			t.Errorf("%s: %+v, want active", res[1].VIN, res[1])
		}

		if n := e.count(epLogin); n != 1 {
			t.Errorf("%d logins, want 1", n)
		}
	})

	t.Run("rate limited: that vehicle only", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""), bev(vin(2), ""))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epCheck, Times: 3, RateLimited: true})

		res, err := e.connector(t).Activate(t.Context(), []oem.VIN{vin(1), vin(2)})
		if err != nil || len(res) != 2 {
			t.Fatalf("Activate = %+v, %v", res, err)
		}

		if !errors.Is(res[0].Err, oem.ErrRateLimited) || res[0].VIN != vin(1) {
			t.Errorf("%s: %+v, want rate limited", res[0].VIN, res[0])
		}

		if res[1].Err != nil || res[1].Status != oem.StatusActive {
			t.Errorf("%s: %+v, want active", res[1].VIN, res[1])
		}
	})

	t.Run("duplicates give one result", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), ""))
		res, err := e.connector(t).Activate(t.Context(), []oem.VIN{vin(1), vin(1)})
		if err != nil || len(res) != 1 || e.count(epRegister) != 1 {
			t.Errorf("Activate twice the same VIN = %+v, %v; %d registrations", res, err, e.count(epRegister))
		}
	})
}

func TestCheckEligibility(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	old := bev(vin(2), "")
	old.Outcome = simkit.OutcomeIneligible
	e.sim.Add(bev(vin(1), ""), old)
	var c oem.EligibilityChecker = e.connector(t)
	got, err := c.CheckEligibility(t.Context(), []oem.VIN{vin(1), vin(2)})
	if err != nil || len(got) != 2 {
		t.Fatalf("CheckEligibility = %+v, %v", got, err)
	}

	if !got[0].Eligible || got[0].Err != nil {
		t.Errorf("%s: %+v, want eligible", vin(1), got[0])
	}

	if got[1].Eligible || got[1].Err != nil || !strings.Contains(got[1].Reason, "head unit") {
		t.Errorf("%s: %+v, want ineligible because of the head unit", vin(2), got[1])
	}

	e.sim.Server().AddFault(simkit.Fault{Endpoint: epCheck, Status: 200, Times: 1,
		Body: `{"extended_capability":null}`})
	got, err = c.CheckEligibility(t.Context(), []oem.VIN{vin(1)})
	if err != nil || len(got) != 1 || got[0].Err == nil {
		t.Errorf("an answer without extended_capability = %+v, %v; want a per-vehicle error", got, err)
	}
}

func TestDeactivate(t *testing.T) {
	t.Parallel()

	t.Run("delete then gone", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		c := e.connector(t)

		r := one(t)(c.Deactivate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusInactive {
			t.Fatalf("Deactivate = %+v, want inactive", r)
		}

		if e.count(epDelete) != 1 || e.count(epGet) != 1 {
			t.Errorf("requests %v", e.sim.Server().Counters.Snapshot())
		}

		if st, _ := e.sim.State(string(vin(1))); st != "unregistered" {
			t.Errorf("sim state %q", st)
		}

		// Already removed: one DELETE answering 404, success.
		r = one(t)(c.Deactivate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusInactive || e.count(epGet) != 1 {
			t.Errorf("second Deactivate = %+v", r)
		}
	})

	t.Run("still there after the delete", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{DeleteDelay: time.Hour})
		e.sim.Add(bev(vin(1), "active"))
		c := e.connector(t)

		r := one(t)(c.Deactivate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusDeactivating || !strings.Contains(r.Reason, "still knows") {
			t.Fatalf("Deactivate = %+v, want deactivating with a reason", r)
		}

		e.clock.Advance(2 * time.Hour)
		r = one(t)(c.Deactivate(t.Context(), []oem.VIN{vin(1)}))
		if r.Err != nil || r.Status != oem.StatusInactive {
			t.Errorf("later Deactivate = %+v, want inactive", r)
		}
	})

	t.Run("failure is per vehicle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epDelete, Times: 3, Status: 503, Body: simkit.HTMLBody})

		res, err := e.connector(t).Deactivate(t.Context(), []oem.VIN{vin(1), vin(2)})
		if err != nil || len(res) != 2 {
			t.Fatalf("Deactivate = %+v, %v", res, err)
		}

		if !errors.Is(res[0].Err, oem.ErrTransient) || !strings.Contains(res[0].Err.Error(), "Bad Gateway") {
			t.Errorf("%s: %v, want a transient error with the page's snippet", res[0].VIN, res[0].Err)
		}

		if res[1].Err != nil || res[1].Status != oem.StatusInactive {
			t.Errorf("%s: %+v", res[1].VIN, res[1])
		}
	})
}

// The wanted fleet's plate, owner and contract end go with the
// registration (oem.EntryUser), as the old module sent them.
func TestActivateSendsFleetDetails(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	e.sim.Add(bev(vin(1), ""), bev(vin(2), ""))
	c := e.connector(t)

	end := time.Date(2027, 4, 3, 0, 0, 0, 0, time.UTC)
	if err := c.UseEntries([]oem.FleetEntry{{VIN: vin(1), Owner: "Ayvens", LicencePlate: "AB-123-CD", EndDate: end}}); err != nil {
		t.Fatal(err)
	}

	res, err := c.Activate(t.Context(), []oem.VIN{vin(1), vin(2)})
	if err != nil || len(res) != 2 {
		t.Fatalf("Activate = %+v, %v", res, err)
	}

	plate, note, contractEnd, ok := e.sim.Record(string(vin(1)))
	if !ok || plate != "AB-123-CD" || note != "Ayvens" || contractEnd != "2027-04-03" {
		t.Errorf("record = %q %q %q %v", plate, note, contractEnd, ok)
	}

	// A VIN the fleet says nothing of is registered with the VIN alone.
	if plate, note, contractEnd, ok := e.sim.Record(string(vin(2))); !ok || plate != "" || note != "" || contractEnd != "" {
		t.Errorf("bare record = %q %q %q %v", plate, note, contractEnd, ok)
	}
}
