package activation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func vinN(i int) oem.VIN {
	return oem.MustParseVIN(fmt.Sprintf("WBA00000000%06d", i)).WithCheckDigit()
}

func days(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

func observed(st oem.Status, changed time.Time) *oem.Observed {
	return &oem.Observed{Status: st, Raw: "raw-" + string(st), ChangedAt: changed}
}

func stored(st oem.Status, changed time.Time) *oem.Vehicle {
	return &oem.Vehicle{Status: st, StatusChangedAt: changed}
}

func TestPlanEveryCombination(t *testing.T) {
	t.Parallel()

	no := false
	tests := []struct {
		name     string
		want     bool
		obs      *oem.Observed
		stored   *oem.Vehicle
		eligible *bool
		action   oem.Action
	}{
		// Wanted, by the status the OEM lists.
		{"wanted active", true, observed(oem.StatusActive, days(3)), nil, nil, oem.ActionKeep},
		{"wanted pending", true, observed(oem.StatusPending, days(9)), nil, nil, oem.ActionWait},
		{"wanted deactivating", true, observed(oem.StatusDeactivating, days(1)), nil, nil,
			oem.ActionWait},
		{"wanted inactive", true, observed(oem.StatusInactive, days(1)), nil, nil,
			oem.ActionActivate},
		{"wanted rejected recently", true, observed(oem.StatusRejected, days(2)), nil, nil,
			oem.ActionCooldown},
		{"wanted rejected long ago", true, observed(oem.StatusRejected, days(8)), nil, nil,
			oem.ActionActivate},
		{"wanted rejected, no change time", true, observed(oem.StatusRejected, time.Time{}),
			nil, nil, oem.ActionCooldown},
		{"wanted rejected, stored change time", true,
			observed(oem.StatusRejected, time.Time{}), stored(oem.StatusRejected, days(8)), nil,
			oem.ActionActivate},
		{"wanted ineligible recently", true, observed(oem.StatusIneligible, days(29)), nil, nil,
			oem.ActionCooldown},
		{"wanted ineligible long ago", true, observed(oem.StatusIneligible, days(31)), nil, nil,
			oem.ActionActivate},
		{"wanted error at the OEM recently", true, observed(oem.StatusError, days(1)), nil, nil,
			oem.ActionCooldown},
		{"wanted error at the OEM long ago", true, observed(oem.StatusError, days(10)), nil,
			nil, oem.ActionActivate},
		{"wanted listed inactive, stored ineligible recently", true,
			observed(oem.StatusInactive, days(0)), stored(oem.StatusIneligible, days(3)), nil,
			oem.ActionCooldown},
		{"wanted listed inactive, stored rejected recently", true,
			observed(oem.StatusInactive, days(0)), stored(oem.StatusRejected, days(3)), nil,
			oem.ActionCooldown},
		{"wanted listed inactive, stored ineligible long ago", true,
			observed(oem.StatusInactive, days(0)), stored(oem.StatusIneligible, days(40)), nil,
			oem.ActionActivate},
		{"wanted unknown", true, observed(oem.StatusUnknown, days(1)), nil, nil, oem.ActionKeep},
		{"wanted inactive, fleet says not eligible", true, observed(oem.StatusInactive, days(1)),
			nil, &no, oem.ActionKeep},

		// Wanted, not listed.
		{"wanted never seen", true, nil, nil, nil, oem.ActionActivate},
		{"wanted not listed, stored active", true, nil, stored(oem.StatusActive, days(5)), nil,
			oem.ActionKeep},
		{"wanted not listed, stored pending", true, nil, stored(oem.StatusPending, days(5)),
			nil, oem.ActionWait},
		{"wanted not listed, stored inactive", true, nil, stored(oem.StatusInactive, days(5)),
			nil, oem.ActionActivate},
		{"wanted not listed, stored rejected recently", true, nil,
			stored(oem.StatusRejected, days(1)), nil, oem.ActionCooldown},
		{"wanted not listed, stored ineligible recently", true, nil,
			stored(oem.StatusIneligible, days(1)), nil, oem.ActionCooldown},
		{"wanted not listed, stored error", true, nil, stored(oem.StatusError, days(0)), nil,
			oem.ActionActivate},
		{"wanted not listed, stored deactivating", true, nil,
			stored(oem.StatusDeactivating, days(1)), nil, oem.ActionActivate},
		{"wanted not listed, stored unknown", true, nil, stored(oem.StatusUnknown, days(1)),
			nil, oem.ActionActivate},

		// Unwanted, by the status the OEM lists.
		{"unwanted active", false, observed(oem.StatusActive, days(1)), nil, nil,
			oem.ActionDeactivate},
		{"unwanted pending", false, observed(oem.StatusPending, days(1)), nil, nil,
			oem.ActionDeactivate},
		{"unwanted deactivating", false, observed(oem.StatusDeactivating, days(1)), nil, nil,
			oem.ActionWait},
		{"unwanted inactive", false, observed(oem.StatusInactive, days(1)), nil, nil,
			oem.ActionKeep},
		{"unwanted rejected", false, observed(oem.StatusRejected, days(1)), nil, nil,
			oem.ActionKeep},
		{"unwanted ineligible", false, observed(oem.StatusIneligible, days(1)), nil, nil,
			oem.ActionKeep},
		{"unwanted error", false, observed(oem.StatusError, days(1)), nil, nil, oem.ActionKeep},
		{"unwanted unknown", false, observed(oem.StatusUnknown, days(1)), nil, nil,
			oem.ActionKeep},
		// CASES 23: our deactivation was refused as too early; the OEM still
		// lists the vehicle pending, so it is tried again.
		{"unwanted pending, stored deactivating", false, observed(oem.StatusPending, days(1)),
			stored(oem.StatusDeactivating, days(1)), nil, oem.ActionDeactivate},

		// Unwanted, not listed.
		{"unwanted never seen", false, nil, nil, nil, oem.ActionKeep},
		{"unwanted not listed, stored active", false, nil, stored(oem.StatusActive, days(1)),
			nil, oem.ActionDeactivate},
		{"unwanted not listed, stored deactivating", false, nil,
			stored(oem.StatusDeactivating, days(1)), nil, oem.ActionDeactivate},
		{"unwanted not listed, stored inactive", false, nil,
			stored(oem.StatusInactive, days(1)), nil, oem.ActionKeep},
		{"unwanted not listed, stored rejected", false, nil,
			stored(oem.StatusRejected, days(1)), nil, oem.ActionKeep},
	}

	a := activation.New(activation.Config{})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			v := vinN(i)
			c := oem.Candidate{
				Entry:  oem.FleetEntry{VIN: v, WantActive: tc.want, Eligible: tc.eligible},
				Stored: tc.stored,
			}
			if tc.obs != nil {
				o := *tc.obs
				o.VIN = v
				c.Observed = &o
			}

			p, err := a.Plan(t.Context(), oem.PlanInput{Connector: "bmw", Now: now,
				Candidates: []oem.Candidate{c}})
			if err != nil {
				t.Fatal(err)
			}

			if len(p.Items) != 1 {
				t.Fatalf("plan has %d items, want 1", len(p.Items))
			}

			it := p.Items[0]
			if it.VIN != v || it.Action != tc.action {
				t.Errorf("plan = %s %s (%s), want %s", it.VIN, it.Action, it.Reason, tc.action)
			}

			if it.Status != c.CurrentStatus() {
				t.Errorf("item status = %q, want the current %q", it.Status, c.CurrentStatus())
			}

			if it.Reason == "" {
				t.Error("item has no reason")
			}
		})
	}
}

