package oem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

var t0 = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// mkVIN builds a valid VIN from a WMI and a serial number.
func mkVIN(wmi string, n int) oem.VIN {
	return oem.MustParseVIN(fmt.Sprintf("%s00000000%06d", wmi, n)).WithCheckDigit()
}

func wanted(vin oem.VIN, owner string, active bool) oem.FleetEntry {
	return oem.FleetEntry{VIN: vin, Owner: owner, WantActive: active}
}

func newFake(name string) *oemtest.Fake { return oemtest.NewFake(name).SetClock(clock) }

func info(vin oem.VIN, make, model string) oem.Info {
	i := oem.Info{VIN: vin, Make: make, Model: model}
	i.Set(oem.FieldMake, "fake:make")
	i.Set(oem.FieldModel, "fake:model")

	return i
}

func newStore(t *testing.T, entries ...oem.FleetEntry) *oemtest.MemStore {
	t.Helper()

	s := oemtest.NewMemStore().SetClock(clock)
	if err := s.PutFleet(t.Context(), entries); err != nil {
		t.Fatal(err)
	}

	return s
}

func newIngester(t *testing.T, s oem.Store, a oem.Activator, conns []oem.Connector,
	opts ...oem.IngesterOption) *oem.Ingester {
	t.Helper()

	if a == nil {
		a = activation.New(activation.Config{})
	}

	ing, err := oem.NewIngester(s, a, conns, append([]oem.IngesterOption{oem.WithClock(clock)},
		opts...)...)
	if err != nil {
		t.Fatal(err)
	}

	return ing
}

func vehicle(t *testing.T, s oem.Store, vin oem.VIN) oem.Vehicle {
	t.Helper()

	vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{VINs: []oem.VIN{vin}})
	if err != nil {
		t.Fatal(err)
	}

	if len(vs) != 1 {
		t.Fatalf("%s: %d stored vehicles, want 1", vin, len(vs))
	}

	return vs[0]
}

func allVehicles(t *testing.T, s oem.Store) []oem.Vehicle {
	t.Helper()

	vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
	if err != nil {
		t.Fatal(err)
	}

	return vs
}

func history(t *testing.T, s oem.Store, vin oem.VIN) []oem.StatusChange {
	t.Helper()

	h, err := s.History(t.Context(), vin)
	if err != nil {
		t.Fatal(err)
	}

	return h
}

func TestIngesterRouting(t *testing.T) {
	t.Parallel()

	var (
		bmwV      = mkVIN("WBA", 1) // make BMW
		miniV     = mkVIN("WMW", 2) // MINI by its WMI
		teslaV    = mkVIN("5YJ", 3)
		peugeotV  = mkVIN("VF3", 4)
		renaultV  = mkVIN("VF1", 5) // activated through hm, described by renault
		fordV     = mkVIN("WF0", 6)
		explicitV = mkVIN("WBA", 7) // a BMW the fleet sends through tesla
		otherV    = mkVIN("XLA", 8) // make Lada: any other make goes to hm
		noMakeV   = mkVIN("XXX", 9) // no make, unknown WMI
		kiaV      = mkVIN("KNA", 10)
	)

	entries := []oem.FleetEntry{
		{VIN: bmwV, Make: "BMW", WantActive: true},
		{VIN: miniV, WantActive: true},
		{VIN: teslaV, WantActive: true},
		{VIN: peugeotV, Make: "peugeot", WantActive: true},
		{VIN: renaultV, WantActive: true},
		{VIN: fordV, WantActive: true},
		{VIN: explicitV, Make: "BMW", Connector: "tesla", WantActive: true},
		{VIN: otherV, Make: "Lada", WantActive: true},
		{VIN: noMakeV, WantActive: true},
		{VIN: kiaV, Connector: "kia", WantActive: true}, // no kia connector is open
	}
	s := newStore(t, entries...)

	fakes := map[string]*oemtest.Fake{}
	for _, n := range []string{"bmw", "hm", "stellantis", "tesla", "renault"} {
		fakes[n] = newFake(n)
	}

	routes := map[oem.VIN]string{bmwV: "bmw", miniV: "bmw", teslaV: "tesla",
		peugeotV: "stellantis", renaultV: "hm", fordV: "hm", explicitV: "tesla", otherV: "hm"}
	for vin, conn := range routes {
		fakes[conn].SetStatus(vin, oem.StatusActive).SetInfo(info(vin, "", "from "+conn))
	}

	fakes["renault"].SetInfo(info(renaultV, oem.MakeRenault, "Zoe"))

	var conns []oem.Connector
	for _, f := range fakes {
		conns = append(conns, f.Connector())
	}

	rep, err := newIngester(t, s, nil, conns).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for vin, conn := range routes {
		v := vehicle(t, s, vin)
		if v.Connector != conn || v.Status != oem.StatusActive {
			t.Errorf("%s: connector %q status %s, want %s, active", vin, v.Connector, v.Status,
				conn)
		}
	}

	// Renault: listed and planned by hm, described by renault.
	if v := vehicle(t, s, renaultV); v.Model != "Zoe" || v.Make != oem.MakeRenault {
		t.Errorf("Renault described as %q %q, want Renault Zoe from the renault connector",
			v.Make, v.Model)
	}

	if n := fakes["hm"].VINCalls(oemtest.MethodDescribe, renaultV); n != 0 {
		t.Errorf("hm described the Renault %d times; renault is open", n)
	}

	if v := vehicle(t, s, fordV); v.Model != "from hm" {
		t.Errorf("Ford described as %q, want from hm", v.Model)
	}

	// Unroutable vehicles are saved with status error and the reason.
	for _, vin := range []oem.VIN{noMakeV, kiaV} {
		v := vehicle(t, s, vin)
		if v.Status != oem.StatusError || !strings.Contains(v.Reason, oem.ErrUnroutable.Error()) {
			t.Errorf("unroutable %s stored as %s %q", vin, v.Status, v.Reason)
		}

		if h := history(t, s, vin); len(h) != 1 || h[0].To != oem.StatusError ||
			h[0].RunID != rep.RunID {
			t.Errorf("unroutable %s history %+v", vin, h)
		}
	}

	if !strings.Contains(vehicle(t, s, kiaV).Reason, `"kia"`) {
		t.Errorf("reason does not name the missing connector: %q", vehicle(t, s, kiaV).Reason)
	}

	if rep.Total != len(entries) || rep.Unroutable != 2 || rep.Errors["unroutable"] != 2 {
		t.Errorf("report total %d unroutable %d errors %v", rep.Total, rep.Unroutable, rep.Errors)
	}

	wantStatuses := map[string]int{"bmw": 2, "tesla": 2, "stellantis": 1, "hm": 3}
	for conn, n := range wantStatuses {
		cr := rep.Connectors[conn]
		if cr == nil || cr.Statuses[oem.StatusActive] != n || cr.Vehicles != n {
			t.Errorf("connector %s report %+v, want %d active", conn, cr, n)
		}
	}

	if cr := rep.Connectors["renault"]; cr == nil || cr.Described != 1 ||
		cr.Requests[oem.RequestDescription] != 1 {
		t.Errorf("renault report %+v, want one description", cr)
	}
}

