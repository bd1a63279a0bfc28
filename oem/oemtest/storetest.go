package oemtest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// TestStore is the conformance suite of oem.Store: every store in this
// repository runs it, and so can yours. open must return a new, empty store
// for each call; TestStore closes it when the subtest ends. The subtests run
// in parallel.
//
// Besides what the oem.Store documentation says, the suite holds a store to
// these rules, which the stores of this repository follow:
//
//   - times come back equal (time.Time.Equal) to what was written, at
//     microsecond precision; contract start and end dates come back as the
//     calendar day;
//   - a vehicle's Status, RawStatus and Reason go together: a known Status
//     replaces all three, an empty Status keeps all three;
//   - MissingSince is cleared when a vehicle is saved with a SeenAt and no
//     MissingSince (the OEM lists it again);
//   - a batch with a vehicle whose VIN is empty or whose Status is not a
//     canonical one fails whole with an error wrapping oem.ErrInvalidInput;
//   - FinishRun of an unknown run fails with an error wrapping
//     oem.ErrNotFound;
//   - values a store returns are copies: changing them changes nothing
//     stored;
//   - a store that implements oem.Locker refuses a held lock to every other
//     TryLock, the same store's included, until unlock; unlock is safe to
//     call twice and never frees a later holder's lock (stores that do not
//     implement it skip that subtest).
func TestStore(t *testing.T, open func(t *testing.T) oem.Store) {
	t.Helper()

	newStore := func(t *testing.T) oem.Store {
		t.Helper()

		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})

		return s
	}

	run := func(name string, f func(t *testing.T, s oem.Store)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newStore(t))
		})
	}

	run("PutFleet/round trip", stFleetRoundTrip)
	run("PutFleet/first entry wins", stFleetFirstWins)
	run("PutFleet/unknown never replaces known", stFleetKeepsKnown)
	run("PutFleet/invalid VIN fails whole", stFleetInvalid)
	run("Fleet/owner filter", stFleetOwnerFilter)
	run("SaveBatch/round trip", stVehicleRoundTrip)
	run("SaveBatch/unknown never replaces known", stVehicleKeepsKnown)
	run("SaveBatch/status, reason and missing", stVehicleStatusGroup)
	run("SaveBatch/same VIN twice", stVehicleTwice)
	run("SaveBatch/model linking", stModelLinking)
	run("SaveBatch/model metadata fill", stModelFill)
	run("SaveBatch/atomic", stAtomic)
	run("SaveBatch/values a store cannot keep", stBadValues)
	run("SaveBatch/model link keeps precision", stModelLinkPrecision)
	run("PutFleet and UpsertModels/values a store cannot keep", stBadEntriesAndModels)
	run("SaveBatch/concurrent writers", stConcurrent)
	run("Vehicles/query", stVehiclesQuery)
	run("History/append-only and de-duplicated", stHistory)
	run("Models/order and filter", stModelsOrder)
	run("UpsertModels/known replaces, unknown keeps", stUpsertModels)
	run("CleanupModels", stCleanupModels)
	run("Runs", stRuns)
	run("copies", stCopies)
	run("Locker", stLocker)
}

// stLocker checks oem.Locker on one store: exclusion, release, and unlock
// called twice.
func stLocker(t *testing.T, s oem.Store) {
	l, ok := s.(oem.Locker)
	if !ok {
		t.Skipf("%T does not implement oem.Locker", s)
	}

	const key, other = "vehicleinfo/connector/test", "vehicleinfo/connector/other"
	try := func(key, why string, want bool) func() {
		t.Helper()

		unlock, ok, err := l.TryLock(t.Context(), key)
		if err != nil {
			t.Fatalf("TryLock(%q) %s: %v", key, why, err)
		}

		if ok != want || (unlock != nil) != ok {
			t.Fatalf("TryLock(%q) %s = unlock %v, %v; want %v",
				key, why, unlock != nil, ok, want)
		}

		return unlock
	}

	first := try(key, "on a free lock", true)
	try(key, "while held", false)
	try(other, "of another key while the first is held", true)()
	first()

	second := try(key, "after unlock", true)
	first() // stale: the lock is second's now
	try(key, "after a stale second unlock", false)
	second()
	try(key, "after both unlocks", true)()
}

// stVIN returns a valid VIN: the WMI followed by n in 14 digits.
func stVIN(wmi string, n int) oem.VIN {
	return oem.MustParseVIN(fmt.Sprintf("%s%014d", wmi, n))
}

var stZone = time.FixedZone("CEST", 2*60*60)

// stTime is a fixed time at microsecond precision, in a zone that is not UTC.
func stTime(day, hour int) time.Time {
	return time.Date(2025, time.March, day, hour, 4, 5, 123456000, stZone)
}

func stDate(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func stBool(b bool) *bool { return &b }

// stFullVehicle is a vehicle with every field known.
func stFullVehicle(vin oem.VIN) oem.Vehicle {
	return oem.Vehicle{
		FleetEntry: oem.FleetEntry{
			VIN: vin, Owner: "Ayvens", Make: "BMW", Model: "i3 hint", Type: "hint type",
			Connector: "bmw", LicencePlate: "AB-123-CD", Country: "FR",
			StartDate: stDate(2024, time.April, 3), EndDate: stDate(2028, time.April, 2),
			WantActive: true, Displayed: true, Eligible: stBool(true), Line: 7,
		},
		Connector: "bmw", Account: "fleet-1", Model: "i3", Version: "MT337", Type: "94",
		ModelYear: 2019, Powertrain: oem.PowertrainBEV, BatteryKWh: 42.2, RangeKm: 310,
		WarrantyKm: 160000, WarrantyYears: 8, ImageURL: "https://img.example/i3.png",
		Status: oem.StatusActive, RawStatus: "ACTIVATED", Reason: "consent given",
		StatusChangedAt: stTime(1, 10), DescribedAt: stTime(2, 11), SeenAt: stTime(3, 12),
		MissingSince: stTime(4, 13), UpdatedAt: stTime(5, 14),
		Sources: map[oem.Field]string{
			oem.FieldModel:      "bmw:basic:model",
			oem.FieldBatteryKWh: "bmw:basic:capacity",
		},
	}
}

// stNorm makes a vehicle comparable: times in UTC, the model ID cleared.
func stNorm(v oem.Vehicle) oem.Vehicle {
	for _, p := range []*time.Time{&v.StartDate, &v.EndDate, &v.StatusChangedAt,
		&v.DescribedAt, &v.SeenAt, &v.MissingSince, &v.UpdatedAt} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}

	if len(v.Sources) == 0 {
		v.Sources = nil
	}

	v.ModelID = 0

	return v
}