func activations(n int) []oem.Candidate {
	out := make([]oem.Candidate, n)
	for i := range out {
		out[i] = oem.Candidate{Entry: oem.FleetEntry{VIN: vinN(i), WantActive: true}}
	}

	return out
}

func TestPlanCap(t *testing.T) {
	t.Parallel()

	a := activation.New(activation.Config{MaxActivations: 2, Caps: map[string]int{"hm": 5}})

	p, err := a.Plan(t.Context(), oem.PlanInput{Connector: "bmw", Now: now,
		Candidates: activations(3)})

	var capErr *oem.ActivationCapError
	if !errors.As(err, &capErr) || !errors.Is(err, oem.ErrActivationCap) {
		t.Fatalf("Plan over the cap = %v, want an *oem.ActivationCapError", err)
	}

	if capErr.Count != 3 || capErr.Cap != 2 || capErr.Connector != "bmw" {
		t.Errorf("cap error = %+v, want bmw, 3 over 2", capErr)
	}

	if p == nil || p.Counts()[oem.ActionActivate] != 3 {
		t.Errorf("the refused plan is not returned for reporting: %+v", p)
	}

	if _, err := a.Plan(t.Context(), oem.PlanInput{Connector: "hm", Now: now,
		Candidates: activations(5)}); err != nil {
		t.Errorf("per-connector cap of 5 refused 5 activations: %v", err)
	}

	if _, err := a.Plan(t.Context(), oem.PlanInput{Connector: "bmw", Now: now,
		Candidates: activations(2)}); err != nil {
		t.Errorf("2 activations under a cap of 2 refused: %v", err)
	}

	def := activation.New(activation.Config{})
	if got := def.Cap("tesla"); got != 5000 {
		t.Errorf("default cap = %d, want 5000", got)
	}

	none := activation.New(activation.Config{MaxActivations: -1})
	if _, err := none.Plan(t.Context(), oem.PlanInput{Connector: "bmw", Now: now,
		Candidates: activations(6000)}); err != nil {
		t.Errorf("no cap refused a plan: %v", err)
	}
}