func TestIngesterRenaultFallsBackToHM(t *testing.T) {
	t.Parallel()

	renaultV := mkVIN("VF1", 1)
	s := newStore(t, wanted(renaultV, "", true))
	hm := newFake("hm").SetStatus(renaultV, oem.StatusActive).
		SetInfo(info(renaultV, oem.MakeRenault, "Megane E-Tech"))

	if _, err := newIngester(t, s, nil, []oem.Connector{hm}).Run(t.Context(),
		oem.RunOptions{}); err != nil {
		t.Fatal(err)
	}

	if v := vehicle(t, s, renaultV); v.Model != "Megane E-Tech" || v.Connector != "hm" {
		t.Errorf("without renault open, the Renault is %q via %q; want hm's description",
			v.Model, v.Connector)
	}
}

func TestIngesterOwnerFilter(t *testing.T) {
	t.Parallel()

	a, b, c, d := mkVIN("WBA", 1), mkVIN("WBA", 2), mkVIN("WBA", 3), mkVIN("WBA", 4)
	s := newStore(t, wanted(a, "Ayvens", true), wanted(b, "AYVENS", true),
		wanted(c, "Ayvens NV", true), wanted(d, "Leasys", true))
	f := newFake("bmw")

	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(),
		oem.RunOptions{Owner: "  ayvens "})
	if err != nil {
		t.Fatal(err)
	}

	if rep.Total != 2 || rep.Owner != "ayvens" {
		t.Errorf("report total %d owner %q, want 2, ayvens", rep.Total, rep.Owner)
	}

	if got := f.Requested(oemtest.MethodActivate); !slices.Equal(got, []oem.VIN{a, b}) {
		t.Errorf("activated %v, want %v", got, []oem.VIN{a, b})
	}

	if got := len(allVehicles(t, s)); got != 2 {
		t.Errorf("%d vehicles stored, want 2", got)
	}
}

func TestIngesterIsolation(t *testing.T) {
	t.Parallel()

	okV, failV, hangV, panicV := mkVIN("WBA", 1), mkVIN("5YJ", 2), mkVIN("VF3", 3),
		mkVIN("WF0", 4)
	s := newStore(t, wanted(okV, "", true), wanted(failV, "", true), wanted(hangV, "", true),
		wanted(panicV, "", true))

	// The failing connector's vehicle was active before; a failed listing
	// must leave that alone.
	if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: oem.FleetEntry{VIN: failV}, Connector: "tesla", Status: oem.StatusActive,
		StatusChangedAt: t0.Add(-time.Hour)}}}); err != nil {
		t.Fatal(err)
	}

	bmw := newFake("bmw").SetStatus(okV, oem.StatusActive).SetInfo(info(okV, "BMW", "i4"))
	tesla := newFake("tesla").FailCall(oemtest.MethodFleet, fmt.Errorf("tesla down: %w",
		oem.ErrUnavailable))
	stellantis := newFake("stellantis").Hang(oemtest.MethodFleet)
	hm := newFake("hm").Panic(oemtest.MethodFleet, "nil map in the hm connector")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Cancel once every connector but the hanging one is done.
	var mu sync.Mutex
	done := map[string]bool{}
	progress := func(p oem.Progress) {
		mu.Lock()
		defer mu.Unlock()

		if p.Phase == oem.PhaseDone {
			done[p.Connector] = true
		}

		if done["bmw"] && done["tesla"] && done["hm"] {
			cancel()
		}
	}

	conns := []oem.Connector{bmw, tesla, stellantis, hm}
	rep, err := newIngester(t, s, nil, conns, oem.WithProgress(progress)).Run(ctx,
		oem.RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}

	if rep == nil || !rep.Cancelled {
		t.Fatalf("report %+v, want a partial report marked cancelled", rep)
	}

	if want := []string{"hm", "stellantis", "tesla"}; !slices.Equal(rep.Failed, want) {
		t.Errorf("failed = %v, want %v", rep.Failed, want)
	}

	if cr := rep.Connectors["bmw"]; cr.Error != "" || cr.Statuses[oem.StatusActive] != 1 ||
		cr.Described != 1 {
		t.Errorf("bmw report %+v, want one active described vehicle, no error", cr)
	}

	for conn, want := range map[string]string{
		"tesla":      "tesla down",
		"stellantis": "context canceled",
		"hm":         "panicked: nil map in the hm connector",
	} {
		if got := rep.Connectors[conn].Error; !strings.Contains(got, want) {
			t.Errorf("%s error = %q, want it to say %q", conn, got, want)
		}
	}

	if rep.Errors["unavailable"] != 1 || rep.Errors["canceled"] != 1 || rep.Errors["other"] != 1 {
		t.Errorf("errors by kind = %v", rep.Errors)
	}

	if v := vehicle(t, s, okV); v.Status != oem.StatusActive || v.Model != "i4" {
		t.Errorf("the healthy connector's vehicle is %s %q", v.Status, v.Model)
	}

	if v := vehicle(t, s, failV); v.Status != oem.StatusActive || v.Reason != "" {
		t.Errorf("a failed listing changed the stored vehicle: %s %q", v.Status, v.Reason)
	}

	if len(history(t, s, failV)) != 0 {
		t.Error("a failed listing wrote history")
	}

	for _, vin := range []oem.VIN{hangV, panicV} {
		if vs, _ := s.Vehicles(t.Context(), oem.VehicleQuery{VINs: []oem.VIN{vin}}); len(vs) != 0 {
			t.Errorf("%s was saved although its connector never listed", vin)
		}
	}
}

