package hm_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const deleteEndpoint = "DELETE /v1/fleets/vehicles/{vin}"

func deactivate1(t *testing.T, e *env, vin oem.VIN) oem.Result {
	t.Helper()

	res, err := e.conn.Deactivate(t.Context(), []oem.VIN{vin})
	if err != nil {
		t.Fatalf("Deactivate %s: %v", vin, err)
	}

	if len(res) != 1 || res[0].VIN != vin {
		t.Fatalf("Deactivate %s: results %+v", vin, res)
	}

	return res[0]
}

// An approved clearance is revoked: revoking (deactivating), then revoked
// (inactive). Asking again while it is revoking is answered "in transition
// mode", which one look-up shows to be our own removal: success. Asking
// once it is revoked is "already removed": success too.
func TestDeactivateApproved(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	m := testVIN(wmiMercedes, 1)

	if r := deactivate1(t, e, m); r.Err != nil || r.Status != oem.StatusDeactivating || r.Raw != "revoking" {
		t.Errorf("first: %+v, want deactivating (revoking)", r)
	}

	if r := deactivate1(t, e, m); r.Err != nil || r.Status != oem.StatusDeactivating {
		t.Errorf("second, in transition: %+v, want deactivating without error", r)
	}

	if n := e.count("GET /v1/fleets/vehicles/{vin}"); n != 1 {
		t.Errorf("%d look-ups after the 409, want 1", n)
	}

	e.clock.Advance(time.Hour) // TransitionAfter
	if st, _ := e.sim.State(string(m)); st != "revoked" {
		t.Fatalf("sim state %q, want revoked", st)
	}

	if r := deactivate1(t, e, m); r.Err != nil || r.Status != oem.StatusInactive ||
		!strings.Contains(r.Reason, "already removed") {
		t.Errorf("after revoked: %+v, want inactive (already removed)", r)
	}
}

// CASES 23: a pending clearance can be cancelled only a day after it was
// created. Before that it stays pending deactivation with the reason and
// oem.ErrConflict, so the next run asks again; a day later it is canceled.
func TestDeactivateTooEarly(t *testing.T) {
	t.Parallel()

	sp := mercedes(1, "pending")
	sp.Outcome = simkit.OutcomePending // no consent comes
	e := newEnv(t, envOpt{}, sp)
	m := testVIN(wmiMercedes, 1)

	r := deactivate1(t, e, m)
	if r.Status != oem.StatusDeactivating || !errors.Is(r.Err, oem.ErrConflict) ||
		!strings.Contains(r.Reason, "could only be canceled after 1 day") {
		t.Fatalf("too early: %+v (%v), want deactivating, ErrConflict, the reason kept", r, r.Err)
	}

	if st, _ := e.sim.State(string(m)); st != "pending" {
		t.Fatalf("sim state %q, want still pending", st)
	}

	e.clock.Advance(23 * time.Hour)
	if r := deactivate1(t, e, m); !errors.Is(r.Err, oem.ErrConflict) {
		t.Fatalf("after 23 h: %+v, want still too early", r)
	}

	e.clock.Advance(time.Hour + time.Second)
	if r := deactivate1(t, e, m); r.Err != nil || r.Status != oem.StatusDeactivating || r.Raw != "canceling" {
		t.Fatalf("after a day: %+v, want deactivating (canceling)", r)
	}

	e.clock.Advance(time.Hour)
	if st, _ := e.sim.State(string(m)); st != "canceled" {
		t.Errorf("sim state %q, want canceled", st)
	}
}

// A brand that cannot cancel a pending clearance: oem.ErrNotSupported.
func TestDeactivateCancelNotSupported(t *testing.T) {
	t.Parallel()

	sp := kia(1, "pending")
	sp.Outcome = simkit.OutcomePending
	e := newEnv(t, envOpt{}, sp)
	e.clock.Advance(48 * time.Hour)

	r := deactivate1(t, e, testVIN(wmiKia, 1))
	if !errors.Is(r.Err, oem.ErrNotSupported) || r.Status != oem.StatusPending ||
		!strings.Contains(r.Reason, "cancellation is not supported") {
		t.Errorf("Kia: %+v (%v), want pending with ErrNotSupported", r, r.Err)
	}
}

// No clearance at all (404) is done: inactive.
func TestDeactivateUnknown(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{})
	if r := deactivate1(t, e, testVIN(wmiFord, 1)); r.Err != nil || r.Status != oem.StatusInactive {
		t.Errorf("unknown VIN: %+v, want inactive without error", r)
	}
}

// "in transition mode" while the clearance is not being removed (here it
// is moving to approved) is oem.ErrConflict: retry later.
func TestDeactivateTransitionNotOurs(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, ford(1, "pending"))
	e.sim.Server().AddFault(simkit.Fault{Endpoint: deleteEndpoint, Times: 1, Status: http.StatusConflict,
		Body: `{"errors":[{"detail":"Clearance is in transition mode","source":"vin","title":"Conflict"}]}`})

	r := deactivate1(t, e, testVIN(wmiFord, 1))
	if !errors.Is(r.Err, oem.ErrConflict) || r.Status != oem.StatusPending {
		t.Errorf("transition of a pending clearance: %+v (%v), want pending with ErrConflict", r, r.Err)
	}
}

// The bare-array error shape is read like the wrapped one.
func TestDeactivateBareArrayError(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{offSpec: true}, mercedes(1, "inactive"))
	e.sim.Server().AddFault(simkit.Fault{Endpoint: deleteEndpoint, Times: 1, Status: http.StatusConflict,
		Body: `[{"detail":"Clearance is already removed","source":"vin","title":"Conflict"}]`})

	if r := deactivate1(t, e, testVIN(wmiMercedes, 1)); r.Err != nil || r.Status != oem.StatusInactive {
		t.Errorf("bare-array 409 already removed: %+v, want inactive", r)
	}
}

// Several VINs at once, each with its own outcome, none failing the call.
func TestDeactivateMixed(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"), mercedes(2, "pending"), kia(3, "pending"),
		volvo(4, "inactive"))
	vins := []oem.VIN{testVIN(wmiMercedes, 1), testVIN(wmiMercedes, 2), testVIN(wmiKia, 3),
		testVIN(wmiVolvo, 4), testVIN(wmiFord, 5), "NOT-A-VIN"}

	res, err := e.conn.Deactivate(t.Context(), vins)
	if err != nil {
		t.Fatal(err)
	}

	got := byVIN(res)
	check := func(v oem.VIN, st oem.Status, kind error) {
		t.Helper()

		r := got[v]
		if r.Status != st || (kind == nil) != (r.Err == nil) || (kind != nil && !errors.Is(r.Err, kind)) {
			t.Errorf("%s: %+v (%v), want %s / %v", v, r, r.Err, st, kind)
		}
	}

	check(vins[0], oem.StatusDeactivating, nil)
	check(vins[1], oem.StatusDeactivating, oem.ErrConflict)
	check(vins[2], oem.StatusPending, oem.ErrNotSupported)
	check(vins[3], oem.StatusInactive, nil)
	check(vins[4], oem.StatusInactive, nil)
	check(vins[5], oem.StatusError, oem.ErrInvalidInput)

	if n := e.count(deleteEndpoint); n != 5 {
		t.Errorf("%d DELETE requests, want 5 (the bad VIN is never sent)", n)
	}
}