func stNormEntry(e oem.FleetEntry) oem.FleetEntry {
	if !e.StartDate.IsZero() {
		e.StartDate = e.StartDate.UTC()
	}

	if !e.EndDate.IsZero() {
		e.EndDate = e.EndDate.UTC()
	}

	return e
}

func stSave(t *testing.T, s oem.Store, b oem.Batch) {
	t.Helper()

	if err := s.SaveBatch(t.Context(), b); err != nil {
		t.Fatalf("SaveBatch: %v", err)
	}
}

func stVehicles(t *testing.T, s oem.Store, q oem.VehicleQuery) []oem.Vehicle {
	t.Helper()

	vs, err := s.Vehicles(t.Context(), q)
	if err != nil {
		t.Fatalf("Vehicles: %v", err)
	}

	return vs
}

// stOne returns the stored vehicle vin, failing when it is absent.
func stOne(t *testing.T, s oem.Store, vin oem.VIN) oem.Vehicle {
	t.Helper()

	vs := stVehicles(t, s, oem.VehicleQuery{VINs: []oem.VIN{vin}})
	if len(vs) != 1 {
		t.Fatalf("Vehicles(%s) returned %d vehicles, want 1", vin, len(vs))
	}

	return vs[0]
}

func stFleet(t *testing.T, s oem.Store, owner string) []oem.FleetEntry {
	t.Helper()

	es, err := s.Fleet(t.Context(), oem.FleetFilter{Owner: owner})
	if err != nil {
		t.Fatalf("Fleet(%q): %v", owner, err)
	}

	return es
}

func stModels(t *testing.T, s oem.Store) []oem.Model {
	t.Helper()

	ms, err := s.Models(t.Context())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}

	return ms
}

func stHistoryOf(t *testing.T, s oem.Store, vin oem.VIN) []oem.StatusChange {
	t.Helper()

	hs, err := s.History(t.Context(), vin)
	if err != nil {
		t.Fatalf("History(%s): %v", vin, err)
	}

	for i := range hs {
		hs[i].At = hs[i].At.UTC()
	}

	return hs
}

func stVINs[T any](list []T, vin func(T) oem.VIN) []oem.VIN {
	out := make([]oem.VIN, 0, len(list))
	for _, x := range list {
		out = append(out, vin(x))
	}

	return out
}

func stEntryVIN(e oem.FleetEntry) oem.VIN { return e.VIN }
func stVehicleVIN(v oem.Vehicle) oem.VIN  { return v.VIN }