func TestIngesterListingFailsMidway(t *testing.T) {
	t.Parallel()

	var vins []oem.VIN
	var entries []oem.FleetEntry
	for i := range 4 {
		vins = append(vins, mkVIN("WBA", i))
		entries = append(entries, wanted(vins[i], "", true))
	}

	s := newStore(t, entries...)
	f := newFake("bmw").SetStatus(vins[0], oem.StatusActive).SetStatus(vins[1], oem.StatusActive).
		FailListingAfter(1, fmt.Errorf("page 2: HTTP 502: %w", oem.ErrTransient))

	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if f.Calls(oemtest.MethodActivate)+f.Calls(oemtest.MethodDeactivate) != 0 {
		t.Error("a partial listing led to activation calls")
	}

	if got := allVehicles(t, s); len(got) != 0 {
		t.Errorf("a partial listing saved %d vehicles", len(got))
	}

	cr := rep.Connectors["bmw"]
	if !strings.Contains(cr.Error, "listing") || !strings.Contains(cr.Error, "page 2") ||
		!slices.Equal(rep.Failed, []string{"bmw"}) || rep.Errors["transient"] != 1 {
		t.Errorf("report: error %q failed %v errors %v", cr.Error, rep.Failed, rep.Errors)
	}

	if cr.Planned[oem.ActionActivate] != 0 {
		t.Errorf("planned %v from a partial listing", cr.Planned)
	}
}

// CASES 7 and 8: a vehicle missing from a complete listing is only marked;
// of several records for one VIN the newest decides.
func TestIngesterMissingAndDuplicateRecords(t *testing.T) {
	t.Parallel()

	missing, unwantedMissing, dupNewestLast, dupNewestFirst := mkVIN("WBA", 1),
		mkVIN("WBA", 2), mkVIN("WBA", 3), mkVIN("WBA", 4)
	s := newStore(t, wanted(missing, "", true), wanted(unwantedMissing, "", false),
		wanted(dupNewestLast, "", true), wanted(dupNewestFirst, "", true))

	seen := t0.Add(-24 * time.Hour)
	if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: oem.FleetEntry{VIN: missing}, Connector: "bmw", Status: oem.StatusActive,
		StatusChangedAt: seen, SeenAt: seen, DescribedAt: seen,
	}}}); err != nil {
		t.Fatal(err)
	}

	old, newer := t0.Add(-48*time.Hour), t0.Add(-time.Hour)
	f := newFake("bmw").
		AddRecord(oem.Observed{VIN: dupNewestLast, Status: oem.StatusRejected, ChangedAt: old}).
		AddRecord(oem.Observed{VIN: dupNewestLast, Status: oem.StatusActive, ChangedAt: newer}).
		AddRecord(oem.Observed{VIN: dupNewestFirst, Status: oem.StatusPending, ChangedAt: newer}).
		AddRecord(oem.Observed{VIN: dupNewestFirst, Status: oem.StatusInactive, ChangedAt: old})

	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	v := vehicle(t, s, missing)
	if v.Status != oem.StatusActive || !v.MissingSince.Equal(t0) || !v.SeenAt.Equal(seen) {
		t.Errorf("missing vehicle stored as %s, missing since %s, seen %s; want active, "+
			"missing since the run, seen kept", v.Status, v.MissingSince, v.SeenAt)
	}

	if n := f.VINCalls(oemtest.MethodActivate, missing) +
		f.VINCalls(oemtest.MethodDeactivate, missing); n != 0 {
		t.Errorf("a vehicle missing from the listing got %d activation calls", n)
	}

	if n := f.VINCalls(oemtest.MethodDeactivate, unwantedMissing); n != 0 {
		t.Errorf("an unwanted vehicle never seen was deactivated %d times", n)
	}

	if v := vehicle(t, s, dupNewestLast); v.Status != oem.StatusActive {
		t.Errorf("two records, newest active last: stored %s", v.Status)
	}

	if v := vehicle(t, s, dupNewestFirst); v.Status != oem.StatusPending {
		t.Errorf("two records, newest pending first: stored %s", v.Status)
	}

	if f.Calls(oemtest.MethodActivate) != 0 {
		t.Errorf("activations %v; the newest records say active and pending",
			f.Requested(oemtest.MethodActivate))
	}

	// Missing counts vehicles listed before; the unwanted one never was.
	if cr := rep.Connectors["bmw"]; cr.Listed != 4 || cr.Missing != 1 {
		t.Errorf("listed %d missing %d, want 4 records, 1 missing", cr.Listed, cr.Missing)
	}

	// Seen again later: MissingSince is cleared.
	later := t0.Add(24 * time.Hour)
	f.SetStatus(missing, oem.StatusActive)
	ing, _ := oem.NewIngester(s, activation.New(activation.Config{}), []oem.Connector{f},
		oem.WithClock(func() time.Time { return later }))
	if _, err := ing.Run(t.Context(), oem.RunOptions{}); err != nil {
		t.Fatal(err)
	}

	if v := vehicle(t, s, missing); !v.MissingSince.IsZero() || !v.SeenAt.Equal(later) {
		t.Errorf("listed again: missing since %s, seen %s", v.MissingSince, v.SeenAt)
	}
}

