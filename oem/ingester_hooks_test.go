package oem_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

// entryFake is a fake connector that takes the wanted entries, as High
// Mobility (brands) and BMW (plates) do.
type entryFake struct {
	oem.Connector

	mu     sync.Mutex
	brands map[oem.VIN]string
	calls  int
}

func (b *entryFake) UseEntries(entries []oem.FleetEntry) error {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.calls++
	b.brands = map[oem.VIN]string{}
	for _, e := range entries {
		if e.Make != "" {
			b.brands[e.VIN] = e.Make
		}
	}

	return errors.New("brand \"Acme\" is not accepted")
}

func TestIngesterHandsEntriesToEntryUser(t *testing.T) {
	t.Parallel()

	ford, kia, noMake := mkVIN("WF0", 1), mkVIN("KNA", 2), mkVIN("YV1", 3)
	s := newStore(t,
		oem.FleetEntry{VIN: ford, Owner: "A", Make: oem.MakeFord, WantActive: true},
		oem.FleetEntry{VIN: kia, Owner: "A", Make: oem.MakeKia, WantActive: true},
		oem.FleetEntry{VIN: noMake, Owner: "A", WantActive: true})
	f := newFake("hm")
	bf := &entryFake{Connector: f}

	rep, err := newIngester(t, s, nil, []oem.Connector{bf}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The connector's refusal of some brands is a warning, not a failure.
	if len(rep.Failed) != 0 {
		t.Fatalf("failed %v", rep.Failed)
	}

	if bf.calls != 1 || len(bf.brands) != 2 || bf.brands[ford] != oem.MakeFord || bf.brands[kia] != oem.MakeKia {
		t.Fatalf("UseEntries called %d times, brands %v", bf.calls, bf.brands)
	}
}

func TestIngesterWithPlans(t *testing.T) {
	t.Parallel()

	a, b := mkVIN("WBA", 1), mkVIN("WBA", 2)
	s := newStore(t, wanted(a, "A", true), wanted(b, "A", false))
	f := newFake("bmw").SetStatus(b, oem.StatusActive)

	var plans []*oem.Plan
	rep, err := newIngester(t, s, nil, []oem.Connector{f},
		oem.WithPlans(func(p *oem.Plan) { plans = append(plans, p) })).
		Run(t.Context(), oem.RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}

	if len(plans) != 1 || plans[0].Connector != "bmw" {
		t.Fatalf("plans %v", plans)
	}

	c := plans[0].Counts()
	if c[oem.ActionActivate] != 1 || c[oem.ActionDeactivate] != 1 {
		t.Fatalf("plan counts %v", c)
	}

	if rep.Connectors["bmw"].Planned[oem.ActionActivate] != 1 {
		t.Fatalf("report planned %v", rep.Connectors["bmw"].Planned)
	}

	if got := plans[0].VINs(oem.ActionDeactivate); len(got) != 1 || got[0] != b {
		t.Fatalf("deactivate %v, want %s", got, b)
	}
}

// A change the connector cannot make (Tesla cannot enrol) is counted apart,
// not as an error of the run, and the vehicle keeps the reason.
func TestIngesterCountsUnsupportedApart(t *testing.T) {
	t.Parallel()

	a := mkVIN("5YJ", 1)
	s := newStore(t, wanted(a, "A", true))
	f := newFake("tesla").FailVehicle(oemtest.MethodActivate, a,
		fmt.Errorf("the owner must share it: %w", oem.ErrNotSupported))

	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if rep.Errors["not_supported"] != 0 || rep.Connectors["tesla"].Unsupported != 1 || len(rep.Failed) != 0 {
		t.Fatalf("errors %v, unsupported %d, failed %v", rep.Errors, rep.Connectors["tesla"].Unsupported, rep.Failed)
	}

	if v := vehicle(t, s, a); v.Status != oem.StatusInactive || !strings.Contains(v.Reason, "must share") {
		t.Fatalf("vehicle %s %q", v.Status, v.Reason)
	}
}

// An OEM that answers descriptions with a spent rate limit, or fails them
// again and again, is not asked once per vehicle: its descriptions stop and
// the connector is reported failed with the reason (CASES 15, 16).
func TestIngesterStopsDescriptionsOnRateLimit(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name string
		err  error
	}{
		{"rate limited", &oem.APIError{Connector: "bmw", StatusCode: 429, Kind: oem.ErrRateLimited}},
		{"down", &oem.APIError{Connector: "bmw", StatusCode: 502, Kind: oem.ErrTransient}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			var entries []oem.FleetEntry
			f := newFake("bmw")
			for n := range 100 {
				v := mkVIN("WBA", n)
				entries = append(entries, wanted(v, "A", true))
				f.SetStatus(v, oem.StatusActive).FailVehicle(oemtest.MethodDescribe, v, tc.err)
			}

			s := newStore(t, entries...)
			rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}

			// Ten batches; the ones in flight when the breaker trips
			// finish, and no new one starts.
			if calls := f.Calls(oemtest.MethodDescribe); calls > oem.DefaultConcurrency+1 {
				t.Errorf("%d describe calls for 10 batches; want at most the ones in flight", calls)
			}

			if !slices.Contains(rep.Failed, "bmw") || !strings.Contains(rep.Connectors["bmw"].Error, "descriptions stopped") {
				t.Errorf("failed %v, error %q", rep.Failed, rep.Connectors["bmw"].Error)
			}

			// What was done before the stop is kept: every vehicle active.
			if n := rep.Connectors["bmw"].Statuses[oem.StatusActive]; n != 100 {
				t.Errorf("%d active, want 100", n)
			}
		})
	}
}