func stFleetRoundTrip(t *testing.T, s oem.Store) {
	a, b := stVIN("WBA", 1), stVIN("WBA", 2)
	want := []oem.FleetEntry{
		{
			VIN: a, Owner: "Ayvens", Make: "BMW", Model: "i3", Type: "94", Connector: "bmw",
			LicencePlate: "AB-123-CD", Country: "FR", StartDate: stDate(2024, time.April, 3),
			EndDate: stDate(2027, time.December, 31), WantActive: true, Displayed: true,
			Eligible: stBool(false), Line: 2,
		},
		{VIN: b, Owner: "Leasys"}, // nearly everything unknown
	}

	if err := s.PutFleet(t.Context(), []oem.FleetEntry{want[1], want[0]}); err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	got := stFleet(t, s, "")
	if len(got) != 2 {
		t.Fatalf("Fleet returned %d entries, want 2: %+v", len(got), got)
	}

	for i := range want {
		if g, w := stNormEntry(got[i]), stNormEntry(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func stFleetFirstWins(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	err := s.PutFleet(t.Context(), []oem.FleetEntry{
		{VIN: vin, Owner: "Ayvens", LicencePlate: "FIRST"},
		{VIN: vin, Owner: "Leasys", LicencePlate: "SECOND", Country: "DE"},
	})
	if err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	got := stFleet(t, s, "")
	if len(got) != 1 {
		t.Fatalf("Fleet returned %d entries, want 1", len(got))
	}

	if got[0].Owner != "Ayvens" || got[0].LicencePlate != "FIRST" || got[0].Country != "" {
		t.Errorf("Fleet = %+v, want the first entry (Ayvens, FIRST, no country)", got[0])
	}
}

func stFleetKeepsKnown(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	first := oem.FleetEntry{
		VIN: vin, Owner: "Ayvens", Make: "BMW", Model: "i3", Type: "94", Connector: "bmw",
		LicencePlate: "AB-123-CD", Country: "FR", StartDate: stDate(2024, time.April, 3),
		EndDate: stDate(2027, time.December, 31), WantActive: true, Displayed: true,
		Eligible: stBool(true), Line: 2,
	}
	if err := s.PutFleet(t.Context(), []oem.FleetEntry{first}); err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	// Only the booleans and the owner are known in the second write.
	if err := s.PutFleet(t.Context(), []oem.FleetEntry{{VIN: vin, Owner: "Leasys"}}); err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	want := first
	want.Owner, want.WantActive, want.Displayed = "Leasys", false, false
	got := stFleet(t, s, "")
	if len(got) != 1 {
		t.Fatalf("Fleet returned %d entries, want 1", len(got))
	}

	if g, w := stNormEntry(got[0]), stNormEntry(want); !reflect.DeepEqual(g, w) {
		t.Errorf("after a write with unknown values:\n got %+v\nwant %+v", g, w)
	}
}

func stFleetInvalid(t *testing.T, s oem.Store) {
	err := s.PutFleet(t.Context(), []oem.FleetEntry{
		{VIN: stVIN("WBA", 1), Owner: "Ayvens"},
		{VIN: "NOT-A-VIN", Owner: "Ayvens"},
	})
	if !errors.Is(err, oem.ErrInvalidInput) {
		t.Fatalf("PutFleet with a bad VIN: err = %v, want oem.ErrInvalidInput", err)
	}

	if got := stFleet(t, s, ""); len(got) != 0 {
		t.Errorf("a failed PutFleet stored %d entries, want none", len(got))
	}
}

func stFleetOwnerFilter(t *testing.T, s oem.Store) {
	entries := []oem.FleetEntry{
		{VIN: stVIN("WBA", 4), Owner: "Leasys"},
		{VIN: stVIN("WBA", 3), Owner: "Ayvens NV"},
		{VIN: stVIN("WBA", 2), Owner: "ayvens"},
		{VIN: stVIN("WBA", 1), Owner: "Ayvens"},
		{VIN: stVIN("WBA", 5)},
	}
	if err := s.PutFleet(t.Context(), entries); err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	cases := []struct {
		owner string
		want  []oem.VIN
	}{
		{"", []oem.VIN{stVIN("WBA", 1), stVIN("WBA", 2), stVIN("WBA", 3), stVIN("WBA", 4),
			stVIN("WBA", 5)}},
		{"ayvens", []oem.VIN{stVIN("WBA", 1), stVIN("WBA", 2)}},
		{"  AYVENS ", []oem.VIN{stVIN("WBA", 1), stVIN("WBA", 2)}},
		{"ayvens nv", []oem.VIN{stVIN("WBA", 3)}},
		{"Ayvens  NV", []oem.VIN{stVIN("WBA", 3)}},
		{"Leasys", []oem.VIN{stVIN("WBA", 4)}},
		{"Ayv", nil},
		{"Arval", nil},
	}
	for _, c := range cases {
		got := stVINs(stFleet(t, s, c.owner), stEntryVIN)
		if !slices.Equal(got, c.want) {
			t.Errorf("Fleet(owner %q) = %v, want %v", c.owner, got, c.want)
		}
	}
}

func stVehicleRoundTrip(t *testing.T, s oem.Store) {
	full := stFullVehicle(stVIN("WBA", 1))
	bare := oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 2)},
		Status: oem.StatusPending, UpdatedAt: stTime(6, 1)}
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{bare, full}})

	got := stVehicles(t, s, oem.VehicleQuery{})
	if len(got) != 2 {
		t.Fatalf("Vehicles returned %d, want 2", len(got))
	}

	if got[0].ModelID <= 0 {
		t.Errorf("vehicle with a model: ModelID = %d, want a model record", got[0].ModelID)
	}

	if got[1].ModelID != 0 {
		t.Errorf("vehicle without a model: ModelID = %d, want 0", got[1].ModelID)
	}

	for i, want := range []oem.Vehicle{full, bare} {
		if g, w := stNorm(got[i]), stNorm(want); !reflect.DeepEqual(g, w) {
			t.Errorf("vehicle %s:\n got %+v\nwant %+v", want.VIN, g, w)
		}
	}

	// A zero UpdatedAt is filled by the store.
	other := oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 3)}}
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{other}})
	if v := stOne(t, s, other.VIN); v.UpdatedAt.IsZero() {
		t.Errorf("a vehicle saved without UpdatedAt reads back with none")
	}
}

func stVehicleKeepsKnown(t *testing.T, s oem.Store) {
	full := stFullVehicle(stVIN("WBA", 1))
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{full}})
	before := stOne(t, s, full.VIN)

	// Everything unknown but the booleans (false), UpdatedAt and one new
	// source.
	partial := oem.Vehicle{
		FleetEntry: oem.FleetEntry{VIN: full.VIN},
		UpdatedAt:  stTime(9, 9),
		Sources:    map[oem.Field]string{oem.FieldRangeKm: "bmw:range"},
	}
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{partial}})

	want := full
	want.WantActive, want.Displayed = false, false
	want.UpdatedAt = partial.UpdatedAt
	want.Sources = map[oem.Field]string{
		oem.FieldModel:      "bmw:basic:model",
		oem.FieldBatteryKWh: "bmw:basic:capacity",
		oem.FieldRangeKm:    "bmw:range",
	}

	got := stOne(t, s, full.VIN)
	if g, w := stNorm(got), stNorm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("after a save with unknown values:\n got %+v\nwant %+v", g, w)
	}

	if got.ModelID != before.ModelID {
		t.Errorf("ModelID changed from %d to %d on a save without a model", before.ModelID,
			got.ModelID)
	}

	// Known values do replace.
	changed := full
	changed.Owner, changed.BatteryKWh, changed.Account = "Leasys", 39.9, "fleet-2"
	changed.DescribedAt = stTime(10, 1)
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{changed}})

	got = stOne(t, s, full.VIN)
	if got.Owner != "Leasys" || got.BatteryKWh != 39.9 || got.Account != "fleet-2" ||
		!got.DescribedAt.Equal(changed.DescribedAt) {
		t.Errorf("known values did not replace stored ones: %+v", got)
	}
}