func TestIngesterDryRun(t *testing.T) {
	t.Parallel()

	act, deact, keep := mkVIN("WBA", 1), mkVIN("WBA", 2), mkVIN("WBA", 3)
	s := newStore(t, wanted(act, "", true), wanted(deact, "", false), wanted(keep, "", true))
	f := newFake("bmw").EnableEligibility().
		SetStatus(act, oem.StatusInactive).
		SetStatus(deact, oem.StatusActive).
		SetStatus(keep, oem.StatusActive).SetInfo(info(keep, "BMW", "i3"))

	rep, err := newIngester(t, s, nil, []oem.Connector{f.Connector()}).Run(t.Context(),
		oem.RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}

	for _, m := range []oemtest.Method{oemtest.MethodActivate, oemtest.MethodDeactivate,
		oemtest.MethodEligibility, oemtest.MethodDescribe} {
		if n := f.Calls(m); n != 0 {
			t.Errorf("dry run called %s %d times", m, n)
		}
	}

	if len(allVehicles(t, s)) != 0 {
		t.Error("dry run wrote vehicles")
	}

	if _, ok := s.Run(1); ok || rep.RunID != 0 {
		t.Error("dry run recorded a run")
	}

	cr := rep.Connectors["bmw"]
	want := map[oem.Action]int{oem.ActionActivate: 1, oem.ActionDeactivate: 1,
		oem.ActionKeep: 1, oem.ActionWait: 0, oem.ActionCooldown: 0}
	for a, n := range want {
		if cr.Planned[a] != n {
			t.Errorf("planned %s = %d, want %d (%v)", a, cr.Planned[a], n, cr.Planned)
		}
	}

	if cr.Statuses[oem.StatusActive] != 2 || cr.Statuses[oem.StatusInactive] != 1 {
		t.Errorf("dry-run statuses %v, want what the listing shows", cr.Statuses)
	}

	if !rep.DryRun || cr.Requests[oem.RequestListing] != 1 {
		t.Errorf("dry run %v, listing requests %d", rep.DryRun, cr.Requests[oem.RequestListing])
	}
}