// lockingStore is a store whose lock on one connector is held elsewhere.
type lockingStore struct {
	*oemtest.MemStore

	mu       sync.Mutex
	held     map[string]bool
	released []string
}

func (s *lockingStore) TryLock(_ context.Context, key string) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.held[key] {
		return nil, false, nil
	}

	s.held[key] = true

	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()

		delete(s.held, key)
		s.released = append(s.released, key)
	}, true, nil
}

// A connector another run is working on is skipped with a conflict; the
// others run, and release their locks.
func TestIngesterTakesRunLocks(t *testing.T) {
	t.Parallel()

	a, b := mkVIN("WBA", 1), mkVIN("5YJ", 2)
	s := &lockingStore{MemStore: newStore(t, wanted(a, "A", true), wanted(b, "A", true)),
		held: map[string]bool{"vehicleinfo/connector/bmw": true}}
	bmw, tesla := newFake("bmw"), newFake("tesla")

	rep, err := newIngester(t, s, nil, []oem.Connector{bmw, tesla}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(rep.Failed, []string{"bmw"}) || rep.Errors["conflict"] != 1 ||
		!strings.Contains(rep.Connectors["bmw"].Error, "another run") {
		t.Fatalf("failed %v, errors %v, bmw error %q", rep.Failed, rep.Errors, rep.Connectors["bmw"].Error)
	}

	if bmw.Calls(oemtest.MethodFleet) != 0 || bmw.Calls(oemtest.MethodActivate) != 0 {
		t.Fatal("the locked connector was called")
	}

	if tesla.Calls(oemtest.MethodActivate) != 1 || !slices.Equal(s.released, []string{"vehicleinfo/connector/tesla"}) {
		t.Fatalf("tesla activations %d, released %v", tesla.Calls(oemtest.MethodActivate), s.released)
	}

	// A dry run takes no lock: it changes nothing.
	if _, err := newIngester(t, s, nil, []oem.Connector{bmw}).Run(t.Context(), oem.RunOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}

	if bmw.Calls(oemtest.MethodFleet) != 1 {
		t.Fatal("dry run did not list")
	}
}

// A vehicle stored as active that the OEM's complete listing omits counts
// as missing even when no listing ever showed it (we activated it), and
// is not touched in that run.
func TestIngesterMissingNeverSeen(t *testing.T) {
	t.Parallel()

	a := mkVIN("WBA", 1)
	s := newStore(t, wanted(a, "A", true))
	err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{{
		FleetEntry: wanted(a, "A", true), Status: oem.StatusActive, StatusChangedAt: t0.Add(-time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}

	f := newFake("bmw")
	rep, err := newIngester(t, s, nil, []oem.Connector{f}).Run(t.Context(), oem.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if rep.Connectors["bmw"].Missing != 1 || f.Calls(oemtest.MethodActivate) != 0 {
		t.Fatalf("missing %d, activations %d", rep.Connectors["bmw"].Missing, f.Calls(oemtest.MethodActivate))
	}

	if v := vehicle(t, s, a); v.Status != oem.StatusActive || !v.MissingSince.Equal(t0) {
		t.Fatalf("vehicle %s missing since %v", v.Status, v.MissingSince)
	}
}