func stVehicleStatusGroup(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: oem.FleetEntry{VIN: vin}, Status: oem.StatusRejected,
		RawStatus: "REJECTED", Reason: "driver refused", MissingSince: stTime(1, 1),
	}}})

	// No status: status, raw and reason stay; no SeenAt: missing stays.
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin},
		Model: "i3"}}})
	got := stOne(t, s, vin)
	if got.Status != oem.StatusRejected || got.RawStatus != "REJECTED" ||
		got.Reason != "driver refused" || !got.MissingSince.Equal(stTime(1, 1)) {
		t.Errorf("a save without status changed status, reason or missing: %+v", got)
	}

	// A new status replaces raw and reason, even with empty ones; a SeenAt
	// clears MissingSince.
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin},
		Status: oem.StatusActive, SeenAt: stTime(2, 2)}}})
	got = stOne(t, s, vin)
	if got.Status != oem.StatusActive || got.RawStatus != "" || got.Reason != "" {
		t.Errorf("status %q raw %q reason %q, want active with no raw word or reason",
			got.Status, got.RawStatus, got.Reason)
	}

	if !got.MissingSince.IsZero() || !got.SeenAt.Equal(stTime(2, 2)) {
		t.Errorf("seen again: MissingSince = %v, SeenAt = %v; want zero and %v",
			got.MissingSince, got.SeenAt, stTime(2, 2))
	}

	// Missing again.
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin},
		MissingSince: stTime(3, 3)}}})
	if got := stOne(t, s, vin); !got.MissingSince.Equal(stTime(3, 3)) {
		t.Errorf("MissingSince = %v, want %v", got.MissingSince, stTime(3, 3))
	}
}

func stVehicleTwice(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
		{FleetEntry: oem.FleetEntry{VIN: vin, Owner: "Ayvens"}, Model: "i3", RangeKm: 300},
		{FleetEntry: oem.FleetEntry{VIN: vin}, Status: oem.StatusActive, RangeKm: 310},
	}})

	got := stVehicles(t, s, oem.VehicleQuery{})
	if len(got) != 1 {
		t.Fatalf("Vehicles returned %d, want 1", len(got))
	}

	v := got[0]
	if v.Owner != "Ayvens" || v.Model != "i3" || v.Status != oem.StatusActive || v.RangeKm != 310 {
		t.Errorf("the same VIN twice in a batch: got %+v; want owner Ayvens, model i3, "+
			"status active, range 310", v)
	}
}

func stModelLinking(t *testing.T, s oem.Store) {
	mk := func(n int, model, typ, version string) oem.Vehicle {
		return oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", n), Make: "BMW"},
			Model: model, Type: typ, Version: version}
	}
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
		mk(1, "i3", "94", "MT337"), mk(2, "i3", "94", "MT337"), mk(3, "i3", "94", ""),
		mk(4, "iX", "", ""), mk(5, "", "94", "MT337"),
	}})
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{mk(6, "i3", "94", "MT337")}})

	byVIN := map[oem.VIN]int64{}
	for _, v := range stVehicles(t, s, oem.VehicleQuery{}) {
		byVIN[v.VIN] = v.ModelID
	}

	id := func(n int) int64 { return byVIN[stVIN("WBA", n)] }
	if id(1) <= 0 || id(1) != id(2) || id(1) != id(6) {
		t.Errorf("same model key: model IDs %d, %d, %d; want one record", id(1), id(2), id(6))
	}

	if id(3) <= 0 || id(3) == id(1) || id(4) <= 0 || id(4) == id(3) {
		t.Errorf("different model keys: model IDs %d, %d, %d; want three records",
			id(1), id(3), id(4))
	}

	if id(5) != 0 {
		t.Errorf("vehicle without a model name: ModelID = %d, want 0", id(5))
	}

	// A later save without a model keeps the link.
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 1)},
		Status: oem.StatusActive}}})
	if got := stOne(t, s, stVIN("WBA", 1)).ModelID; got != id(1) {
		t.Errorf("ModelID after a save without model = %d, want %d", got, id(1))
	}

	// No model record has metadata yet, so none is listed.
	if ms := stModels(t, s); len(ms) != 0 {
		t.Errorf("Models = %+v, want none (no metadata known)", ms)
	}
}

func stModelFill(t *testing.T, s oem.Store) {
	curated := oem.Model{Make: "BMW", Name: "i3", Type: "94", Version: "MT337",
		WarrantyKm: 160000, ImageURL: "https://img.example/curated.png"}
	if err := s.UpsertModels(t.Context(), []oem.Model{curated}); err != nil {
		t.Fatalf("UpsertModels: %v", err)
	}

	v := oem.Vehicle{
		FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 1), Make: "BMW"},
		Model:      "i3", Type: "94", Version: "MT337",
		BatteryKWh: 42.2, WarrantyKm: 100000, WarrantyYears: 8,
		ImageURL: "https://img.example/described.png",
	}
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{v}})

	ms := stModels(t, s)
	if len(ms) != 1 {
		t.Fatalf("Models returned %d, want 1: %+v", len(ms), ms)
	}

	m := ms[0]
	if m.WarrantyKm != 160000 || m.ImageURL != curated.ImageURL {
		t.Errorf("a description overwrote curated metadata: %+v", m)
	}

	if m.BatteryKWh != 42.2 || m.WarrantyYears != 8 {
		t.Errorf("a description did not fill unknown metadata: %+v", m)
	}

	if got := stOne(t, s, v.VIN).ModelID; got != m.ID || got <= 0 {
		t.Errorf("vehicle ModelID = %d, want the curated record %d", got, m.ID)
	}

	// The vehicle keeps its own values.
	if got := stOne(t, s, v.VIN); got.WarrantyKm != 100000 || got.ImageURL != v.ImageURL {
		t.Errorf("vehicle's own metadata not kept: %+v", got)
	}

	// A second description with other values changes nothing more.
	v2 := v
	v2.VIN = stVIN("WBA", 2)
	v2.BatteryKWh, v2.WarrantyYears = 37.9, 5
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{v2}})
	if m2 := stModels(t, s)[0]; m2.BatteryKWh != 42.2 || m2.WarrantyYears != 8 || m2.ID != m.ID {
		t.Errorf("a second description overwrote filled metadata: %+v", m2)
	}
}