func TestIngesterActivationCap(t *testing.T) {
	t.Parallel()

	var entries []oem.FleetEntry
	for i := range 3 {
		entries = append(entries, wanted(mkVIN("WBA", i), "", true))
	}

	teslaV := mkVIN("5YJ", 9)
	entries = append(entries, wanted(teslaV, "", true))
	s := newStore(t, entries...)
	bmw, tesla := newFake("bmw"), newFake("tesla")

	a := activation.New(activation.Config{MaxActivations: 2})
	rep, err := newIngester(t, s, a, []oem.Connector{bmw, tesla}).Run(t.Context(),
		oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if bmw.Calls(oemtest.MethodActivate) != 0 {
		t.Error("a plan over the cap was applied")
	}

	cr := rep.Connectors["bmw"]
	if !strings.Contains(cr.Error, "3 activations") || !strings.Contains(cr.Error, "cap of 2") ||
		rep.Errors["activation_cap"] != 1 || !slices.Equal(rep.Failed, []string{"bmw"}) {
		t.Errorf("bmw error %q, errors %v, failed %v", cr.Error, rep.Errors, rep.Failed)
	}

	if cr.Planned[oem.ActionActivate] != 3 {
		t.Errorf("the refused plan is not reported: %v", cr.Planned)
	}

	if tesla.VINCalls(oemtest.MethodActivate, teslaV) != 1 {
		t.Error("the cap on bmw stopped tesla")
	}

	// The listing was complete, so what it showed is saved.
	if v := vehicle(t, s, mkVIN("WBA", 0)); v.Status != oem.StatusInactive {
		t.Errorf("stored %s, want inactive", v.Status)
	}
}

// CASES 24: a run cancelled half-way leaves a consistent store, and the
// rerun asks no OEM twice for the same activation.
func TestIngesterCancelAndRerun(t *testing.T) {
	t.Parallel()

	var entries []oem.FleetEntry
	var vins []oem.VIN
	for i := range 6 {
		vins = append(vins, mkVIN("WBA", i))
		entries = append(entries, wanted(vins[i], "", true))
	}

	s := newStore(t, entries...)
	f := newFake("bmw").SetBatchSize(2)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The OEM takes the second batch, but the run is cancelled before the
	// answer arrives.
	var calls int
	var mu sync.Mutex
	f.OnCall(oemtest.MethodActivate, func(_ context.Context, batch []oem.VIN) {
		mu.Lock()
		defer mu.Unlock()

		calls++
		if calls == 2 {
			for _, v := range batch {
				f.SetStatus(v, oem.StatusPending)
			}

			cancel()
		}
	})

	ing := newIngester(t, s, nil, []oem.Connector{f.Connector()}, oem.WithConcurrency("bmw", 1))
	rep, err := ing.Run(ctx, oem.RunOptions{})
	if !errors.Is(err, context.Canceled) || !rep.Cancelled {
		t.Fatalf("Run = %v, cancelled %v; want a cancelled partial report", err, rep.Cancelled)
	}

	// Consistent: every vehicle saved, the first batch as pending with its
	// history, the rest as last seen.
	stored := allVehicles(t, s)
	if len(stored) != 6 {
		t.Fatalf("%d vehicles stored after the cancel, want 6", len(stored))
	}

	for k, v := range stored {
		want := oem.StatusInactive
		if k < 2 {
			want = oem.StatusPending
		}

		if v.Status != want {
			t.Errorf("%s stored %s after the cancel, want %s", v.VIN, v.Status, want)
		}
	}

	if h := history(t, s, vins[0]); len(h) != 1 || h[0].To != oem.StatusPending ||
		h[0].RunID != rep.RunID {
		t.Errorf("history of the first batch %+v", h)
	}

	if r, _ := s.Run(rep.RunID); r.State != "cancelled" || !json.Valid(r.Report) {
		t.Errorf("run recorded as %q", r.State)
	}

	if cr := rep.Connectors["bmw"]; cr.Statuses[oem.StatusPending] != 2 ||
		cr.Requests[oem.RequestActivation] != 1 {
		t.Errorf("partial report %+v", cr)
	}

	// The rerun finishes the work.
	f.OnCall(oemtest.MethodActivate, nil)
	rep2, err := ing.Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for _, v := range vins {
		if n := f.VINCalls(oemtest.MethodActivate, v); n != 1 {
			t.Errorf("%s: %d activation requests over both runs, want 1", v, n)
		}

		if got := vehicle(t, s, v); got.Status != oem.StatusPending {
			t.Errorf("%s is %s after the rerun, want pending", v, got.Status)
		}
	}

	if cr := rep2.Connectors["bmw"]; cr.Planned[oem.ActionActivate] != 2 ||
		cr.Planned[oem.ActionWait] != 4 || rep2.Cancelled {
		t.Errorf("rerun planned %v", cr.Planned)
	}
}

func TestIngesterReportJSONAndRequestCounts(t *testing.T) {
	t.Parallel()

	var entries []oem.FleetEntry
	f := newFake("bmw").SetPageSize(2).SetBatchSize(2).EnableEligibility()
	for i := range 5 {
		v := mkVIN("WBA", i)
		entries = append(entries, wanted(v, "", true))
		if i < 2 {
			f.SetStatus(v, oem.StatusActive).SetInfo(info(v, "BMW", "i3"))
		} else {
			f.SetStatus(v, oem.StatusInactive)
		}
	}

	s := newStore(t, entries...)
	rep, err := newIngester(t, s, nil, []oem.Connector{f.Connector()}).Run(t.Context(),
		oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}

	var got struct {
		Total      int            `json:"total"`
		Cancelled  *bool          `json:"cancelled"`
		DurationMS *int64         `json:"duration_ms"`
		Errors     map[string]int `json:"errors"`
		Failed     []string       `json:"failed"`
		Connectors map[string]struct {
			Statuses map[string]int   `json:"statuses"`
			Requests map[string]int64 `json:"requests"`
			Planned  map[string]int   `json:"planned"`
			Error    *string          `json:"error"`
		} `json:"connectors"`
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}

	if got.Total != 5 || got.Cancelled == nil || *got.Cancelled || got.DurationMS == nil ||
		got.Errors == nil || got.Failed == nil || len(got.Failed) != 0 {
		t.Errorf("top level: %s", js)
	}

	bmw := got.Connectors["bmw"]
	// 5 records at 2 a page; 3 to activate, checked and activated in
	// batches of 2; 2 active vehicles described in one batch.
	wantReq := map[string]int64{"listing": 3, "eligibility": 2, "activation": 2,
		"deactivation": 0, "description": 1, "auth": 0, "other": 0}
	for k, n := range wantReq {
		if v, ok := bmw.Requests[k]; !ok || v != n {
			t.Errorf("requests.%s = %d (present %v), want %d", k, v, ok, n)
		}
	}

	if bmw.Statuses["active"] != 2 || bmw.Statuses["pending"] != 3 {
		t.Errorf("statuses %v", bmw.Statuses)
	}

	if bmw.Planned["activate"] != 3 || bmw.Planned["keep"] != 2 {
		t.Errorf("planned %v", bmw.Planned)
	}

	if bmw.Error == nil || *bmw.Error != "" {
		t.Errorf("error key missing or set: %s", js)
	}

	if r, ok := s.Run(rep.RunID); !ok || r.State != "ok" || !strings.Contains(string(r.Report),
		`"listing":3`) {
		t.Errorf("run record %+v", r)
	}
}

// savingStore records the size of each SaveBatch.
type savingStore struct {
	*oemtest.MemStore
	mu    sync.Mutex
	sizes []int
}

func (s *savingStore) SaveBatch(ctx context.Context, b oem.Batch) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(b.Vehicles))
	s.mu.Unlock()

	return s.MemStore.SaveBatch(ctx, b)
}