// applyAll runs Apply and collects the outcomes by VIN.
func applyAll(t *testing.T, ctx context.Context, c oem.Connector, p *oem.Plan,
	o oem.ApplyOptions) (map[oem.VIN]oem.Outcome, error) {
	t.Helper()

	out := map[oem.VIN]oem.Outcome{}
	err := activation.New(activation.Config{}).Apply(ctx, c, p, o, func(batch []oem.Outcome) {
		for _, oc := range batch {
			if _, dup := out[oc.VIN]; dup {
				t.Errorf("two outcomes for %s", oc.VIN)
			}

			out[oc.VIN] = oc
		}
	})

	return out, err
}

func plan(items ...oem.PlanItem) *oem.Plan { return &oem.Plan{Connector: "fake", Items: items} }

func TestApplyResults(t *testing.T) {
	t.Parallel()

	var (
		newVIN      = vinN(1) // never had a status; activation succeeds
		already     = vinN(2) // already pending at the OEM: "already done"
		failing     = vinN(3) // per-vehicle quota failure, stored inactive
		failingNew  = vinN(4) // per-vehicle failure, never had a status
		ineligible  = vinN(5) // the eligibility check says no
		tooEarly    = vinN(6) // deactivation refused for now
		deactivated = vinN(7) // deactivation succeeds
		keep        = vinN(8) // planned keep: not touched
	)

	f := oemtest.NewFake("fake").
		SetStatus(already, oem.StatusPending).
		SetStatus(failing, oem.StatusInactive).
		SetStatus(tooEarly, oem.StatusPending).
		SetStatus(deactivated, oem.StatusActive).
		SetStatus(keep, oem.StatusActive).
		SetEligibility(ineligible, false, "model year too old").
		FailVehicle(oemtest.MethodActivate, failing, oem.ErrQuotaExhausted).
		FailVehicle(oemtest.MethodActivate, failingNew, oem.ErrTransient).
		FailVehicle(oemtest.MethodDeactivate, tooEarly,
			fmt.Errorf("pending can be cancelled after 1 day: %w", oem.ErrConflict))

	p := plan(
		oem.PlanItem{VIN: newVIN, Action: oem.ActionActivate},
		oem.PlanItem{VIN: already, Action: oem.ActionActivate, Status: oem.StatusInactive},
		oem.PlanItem{VIN: failing, Action: oem.ActionActivate, Status: oem.StatusInactive},
		oem.PlanItem{VIN: failingNew, Action: oem.ActionActivate},
		oem.PlanItem{VIN: ineligible, Action: oem.ActionActivate, Status: oem.StatusInactive},
		oem.PlanItem{VIN: tooEarly, Action: oem.ActionDeactivate, Status: oem.StatusPending},
		oem.PlanItem{VIN: deactivated, Action: oem.ActionDeactivate, Status: oem.StatusActive},
		oem.PlanItem{VIN: keep, Action: oem.ActionKeep, Status: oem.StatusActive},
	)

	var rc oem.RequestCounter
	ctx := oem.WithRequestCounter(t.Context(), &rc)
	got, err := applyAll(t, ctx, f.Connector(), p, oem.ApplyOptions{BatchSize: 2,
		Concurrency: 2, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	want := map[oem.VIN]struct {
		st  oem.Status
		err error
	}{
		newVIN:      {oem.StatusPending, nil},
		already:     {oem.StatusPending, nil},
		failing:     {oem.StatusInactive, oem.ErrQuotaExhausted},
		failingNew:  {oem.StatusError, oem.ErrTransient},
		ineligible:  {oem.StatusIneligible, nil},
		tooEarly:    {oem.StatusDeactivating, oem.ErrConflict},
		deactivated: {oem.StatusInactive, nil},
	}

	if len(got) != len(want) {
		t.Errorf("%d outcomes, want %d: %v", len(got), len(want), got)
	}

	for vin, w := range want {
		o := got[vin]
		if o.Status != w.st || !errors.Is(o.Err, w.err) || (w.err == nil) != (o.Err == nil) {
			t.Errorf("%s: outcome %s (%v), want %s (%v)", vin, o.Status, o.Err, w.st, w.err)
		}

		if !o.At.Equal(now) {
			t.Errorf("%s: outcome at %s, want the injected clock", vin, o.At)
		}
	}

	if r := got[ineligible].Reason; r != "model year too old" {
		t.Errorf("ineligible reason = %q", r)
	}

	if r := got[tooEarly].Reason; r == "" {
		t.Error("too-early deactivation has no reason")
	}

	if f.VINCalls(oemtest.MethodActivate, ineligible) != 0 {
		t.Error("an ineligible vehicle was activated")
	}

	if f.VINCalls(oemtest.MethodActivate, keep)+f.VINCalls(oemtest.MethodDeactivate, keep) != 0 {
		t.Error("a vehicle planned keep was acted on")
	}

	// 5 to check in batches of 2, 4 eligible to activate, 2 to deactivate.
	wantReq := map[oem.RequestKind]int64{
		oem.RequestEligibility: 3, oem.RequestActivation: 2, oem.RequestDeactivation: 1,
	}
	for k, n := range wantReq {
		if got := rc.Get(k); got != n {
			t.Errorf("%s requests = %d, want %d", k, got, n)
		}
	}
}

func TestApplyBatchesAndConcurrency(t *testing.T) {
	t.Parallel()

	const n, batch, workers = 25, 4, 3
	var (
		mu      sync.Mutex
		started int
		full    = make(chan struct{})
	)

	// The first calls wait until all workers are busy, so the test sees
	// the bound reached without sleeping.
	f := oemtest.NewFake("fake").OnCall(oemtest.MethodActivate,
		func(ctx context.Context, _ []oem.VIN) {
			mu.Lock()
			started++
			if started == workers {
				close(full)
			}
			mu.Unlock()

			select {
			case <-full:
			case <-ctx.Done():
			}
		})

	var items []oem.PlanItem
	for i := range n {
		items = append(items, oem.PlanItem{VIN: vinN(i), Action: oem.ActionActivate})
	}

	got, err := applyAll(t, t.Context(), f, plan(items...),
		oem.ApplyOptions{BatchSize: batch, Concurrency: workers})
	if err != nil {
		t.Fatal(err)
	}

	if len(got) != n {
		t.Errorf("%d outcomes, want %d", len(got), n)
	}

	if f.MaxBatch(oemtest.MethodActivate) != batch {
		t.Errorf("largest batch %d, want %d", f.MaxBatch(oemtest.MethodActivate), batch)
	}

	if m := f.MaxInFlight(oemtest.MethodActivate); m != workers {
		t.Errorf("at most %d calls in flight, want %d", m, workers)
	}

	if c := f.Calls(oemtest.MethodActivate); c != 7 {
		t.Errorf("%d activation calls, want 7 (25 in batches of 4)", c)
	}

	requested := f.Requested(oemtest.MethodActivate)
	if len(requested) != n || !slices.IsSorted(requested) {
		t.Errorf("requested %d VINs, want %d", len(requested), n)
	}
}

func TestApplyWholeCallFailureAndPanic(t *testing.T) {
	t.Parallel()

	f := oemtest.NewFake("fake").FailCall(oemtest.MethodDeactivate, fmt.Errorf("down: %w",
		oem.ErrUnavailable))
	p := plan(
		oem.PlanItem{VIN: vinN(1), Action: oem.ActionActivate},
		oem.PlanItem{VIN: vinN(2), Action: oem.ActionDeactivate, Status: oem.StatusActive},
	)

	got, err := applyAll(t, t.Context(), f, p, oem.ApplyOptions{})
	if err != nil {
		t.Fatalf("a failed batch failed Apply: %v", err)
	}

	if o := got[vinN(1)]; o.Status != oem.StatusPending || o.Err != nil {
		t.Errorf("activation beside a failing deactivation: %s %v", o.Status, o.Err)
	}

	if o := got[vinN(2)]; o.Status != oem.StatusActive || !errors.Is(o.Err, oem.ErrUnavailable) {
		t.Errorf("failed deactivation: %s %v, want active kept and the error", o.Status, o.Err)
	}

	f.Panic(oemtest.MethodActivate, "connector bug")
	_, err = applyAll(t, t.Context(), f, p, oem.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "panicked: connector bug") {
		t.Errorf("a panicking connector gave %v, want an error naming the panic", err)
	}
}

func TestApplyCancelled(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The first batch succeeds; the run is cancelled as the second call
	// starts.
	f := oemtest.NewFake("fake")
	calls := 0
	var mu sync.Mutex
	f.OnCall(oemtest.MethodActivate, func(context.Context, []oem.VIN) {
		mu.Lock()
		defer mu.Unlock()

		calls++
		if calls == 2 {
			cancel()
		}
	})

	var items []oem.PlanItem
	for i := range 6 {
		items = append(items, oem.PlanItem{VIN: vinN(i), Action: oem.ActionActivate})
	}

	got, err := applyAll(t, ctx, f, plan(items...), oem.ApplyOptions{BatchSize: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply after cancel = %v, want context.Canceled", err)
	}

	if len(got) != 2 || got[vinN(0)].Status != oem.StatusPending {
		t.Errorf("outcomes after cancel = %v, want the first batch only", got)
	}

	if c := f.Calls(oemtest.MethodActivate); c != 2 {
		t.Errorf("%d activation calls, want 2 (none after the cancel)", c)
	}
}

// A connector that cannot act on a vehicle but says where it stands
// (Tesla: not shared with any account) has that status recorded, not
// "error"; and a vehicle the OEM's eligibility API cannot check (a brand it
// does not take) is activated, activation deciding.
func TestApplyNotSupported(t *testing.T) {
	t.Parallel()

	var (
		unshared  = vinN(1) // the connector cannot enrol it; it is inactive
		unchecked = vinN(2) // eligibility cannot be checked
	)

	f := oemtest.NewFake("fake").
		EnableEligibility().
		FailVehicle(oemtest.MethodActivate, unshared,
			fmt.Errorf("the owner must share it: %w", oem.ErrNotSupported)).
		FailVehicle(oemtest.MethodEligibility, unchecked,
			fmt.Errorf("brand not taken by the eligibility API: %w", oem.ErrNotSupported))

	p := plan(
		oem.PlanItem{VIN: unshared, Action: oem.ActionActivate},
		oem.PlanItem{VIN: unchecked, Action: oem.ActionActivate},
	)

	got, err := applyAll(t, t.Context(), f.Connector(), p, oem.ApplyOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	if oc := got[unshared]; oc.Status != oem.StatusInactive || !errors.Is(oc.Err, oem.ErrNotSupported) ||
		!strings.Contains(oc.Reason, "must share") {
		t.Errorf("unshared outcome = %+v, want inactive with the reason", oc)
	}

	if oc := got[unchecked]; oc.Status != oem.StatusPending || oc.Err != nil {
		t.Errorf("unchecked outcome = %+v, want activated (pending)", oc)
	}

	if n := f.VINCalls(oemtest.MethodActivate, unchecked); n != 1 {
		t.Errorf("unchecked vehicle activated %d times, want 1", n)
	}
}

// partial answers the first VIN of each Activate call and then fails the
// call, as a connector working vehicle by vehicle does when stopped.
type partial struct {
	*oemtest.Fake
	err error
}

func (p partial) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	res, err := p.Fake.Activate(ctx, vins[:1])
	if err != nil {
		return nil, err
	}

	return res, p.err
}

// A call that fails part-way keeps the results it returned; only the VINs
// without one take its error.
func TestApplyPartialResults(t *testing.T) {
	t.Parallel()

	c := partial{Fake: oemtest.NewFake("fake"), err: fmt.Errorf("connection lost: %w", oem.ErrTransient)}
	p := plan(oem.PlanItem{VIN: vinN(1), Action: oem.ActionActivate},
		oem.PlanItem{VIN: vinN(2), Action: oem.ActionActivate})

	out, err := applyAll(t, t.Context(), c, p, oem.ApplyOptions{BatchSize: 2, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	if o, ok := out[vinN(1)]; !ok || o.Status != oem.StatusPending || o.Err != nil {
		t.Errorf("answered VIN: %+v, %v; want its result kept", o, ok)
	}

	if o, ok := out[vinN(2)]; !ok || !errors.Is(o.Err, oem.ErrTransient) || o.Status != oem.StatusError {
		t.Errorf("unanswered VIN: %+v, %v; want the call's error", o, ok)
	}
}

// A wanted vehicle stored as active or pending that complete listings have
// omitted for longer than the grace is asked for again; one omitted only
// lately is left alone (CASES 7).
func TestPlanMissingVehicles(t *testing.T) {
	t.Parallel()

	missing := func(st oem.Status, since time.Time) oem.Candidate {
		v := stored(st, days(30))
		v.MissingSince = since

		return oem.Candidate{Entry: oem.FleetEntry{VIN: vinN(1), WantActive: true}, Stored: v}
	}

	a := activation.New(activation.Config{})
	for _, tc := range []struct {
		name string
		c    oem.Candidate
		want oem.Action
	}{
		{"active, missing two days", missing(oem.StatusActive, days(2)), oem.ActionActivate},
		{"pending, missing two days", missing(oem.StatusPending, days(2)), oem.ActionActivate},
		{"active, missing an hour", missing(oem.StatusActive, now.Add(-time.Hour)), oem.ActionKeep},
		{"active, missing since this run", missing(oem.StatusActive, time.Time{}), oem.ActionKeep},
	} {
		p, err := a.Plan(t.Context(), oem.PlanInput{Connector: "fake", Now: now, Candidates: []oem.Candidate{tc.c}})
		if err != nil {
			t.Fatal(err)
		}

		if got := p.Items[0].Action; got != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, p.Items[0].Reason, tc.want)
		}
	}
}

// A rate limit that outlasted the retries stops the batches that follow:
// they would only be refused, and billed.
func TestApplyStopsAtRateLimit(t *testing.T) {
	t.Parallel()

	f := oemtest.NewFake("fake")
	var items []oem.PlanItem
	for i := range 10 {
		items = append(items, oem.PlanItem{VIN: vinN(i), Action: oem.ActionActivate})
		f.FailVehicle(oemtest.MethodActivate, vinN(i),
			&oem.APIError{Connector: "fake", StatusCode: 429, Kind: oem.ErrRateLimited})
	}

	got, err := applyAll(t, t.Context(), f, plan(items...), oem.ApplyOptions{BatchSize: 2, Concurrency: 1,
		Now: func() time.Time { return now }})
	if !errors.Is(err, oem.ErrRateLimited) {
		t.Fatalf("Apply = %v, want the rate limit", err)
	}

	if c := f.Calls(oemtest.MethodActivate); c != 1 || len(got) != 2 {
		t.Fatalf("%d activation calls, %d outcomes; want 1 and 2", c, len(got))
	}
}