func stAtomic(t *testing.T, s oem.Store) {
	good := stFullVehicle(stVIN("WBA", 1))
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{good}})
	before := stOne(t, s, good.VIN)

	changed := good
	changed.Account, changed.Model = "other-account", "i4"

	newOne := oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 2)},
		Status: oem.StatusPending}
	history := oem.StatusChange{VIN: good.VIN, From: oem.StatusPending, To: oem.StatusActive,
		At: stTime(1, 1)}

	bad := []struct {
		name  string
		batch oem.Batch
	}{
		{"empty VIN", oem.Batch{Vehicles: []oem.Vehicle{changed, newOne, {}},
			History: []oem.StatusChange{history}}},
		{"invalid status", oem.Batch{Vehicles: []oem.Vehicle{changed, newOne,
			{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 3)}, Status: "sleeping"}},
			History: []oem.StatusChange{history}}},
		{"invalid history status", oem.Batch{Vehicles: []oem.Vehicle{changed, newOne},
			History: []oem.StatusChange{history, {VIN: good.VIN, From: oem.StatusActive,
				To: "gone", At: stTime(2, 2)}}}},
	}
	for _, c := range bad {
		err := s.SaveBatch(t.Context(), c.batch)
		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("%s: SaveBatch err = %v, want oem.ErrInvalidInput", c.name, err)
		}
	}

	got := stVehicles(t, s, oem.VehicleQuery{})
	if len(got) != 1 {
		t.Fatalf("failed batches left %d vehicles, want the 1 saved before", len(got))
	}

	if g, w := stNorm(got[0]), stNorm(before); !reflect.DeepEqual(g, w) {
		t.Errorf("failed batches changed a stored vehicle:\n got %+v\nwant %+v", g, w)
	}

	if got[0].ModelID != before.ModelID {
		t.Errorf("failed batches changed the model link")
	}

	if hs := stHistoryOf(t, s, good.VIN); len(hs) != 0 {
		t.Errorf("failed batches stored %d history rows", len(hs))
	}

	if ms := stModels(t, s); len(ms) != 1 || ms[0].Name != "i3" {
		t.Errorf("failed batches changed the models: %+v", ms)
	}
}

// stBadValues saves vehicles with one value no store can keep as given:
// each batch fails with a *oem.VehicleError naming the vehicle and wrapping
// oem.ErrInvalidInput, and what was stored stays as it was.
func stBadValues(t *testing.T, s oem.Store) {
	good := stFullVehicle(stVIN("WBA", 1))
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{good}})
	before := stOne(t, s, good.VIN)

	badVIN := stVIN("WBA", 2)
	long := strings.Repeat("x", oem.MaxKeyBytes+1)
	for name, bad := range map[string]func(v *oem.Vehicle){
		"seen in year 10000":    func(v *oem.Vehicle) { v.SeenAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"start in year 0":       func(v *oem.Vehicle) { v.StartDate = time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC) },
		"described before AD 1": func(v *oem.Vehicle) { v.DescribedAt = time.Date(-50, 6, 1, 0, 0, 0, 0, time.UTC) },
		"NUL in the plate":      func(v *oem.Vehicle) { v.LicencePlate = "AB\x00CD" },
		"NUL in the model":      func(v *oem.Vehicle) { v.Model = "i3\x00" },
		"NUL in a source":       func(v *oem.Vehicle) { v.Sources = map[oem.Field]string{oem.FieldModel: "a\x00"} },
		"bad UTF-8 account":     func(v *oem.Vehicle) { v.Account = "fleet-\xff" },
		"owner too long":        func(v *oem.Vehicle) { v.Owner = long },
		"model too long":        func(v *oem.Vehicle) { v.Model = long },
		"line past 32 bits":     func(v *oem.Vehicle) { v.Line = 1 << 40 },
		"negative warranty":     func(v *oem.Vehicle) { v.WarrantyYears = -3 },
		"unknown powertrain":    func(v *oem.Vehicle) { v.Powertrain = "steam" },
	} {
		v := stFullVehicle(badVIN)
		bad(&v)

		changed := good
		changed.Account = "other-account"
		err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{changed, v}})
		ve, ok := oem.AsVehicleError(err)
		if !errors.Is(err, oem.ErrInvalidInput) || !ok || ve.VIN != badVIN {
			t.Errorf("%s: SaveBatch err = %v; want a *oem.VehicleError for %s wrapping "+
				"oem.ErrInvalidInput", name, err, badVIN)
		}
	}

	got := stVehicles(t, s, oem.VehicleQuery{})
	if len(got) != 1 || !reflect.DeepEqual(stNorm(got[0]), stNorm(before)) {
		t.Errorf("refused batches changed what was stored: %+v", got)
	}
}