func TestIngesterDescribesAndSavesInBatches(t *testing.T) {
	t.Parallel()

	var (
		entries []oem.FleetEntry
		fresh   = mkVIN("WBA", 100) // described yesterday: not again
		pending = mkVIN("WBA", 101) // not active: not described
	)
	f := newFake("bmw").SetBatchSize(3).SetConcurrency(2)
	for i := range 10 {
		v := mkVIN("WBA", i)
		entries = append(entries, wanted(v, "", true))
		in := info(v, "BMW", "i3")
		in.Type, in.WarrantyYears, in.BatteryKWh = "120Ah", 5, 37.9
		in.Set(oem.FieldType, "fake:type")
		in.Set(oem.FieldWarrantyYears, "fake:warranty")
		in.Set(oem.FieldBatteryKWh, "fake:capacity")
		f.SetStatus(v, oem.StatusActive).SetInfo(in)
	}

	entries = append(entries, wanted(fresh, "", true), wanted(pending, "", true))
	f.SetStatus(fresh, oem.StatusActive).SetInfo(info(fresh, "BMW", "iX"))
	f.SetStatus(pending, oem.StatusPending).SetInfo(info(pending, "BMW", "iX"))

	s := &savingStore{MemStore: newStore(t, entries...)}
	if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: oem.FleetEntry{VIN: fresh}, Model: "iX", Status: oem.StatusActive,
		StatusChangedAt: t0.Add(-48 * time.Hour), DescribedAt: t0.Add(-24 * time.Hour),
	}}}); err != nil {
		t.Fatal(err)
	}

	// A curated model record: its warranty is not overwritten.
	if err := s.UpsertModels(t.Context(), []oem.Model{{Make: "BMW", Name: "i3", Type: "120Ah",
		WarrantyYears: 8}}); err != nil {
		t.Fatal(err)
	}

	s.sizes = nil
	rep, err := newIngester(t, s, nil, []oem.Connector{f.Connector()},
		oem.WithSaveBatchSize(4)).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if got := f.Requested(oemtest.MethodDescribe); len(got) != 10 ||
		slices.Contains(got, fresh) || slices.Contains(got, pending) {
		t.Errorf("described %v; want the 10 stale active ones only", got)
	}

	if f.MaxBatch(oemtest.MethodDescribe) > 3 || f.MaxInFlight(oemtest.MethodDescribe) > 2 {
		t.Errorf("describe batches up to %d, %d in flight; want at most 3 and 2",
			f.MaxBatch(oemtest.MethodDescribe), f.MaxInFlight(oemtest.MethodDescribe))
	}

	v := vehicle(t, s, mkVIN("WBA", 3))
	if v.Model != "i3" || v.Type != "120Ah" || v.BatteryKWh != 37.9 || !v.DescribedAt.Equal(t0) ||
		v.ModelID == 0 || v.Sources[oem.FieldBatteryKWh] != "fake:capacity" {
		t.Errorf("described vehicle %+v", v)
	}

	models, err := s.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if len(models) != 1 || models[0].WarrantyYears != 8 || models[0].BatteryKWh != 37.9 {
		t.Errorf("models %+v; want the curated warranty kept and the capacity filled", models)
	}

	s.mu.Lock()
	sizes := slices.Clone(s.sizes)
	s.mu.Unlock()
	if len(sizes) < 3 || slices.Max(sizes) > 4 {
		t.Errorf("save batch sizes %v; want several batches of at most 4", sizes)
	}

	if rep.Connectors["bmw"].Described != 10 {
		t.Errorf("described %d, want 10", rep.Connectors["bmw"].Described)
	}
}

func TestIngesterActivatorOutcomes(t *testing.T) {
	t.Parallel()

	var (
		eligible   = mkVIN("WBA", 1)
		ineligible = mkVIN("WBA", 2)
		quota      = mkVIN("WBA", 3) // activation fails; stored inactive before
		tooEarly   = mkVIN("WBA", 4) // unwanted, pending; deactivation refused for now
		neverSeen  = mkVIN("WBA", 5) // activation fails, never had a status
	)
	s := newStore(t, wanted(eligible, "", true), wanted(ineligible, "", true),
		wanted(quota, "", true), wanted(tooEarly, "", false), wanted(neverSeen, "", true))
	f := newFake("bmw").
		SetStatus(eligible, oem.StatusInactive).
		SetStatus(ineligible, oem.StatusInactive).
		SetStatus(quota, oem.StatusInactive).
		SetStatus(tooEarly, oem.StatusPending).
		SetEligibility(ineligible, false, "too old").
		FailVehicle(oemtest.MethodActivate, quota, oem.ErrQuotaExhausted).
		FailVehicle(oemtest.MethodActivate, neverSeen, oem.ErrTransient).
		FailVehicle(oemtest.MethodDeactivate, tooEarly,
			fmt.Errorf("can be cancelled after 1 day: %w", oem.ErrConflict))

	ing := newIngester(t, s, nil, []oem.Connector{f.Connector()})
	rep, err := ing.Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	want := map[oem.VIN]oem.Status{eligible: oem.StatusPending, ineligible: oem.StatusIneligible,
		quota: oem.StatusInactive, tooEarly: oem.StatusDeactivating, neverSeen: oem.StatusError}
	for vin, st := range want {
		if v := vehicle(t, s, vin); v.Status != st {
			t.Errorf("%s stored %s (%q), want %s", vin, v.Status, v.Reason, st)
		}
	}

	if v := vehicle(t, s, quota); !strings.Contains(v.Reason, "quota") {
		t.Errorf("failed activation reason %q", v.Reason)
	}

	if rep.Errors["quota_exhausted"] != 1 || rep.Errors["conflict"] != 1 ||
		rep.Errors["transient"] != 1 {
		t.Errorf("errors %v", rep.Errors)
	}

	// Every status change has a history row with the run id.
	for _, vin := range []oem.VIN{eligible, ineligible, tooEarly, neverSeen} {
		h := history(t, s, vin)
		if len(h) == 0 || h[len(h)-1].To != want[vin] || h[len(h)-1].RunID != rep.RunID {
			t.Errorf("%s history %+v", vin, h)
		}
	}

	// Next run: the too-early deactivation is tried again; the ineligible
	// vehicle is not checked again (cool-down); the pending one is not
	// requested again.
	f.FailVehicle(oemtest.MethodDeactivate, tooEarly, nil)
	if _, err := ing.Run(t.Context(), oem.RunOptions{}); err != nil {
		t.Fatal(err)
	}

	if n := f.VINCalls(oemtest.MethodDeactivate, tooEarly); n != 2 {
		t.Errorf("too-early deactivation tried %d times over two runs, want 2", n)
	}

	if v := vehicle(t, s, tooEarly); v.Status != oem.StatusInactive {
		t.Errorf("deactivation retried: stored %s", v.Status)
	}

	if n := f.VINCalls(oemtest.MethodEligibility, ineligible); n != 1 {
		t.Errorf("ineligible vehicle checked %d times, want once (cool-down)", n)
	}

	if n := f.VINCalls(oemtest.MethodActivate, eligible); n != 1 {
		t.Errorf("pending vehicle requested %d times, want once", n)
	}
}