// stBadEntriesAndModels checks PutFleet and UpsertModels refuse what
// SaveBatch refuses, the same way on every store.
func stBadEntriesAndModels(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	for name, e := range map[string]oem.FleetEntry{
		"line past 32 bits": {VIN: vin, Line: 1 << 40},
		"start in year 0":   {VIN: vin, StartDate: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		"NUL in the owner":  {VIN: vin, Owner: "Ay\x00vens"},
	} {
		err := s.PutFleet(t.Context(), []oem.FleetEntry{{VIN: stVIN("WBA", 2)}, e})
		ve, ok := oem.AsVehicleError(err)
		if !errors.Is(err, oem.ErrInvalidInput) || !ok || ve.VIN != vin {
			t.Errorf("PutFleet with %s: err = %v; want a *oem.VehicleError for %s wrapping "+
				"oem.ErrInvalidInput", name, err, vin)
		}
	}

	if es := stFleet(t, s, ""); len(es) != 0 {
		t.Errorf("refused PutFleet calls stored %d entries", len(es))
	}

	for name, m := range map[string]oem.Model{
		"warranty km past 32 bits": {Make: "BMW", Name: "i3", WarrantyKm: 1 << 31},
		"negative warranty years":  {Make: "BMW", Name: "i3", WarrantyYears: -3},
		"NaN capacity":             {Make: "BMW", Name: "i3", BatteryKWh: math.NaN()},
		"blank name":               {Make: "BMW", Name: "   ", ImageURL: "https://img.example/x.png"},
	} {
		err := s.UpsertModels(t.Context(), []oem.Model{m})
		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("UpsertModels with %s: err = %v, want oem.ErrInvalidInput", name, err)
		}
	}

	if ms := stModels(t, s); len(ms) != 0 {
		t.Errorf("refused UpsertModels calls stored %+v", ms)
	}
}

// stModelLinkPrecision checks a vehicle stays linked to the model its merged
// names give: a later description without type or version does not move it
// to a less precise record, and names are compared trimmed.
func stModelLinkPrecision(t *testing.T, s oem.Store) {
	vin := stVIN("WBA", 1)
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin, Make: "BMW"},
		Model: "i3", Type: "94", Version: "MT337", BatteryKWh: 33}}})
	first := stOne(t, s, vin)

	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin},
		Model: " i3 "}}})
	got := stOne(t, s, vin)
	if got.ModelID != first.ModelID || got.Model != "i3" || got.Type != "94" ||
		got.Version != "MT337" || got.Make != "BMW" {
		t.Errorf("after a description with the model only: model %d %q %q %q make %q; "+
			"want model %d i3 94 MT337 make BMW", got.ModelID, got.Model, got.Type,
			got.Version, got.Make, first.ModelID)
	}

	ms := stModels(t, s)
	if len(ms) != 1 || ms[0].ID != first.ModelID || ms[0].BatteryKWh != 33 {
		t.Errorf("Models = %+v, want the one i3 94 MT337 record with its 33 kWh", ms)
	}

	// A blank model name is no model name: no record, no link.
	other := stVIN("WBA", 2)
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: other},
		Model: "   ", Type: "94"}}})
	if v := stOne(t, s, other); v.ModelID != 0 || v.Model != "" {
		t.Errorf("blank model name: ModelID %d, Model %q; want no link and no name",
			v.ModelID, v.Model)
	}
}

func stConcurrent(t *testing.T, s oem.Store) {
	const writers, n = 8, 40

	vins := make([]oem.VIN, n)
	for i := range vins {
		vins[i] = stVIN("WBA", i+1)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		wg.Go(func() {
			b := oem.Batch{}
			for i := range n {
				// Each writer goes through the VINs in its own order.
				vin := vins[(i*7+w*13)%n]
				b.Vehicles = append(b.Vehicles, oem.Vehicle{
					FleetEntry: oem.FleetEntry{VIN: vin, Owner: "Ayvens", Make: "BMW"},
					Model:      "i3", Type: fmt.Sprint(i % 3), Status: oem.StatusActive,
					RangeKm: 100 + w,
				})
				b.History = append(b.History, oem.StatusChange{VIN: vin,
					From: oem.StatusPending, To: oem.StatusActive, At: stTime(1, 1)})
			}

			if err := s.SaveBatch(t.Context(), b); err != nil {
				errs <- fmt.Errorf("writer %d: SaveBatch: %w", w, err)
			}

			fleet := []oem.FleetEntry{{VIN: vins[w], Owner: "Ayvens"}, {VIN: vins[0], Owner: "Ayvens"}}
			if err := s.PutFleet(t.Context(), fleet); err != nil {
				errs <- fmt.Errorf("writer %d: PutFleet: %w", w, err)
			}
		})
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got := stVehicles(t, s, oem.VehicleQuery{})
	if len(got) != n {
		t.Fatalf("concurrent writers left %d vehicles, want %d", len(got), n)
	}

	if !slices.Equal(stVINs(got, stVehicleVIN), vins) {
		t.Errorf("vehicles not one per VIN in VIN order: %v", stVINs(got, stVehicleVIN))
	}

	for _, v := range got {
		if v.RangeKm < 100 || v.RangeKm >= 100+writers || v.Status != oem.StatusActive {
			t.Errorf("vehicle %s: range %d status %s: not one writer's row", v.VIN, v.RangeKm,
				v.Status)
		}

		if hs := stHistoryOf(t, s, v.VIN); len(hs) != 1 {
			t.Errorf("vehicle %s: %d history rows, want 1", v.VIN, len(hs))
		}
	}

	if fl := stFleet(t, s, "ayvens"); len(fl) != writers {
		t.Errorf("concurrent PutFleet left %d entries, want %d", len(fl), writers)
	}
}

func stVehiclesQuery(t *testing.T, s oem.Store) {
	var vs []oem.Vehicle
	for i, owner := range []string{"Leasys", "Ayvens NV", "Ayvens", "Ayvens", ""} {
		vs = append(vs, oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: stVIN("VF1", 5-i),
			Owner: owner}})
	}

	stSave(t, s, oem.Batch{Vehicles: vs})

	all := stVINs(stVehicles(t, s, oem.VehicleQuery{}), stVehicleVIN)
	want := []oem.VIN{stVIN("VF1", 1), stVIN("VF1", 2), stVIN("VF1", 3), stVIN("VF1", 4),
		stVIN("VF1", 5)}
	if !slices.Equal(all, want) {
		t.Errorf("Vehicles() = %v, want %v", all, want)
	}

	cases := []struct {
		q    oem.VehicleQuery
		want []oem.VIN
	}{
		{oem.VehicleQuery{Owner: " ayvens"}, []oem.VIN{stVIN("VF1", 2), stVIN("VF1", 3)}},
		{oem.VehicleQuery{Owner: "AYVENS NV"}, []oem.VIN{stVIN("VF1", 4)}},
		{oem.VehicleQuery{VINs: []oem.VIN{stVIN("VF1", 5), stVIN("VF1", 1), stVIN("VF1", 9)}},
			[]oem.VIN{stVIN("VF1", 1), stVIN("VF1", 5)}},
		{oem.VehicleQuery{Owner: "Ayvens", VINs: []oem.VIN{stVIN("VF1", 3), stVIN("VF1", 4)}},
			[]oem.VIN{stVIN("VF1", 3)}},
		{oem.VehicleQuery{Owner: "Arval"}, nil},
	}
	for _, c := range cases {
		got := stVINs(stVehicles(t, s, c.q), stVehicleVIN)
		if !slices.Equal(got, c.want) {
			t.Errorf("Vehicles(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func stHistory(t *testing.T, s oem.Store) {
	runID, err := s.StartRun(t.Context(), oem.Run{Owner: "Ayvens", StartedAt: stTime(1, 0)})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}

	vin := stVIN("WBA", 1)
	h1 := oem.StatusChange{VIN: vin, Connector: "bmw", From: oem.StatusInactive,
		To: oem.StatusPending, Raw: "PENDING", Reason: "requested", At: stTime(1, 1)}
	h2 := oem.StatusChange{VIN: vin, Connector: "bmw", From: oem.StatusPending,
		To: oem.StatusActive, Raw: "ACTIVATED", At: stTime(2, 1)}
	v := oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: vin}, Status: oem.StatusActive}

	// Newest first in the batch, and h1 twice.
	stSave(t, s, oem.Batch{RunID: runID, Vehicles: []oem.Vehicle{v},
		History: []oem.StatusChange{h2, h1, h1}})
	// The same rows again: not added twice.
	stSave(t, s, oem.Batch{RunID: runID, Vehicles: []oem.Vehicle{v},
		History: []oem.StatusChange{h1, h2}})

	want := []oem.StatusChange{h1, h2}
	for i := range want {
		want[i].RunID = runID
		want[i].At = want[i].At.UTC()
	}

	got := stHistoryOf(t, s, vin)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("History:\n got %+v\nwant %+v", got, want)
	}

	// The same change at another time is another row; a row's own RunID
	// wins over the batch's.
	h3 := h1
	h3.At, h3.RunID = stTime(3, 1), 0
	stSave(t, s, oem.Batch{History: []oem.StatusChange{h3}})
	got = stHistoryOf(t, s, vin)
	if len(got) != 3 || !got[2].At.Equal(h3.At) || got[2].RunID != 0 {
		t.Errorf("History after a repeated change = %+v, want a third row at %v with no run",
			got, h3.At)
	}

	if other := stHistoryOf(t, s, stVIN("WBA", 2)); len(other) != 0 {
		t.Errorf("History of a VIN never saved = %+v, want none", other)
	}
}

func stModelsOrder(t *testing.T, s oem.Store) {
	models := []oem.Model{
		{Make: "Renault", Name: "Zoe", Type: "R135", WarrantyYears: 8},
		{Make: "BMW", Name: "i3", Type: "94", Version: "B", BatteryKWh: 33},
		{Make: "BMW", Name: "i3", Type: "120", ImageURL: "https://img.example/i3-120.png"},
		{Make: "BMW", Name: "X1", Type: "25e", WarrantyKm: 100000},
		{Make: "BMW", Name: "i3", Type: "94", Version: "A", BatteryKWh: 33},
		{Make: "BMW", Name: "iX", Type: "xDrive40"}, // no metadata: not listed
	}
	if err := s.UpsertModels(t.Context(), models); err != nil {
		t.Fatalf("UpsertModels: %v", err)
	}

	type key struct{ make, name, typ, version string }
	var got []key
	ids := map[int64]bool{}
	for _, m := range stModels(t, s) {
		got = append(got, key{m.Make, m.Name, m.Type, m.Version})
		if m.ID <= 0 || ids[m.ID] {
			t.Errorf("model %+v: ID %d not a fresh positive ID", m, m.ID)
		}

		ids[m.ID] = true
		if !m.HasMetadata() {
			t.Errorf("Models listed %+v, which has no metadata", m)
		}
	}

	want := []key{
		{"BMW", "X1", "25e", ""}, {"BMW", "i3", "120", ""}, {"BMW", "i3", "94", "A"},
		{"BMW", "i3", "94", "B"}, {"Renault", "Zoe", "R135", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Models order:\n got %v\nwant %v", got, want)
	}
}

func stUpsertModels(t *testing.T, s oem.Store) {
	m := oem.Model{Make: "BMW", Name: "i3", Type: "94", Version: "MT337", VehicleType: "hatch",
		BatteryKWh: 33, WarrantyKm: 100000, WarrantyYears: 8, ImageURL: "https://img.example/a.png"}
	if err := s.UpsertModels(t.Context(), []oem.Model{m}); err != nil {
		t.Fatalf("UpsertModels: %v", err)
	}

	first := stModels(t, s)
	if len(first) != 1 {
		t.Fatalf("Models returned %d, want 1", len(first))
	}

	want := m
	want.ID = first[0].ID
	if !reflect.DeepEqual(first[0], want) {
		t.Errorf("Models round trip:\n got %+v\nwant %+v", first[0], want)
	}

	// Known values replace; unknown ones keep.
	if err := s.UpsertModels(t.Context(), []oem.Model{{Make: "BMW", Name: "i3", Type: "94",
		Version: "MT337", WarrantyKm: 200000}}); err != nil {
		t.Fatalf("UpsertModels: %v", err)
	}

	want.WarrantyKm = 200000
	got := stModels(t, s)
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("after an update of one field:\n got %+v\nwant %+v", got, want)
	}
}