func TestIngesterConnectorsOption(t *testing.T) {
	t.Parallel()

	bmwV, teslaV, renaultV := mkVIN("WBA", 1), mkVIN("5YJ", 2), mkVIN("VF1", 3)
	s := newStore(t, wanted(bmwV, "", true), wanted(teslaV, "", true),
		wanted(renaultV, "", true), wanted(mkVIN("XXX", 4), "", true))
	bmw, tesla, hm, renault := newFake("bmw"), newFake("tesla"), newFake("hm"), newFake("renault")
	ing := newIngester(t, s, nil, []oem.Connector{bmw, tesla, hm, renault})

	rep, err := ing.Run(t.Context(), oem.RunOptions{Connectors: []string{"tesla", "renault"}})
	if err != nil {
		t.Fatal(err)
	}

	if bmw.Calls(oemtest.MethodFleet) != 0 {
		t.Error("a connector outside the selection was used")
	}

	got := allVehicles(t, s)
	if len(got) != 2 || got[0].VIN != teslaV || got[1].VIN != renaultV || rep.Total != 2 {
		t.Errorf("stored %d vehicles (total %d); want the tesla and Renault ones", len(got),
			rep.Total)
	}

	if _, err := ing.Run(t.Context(), oem.RunOptions{Connectors: []string{"ford"}}); !errors.Is(
		err, oem.ErrInvalidInput) {
		t.Errorf("an unknown connector in the selection gave %v", err)
	}
}

func TestNewIngesterValidates(t *testing.T) {
	t.Parallel()

	s := oemtest.NewMemStore()
	a := activation.New(activation.Config{})
	cases := map[string]func() error{
		"nil store": func() error {
			_, err := oem.NewIngester(nil, a, nil)
			return err
		},
		"nil activator": func() error {
			_, err := oem.NewIngester(s, nil, nil)
			return err
		},
		"duplicate names": func() error {
			_, err := oem.NewIngester(s, a, []oem.Connector{newFake("bmw"), newFake("bmw")})
			return err
		},
	}
	for name, fn := range cases {
		if err := fn(); !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("%s: %v, want invalid input", name, err)
		}
	}
}

// A listing record in error says nothing about that vehicle: it is not
// planned (no activation for a vehicle the OEM may well have), and keeps its
// stored status with the reason.
func TestIngesterListingRecordError(t *testing.T) {
	t.Parallel()

	odd, fine := mkVIN("WBA", 1), mkVIN("WBA", 2)
	s := newStore(t, wanted(odd, "", true), wanted(fine, "", true))
	if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: oem.FleetEntry{VIN: odd}, Status: oem.StatusPending,
		StatusChangedAt: t0.Add(-time.Hour)}}}); err != nil {
		t.Fatal(err)
	}

	f := newFake("bmw").SetStatus(odd, oem.StatusActive).SetStatus(fine, oem.StatusInactive).
		FailVehicle(oemtest.MethodFleet, odd, fmt.Errorf("status field: %w", oem.ErrInvalidInput))

	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if n := f.VINCalls(oemtest.MethodActivate, odd); n != 0 {
		t.Errorf("a vehicle whose listing record failed was activated %d times", n)
	}

	if n := f.VINCalls(oemtest.MethodActivate, fine); n != 1 {
		t.Errorf("the other vehicle was activated %d times, want 1", n)
	}

	if v := vehicle(t, s, odd); v.Status != oem.StatusPending ||
		!strings.Contains(v.Reason, "status field") {
		t.Errorf("stored %s %q, want pending kept with the reason", v.Status, v.Reason)
	}

	cr := rep.Connectors["bmw"]
	if rep.Errors["invalid_input"] != 1 || cr.Error != "" || cr.Planned[oem.ActionKeep] != 1 ||
		cr.Planned[oem.ActionActivate] != 1 {
		t.Errorf("errors %v, connector error %q, planned %v", rep.Errors, cr.Error, cr.Planned)
	}
}

func TestIngesterProgressAndLogging(t *testing.T) {
	t.Parallel()

	act, described := mkVIN("WBA", 1), mkVIN("WBA", 2)
	s := newStore(t, wanted(act, "", true), wanted(described, "", true))
	f := newFake("bmw").SetStatus(described, oem.StatusActive).
		SetInfo(info(described, "BMW", "i3"))

	var events []oem.Progress
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ing := newIngester(t, s, nil, []oem.Connector{f},
		oem.WithProgress(func(p oem.Progress) { events = append(events, p) }),
		oem.WithLogger(logger))
	if _, err := ing.Run(t.Context(), oem.RunOptions{}); err != nil {
		t.Fatal(err)
	}

	var phases []oem.Phase
	for _, e := range events {
		if e.Connector != "bmw" {
			t.Errorf("event for %q", e.Connector)
		}

		if len(phases) == 0 || phases[len(phases)-1] != e.Phase {
			phases = append(phases, e.Phase)
		}
	}

	want := []oem.Phase{oem.PhaseListing, oem.PhasePlanning, oem.PhaseApplying,
		oem.PhaseDescribing, oem.PhaseDone}
	if !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}

	if last := events[len(events)-1]; last.Done != 2 || last.Total != 2 {
		t.Errorf("last event %+v, want 2 of 2", last)
	}

	for _, e := range events {
		if e.Phase == oem.PhaseApplying && e.Total != 1 {
			t.Errorf("applying event %+v, want a total of 1", e)
		}
	}

	if !strings.Contains(logs.String(), "run finished") ||
		!strings.Contains(logs.String(), "connector=bmw") {
		t.Errorf("log lacks the run and connector lines:\n%s", logs.String())
	}
}