func stCleanupModels(t *testing.T, s oem.Store) {
	// Unused but curated, each with one kind of metadata: kept.
	curated := []oem.Model{
		{Make: "BMW", Name: "i3", Type: "c1", WarrantyYears: 8},
		{Make: "BMW", Name: "i3", Type: "c2", WarrantyKm: 100000},
		{Make: "BMW", Name: "i3", Type: "c3", BatteryKWh: 42.2},
		{Make: "BMW", Name: "i3", Type: "c4", ImageURL: "https://img.example/i3.png"},
	}
	if err := s.UpsertModels(t.Context(), append(curated,
		oem.Model{Make: "BMW", Name: "i3", Type: "bare"}, // unused, bare: deleted
		oem.Model{Make: "BMW", Name: "i3", Type: "used"}, // used, bare: kept
	)); err != nil {
		t.Fatalf("UpsertModels: %v", err)
	}

	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
		{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 1), Make: "BMW"}, Model: "i3", Type: "used"},
		// A vehicle without a model: a NOT IN over model IDs would see a
		// NULL here and delete nothing.
		{FleetEntry: oem.FleetEntry{VIN: stVIN("WBA", 2), Make: "BMW"}},
	}})
	usedID := stOne(t, s, stVIN("WBA", 1)).ModelID

	n, err := s.CleanupModels(t.Context())
	if err != nil {
		t.Fatalf("CleanupModels: %v", err)
	}

	if n != 1 {
		t.Errorf("CleanupModels deleted %d, want 1", n)
	}

	if n, err := s.CleanupModels(t.Context()); err != nil || n != 0 {
		t.Errorf("second CleanupModels = %d, %v; want 0, nil", n, err)
	}

	var types []string
	for _, m := range stModels(t, s) {
		types = append(types, m.Type)
	}

	if !slices.Equal(types, []string{"c1", "c2", "c3", "c4"}) {
		t.Errorf("Models after cleanup have types %v, want the curated c1…c4", types)
	}

	// The used model is still there: saving its vehicle again keeps the link.
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{
		VIN: stVIN("WBA", 1), Make: "BMW"}, Model: "i3", Type: "used"}}})
	if got := stOne(t, s, stVIN("WBA", 1)).ModelID; got != usedID {
		t.Errorf("used model's ID changed from %d to %d: it was deleted", usedID, got)
	}
}

func stRuns(t *testing.T, s oem.Store) {
	ctx := t.Context()
	a, err := s.StartRun(ctx, oem.Run{Owner: "Ayvens", StartedAt: stTime(1, 1), State: "running"})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}

	b, err := s.StartRun(ctx, oem.Run{DryRun: true, StartedAt: stTime(1, 2)})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}

	if a <= 0 || b <= 0 || a == b {
		t.Errorf("StartRun IDs %d and %d, want two distinct positive IDs", a, b)
	}

	err = s.FinishRun(ctx, oem.Run{ID: a, FinishedAt: stTime(1, 3), State: "ok",
		Report: []byte(`{"vehicles":3}`)})
	if err != nil {
		t.Errorf("FinishRun: %v", err)
	}

	if err := s.FinishRun(ctx, oem.Run{ID: b, State: "cancelled"}); err != nil {
		t.Errorf("FinishRun: %v", err)
	}

	err = s.FinishRun(ctx, oem.Run{ID: max(a, b) + 1000, State: "ok"})
	if !errors.Is(err, oem.ErrNotFound) {
		t.Errorf("FinishRun of an unknown run: err = %v, want oem.ErrNotFound", err)
	}

	// History rows carry the batch's run.
	vin := stVIN("WBA", 1)
	stSave(t, s, oem.Batch{RunID: b, Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin}}},
		History: []oem.StatusChange{{VIN: vin, To: oem.StatusPending, At: stTime(2, 2)}}})
	if hs := stHistoryOf(t, s, vin); len(hs) != 1 || hs[0].RunID != b || hs[0].From != "" {
		t.Errorf("History = %+v, want one row of run %d from no status", hs, b)
	}
}

func stCopies(t *testing.T, s oem.Store) {
	v := stFullVehicle(stVIN("WBA", 1))
	stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{v}})
	if err := s.PutFleet(t.Context(), []oem.FleetEntry{v.FleetEntry}); err != nil {
		t.Fatalf("PutFleet: %v", err)
	}

	// Changing what was written does not change what is stored.
	v.Sources[oem.FieldModel] = "changed"
	*v.Eligible = false

	got := stOne(t, s, v.VIN)
	if got.Sources[oem.FieldModel] != "bmw:basic:model" || !*got.Eligible {
		t.Fatalf("a change to the written vehicle reached the store: %+v", got)
	}

	// Changing what was read does not either.
	got.Sources[oem.FieldModel] = "changed"
	*got.Eligible = false
	again := stOne(t, s, v.VIN)
	if again.Sources[oem.FieldModel] != "bmw:basic:model" || !*again.Eligible {
		t.Errorf("a change to a read vehicle reached the store: %+v", again)
	}

	fl := stFleet(t, s, "")
	*fl[0].Eligible = false
	if fl2 := stFleet(t, s, ""); !*fl2[0].Eligible {
		t.Errorf("a change to a read fleet entry reached the store")
	}
}