// A describing connector that panics fails itself, not the connector whose
// vehicles it describes; cancelling during descriptions keeps what was
// described.
func TestIngesterDescribePanicAndCancel(t *testing.T) {
	t.Parallel()

	renaultV, fordV := mkVIN("VF1", 1), mkVIN("WF0", 2)
	s := newStore(t, wanted(renaultV, "", true), wanted(fordV, "", true))
	hm := newFake("hm").SetStatus(renaultV, oem.StatusActive).SetStatus(fordV, oem.StatusActive).
		SetInfo(info(fordV, oem.MakeFord, "Puma"))
	renault := newFake("renault").Panic(oemtest.MethodDescribe, "renault decoder bug")

	rep, err := newIngester(t, s, nil, []oem.Connector{hm, renault}).Run(t.Context(),
		oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(rep.Failed, []string{"renault"}) ||
		!strings.Contains(rep.Connectors["renault"].Error, "renault decoder bug") {
		t.Errorf("failed %v, renault error %q", rep.Failed, rep.Connectors["renault"].Error)
	}

	if cr := rep.Connectors["hm"]; cr.Error != "" || cr.Described != 1 {
		t.Errorf("hm report %+v", cr)
	}

	if v := vehicle(t, s, fordV); v.Model != "Puma" {
		t.Errorf("Ford model %q", v.Model)
	}

	if v := vehicle(t, s, renaultV); v.Status != oem.StatusActive || !v.DescribedAt.IsZero() {
		t.Errorf("Renault stored %s described %s; want active, not described", v.Status,
			v.DescribedAt)
	}

	// Cancelled while the second description batch hangs: the first batch
	// is saved, the run is marked cancelled.
	a, b := mkVIN("WBA", 1), mkVIN("WBA", 2)
	s2 := newStore(t, wanted(a, "", true), wanted(b, "", true))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	bmw := newFake("bmw").SetBatchSize(1).SetConcurrency(1).
		SetStatus(a, oem.StatusActive).SetInfo(info(a, "BMW", "i3")).
		SetStatus(b, oem.StatusActive).SetInfo(info(b, "BMW", "i4"))
	bmw.OnCall(oemtest.MethodDescribe, func(_ context.Context, vins []oem.VIN) {
		if vins[0] == b {
			bmw.Hang(oemtest.MethodDescribe)
			cancel()
		}
	})

	rep, err = newIngester(t, s2, nil, []oem.Connector{bmw.Connector()}).Run(ctx,
		oem.RunOptions{})
	if !errors.Is(err, context.Canceled) || !rep.Cancelled {
		t.Fatalf("Run = %v, cancelled %v", err, rep.Cancelled)
	}

	if v := vehicle(t, s2, a); v.Model != "i3" || !v.DescribedAt.Equal(t0) {
		t.Errorf("first batch not saved: %q %s", v.Model, v.DescribedAt)
	}

	if v := vehicle(t, s2, b); v.Status != oem.StatusActive || !v.DescribedAt.IsZero() {
		t.Errorf("second vehicle %s described %s", v.Status, v.DescribedAt)
	}

	if r, _ := s2.Run(rep.RunID); r.State != "cancelled" {
		t.Errorf("run state %q", r.State)
	}
}

// TestIngesterLeavesOutWhatAStoreRefuses lists one vehicle with a value no
// store keeps (its OEM status word is not UTF-8) and describes another with
// a model name holding a NUL byte. The first is left out of its save with an
// error naming it and the others in the same batch land; the description's
// bad name is dropped as implausible and the rest of it kept. The
// connector's run does not fail.
func TestIngesterLeavesOutWhatAStoreRefuses(t *testing.T) {
	t.Parallel()

	var entries []oem.FleetEntry
	badRaw, badModel := mkVIN("WBA", 3), mkVIN("WBA", 4)
	f := newFake("bmw")
	for i := range 6 {
		v := mkVIN("WBA", i)
		entries = append(entries, wanted(v, "", true))
		in := info(v, "BMW", "i3")
		in.Version = "MT337"
		switch v {
		case badRaw:
			f.SetObserved(oem.Observed{VIN: v, Status: oem.StatusActive, Raw: "ACTIVE\xff"})
		case badModel:
			in.Model = "i3\x00"
			f.SetStatus(v, oem.StatusActive)
		default:
			f.SetStatus(v, oem.StatusActive)
		}

		f.SetInfo(in)
	}

	s := newStore(t, entries...)
	rep, err := newIngester(t, s, nil, []oem.Connector{f.Connector()}).Run(t.Context(),
		oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if len(rep.Failed) != 0 || rep.Errors[oem.KindOf(oem.ErrInvalidInput)] != 1 {
		t.Errorf("report failed %v, errors %v; want no failed connector and one invalid_input",
			rep.Failed, rep.Errors)
	}

	stored := allVehicles(t, s)
	if len(stored) != 5 || slices.ContainsFunc(stored, func(v oem.Vehicle) bool {
		return v.VIN == badRaw
	}) {
		t.Fatalf("stored %d vehicles; want the 5 without the refused status word", len(stored))
	}

	for _, v := range stored {
		wantModel := "i3"
		if v.VIN == badModel {
			wantModel = ""
		}

		if v.DescribedAt.IsZero() || v.Model != wantModel || v.Version != "MT337" {
			t.Errorf("%s: model %q version %q described at %v; want model %q, version MT337, "+
				"described", v.VIN, v.Model, v.Version, v.DescribedAt, wantModel)
		}
	}
}
