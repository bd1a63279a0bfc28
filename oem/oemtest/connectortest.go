package oemtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// ConnectorSubject is one fresh connector over a fresh OEM (usually a simulator) and the VINs the
// suite works with.
type ConnectorSubject struct {
	Connector oem.Connector
	// Listed are VINs the OEM lists in Fleet right now; each must appear exactly once.
	Listed []oem.VIN
	// Activatable are VINs the OEM knows, eligible and not active yet; activating them must succeed.
	// Leave empty when the connector cannot activate at all.
	Activatable []oem.VIN
	// Describable are VINs Describe must return information for (at least Model set).
	Describable []oem.VIN
	// Unknown is a valid VIN the OEM does not know (Describe must yield a *oem.VehicleError for it,
	// not end the stream).
	Unknown oem.VIN
	// CanActivate and CanDeactivate say whether the connector enrols and removes vehicles itself;
	// when false, Activate/Deactivate must answer oem.ErrNotSupported per vehicle without failing.
	CanActivate, CanDeactivate bool
}

// promptly is how long a connector may take to notice a cancelled context.
const promptly = 3 * time.Second

// callTimeout bounds every call the suite makes, so a hanging connector
// fails its subtest instead of the whole test binary.
const callTimeout = 60 * time.Second

// TestConnector runs the conformance suite; newSubject is called once per subtest.
//
// The subtests and the VINs they use:
//
//   - name: Name is non-empty lower case.
//   - fleet: Fleet yields parseable VINs with valid statuses and every Listed
//     VIN exactly once; a consumer that stops after the first record stops
//     the stream.
//   - empty: Activate and Deactivate with no VINs return no results, no error.
//   - activate: with CanActivate, Activatable is activated twice (the second
//     time is "already done" and must succeed too), and Fleet then lists each
//     of them as pending or active. Without CanActivate, Activatable (or
//     Listed when it is empty) must get an oem.ErrNotSupported Result each.
//   - deactivate: with CanDeactivate, Listed is deactivated twice, each
//     Result deactivating or inactive, and Fleet then lists them as
//     deactivating or inactive, or not at all. Listed vehicles must therefore
//     be removable right away. Without CanDeactivate, every Result is
//     oem.ErrNotSupported.
//   - describe: Describable plus Unknown are described in one call: an Info
//     with Model set and a Sources entry for each non-zero standardised
//     field for each Describable VIN, a *oem.VehicleError naming Unknown.
//   - cancelled: with a cancelled context, Fleet, Activate (with
//     CanActivate) and Describe (with Describable) return an error that
//     satisfies errors.Is(err, context.Canceled) within a few seconds.
//   - concurrent_describe: several goroutines describe Describable at once;
//     run the suite with -race.
func TestConnector(t *testing.T, newSubject func(t *testing.T) ConnectorSubject) {
	t.Helper()

	t.Run("name", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		name := s.Connector.Name()
		if name == "" || name != strings.ToLower(name) || strings.TrimSpace(name) != name {
			t.Fatalf("Name() = %q, want non-empty lower case without spaces", name)
		}
	})

	t.Run("fleet", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		seen, err := listFleet(ctx, s.Connector)
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		for _, vin := range s.Listed {
			if len(seen[vin]) != 1 {
				t.Errorf("Fleet listed %s %d times, want exactly once", vin, len(seen[vin]))
			}
		}

		if len(s.Listed) == 0 {
			return
		}

		n, err := stopAfterFirst(ctx, s.Connector)
		if err != nil {
			t.Fatalf("Fleet with a consumer that stops early: %v", err)
		}

		if n != 1 {
			t.Errorf("consumer that stopped after one record saw %d records", n)
		}
	})

	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		res, err := s.Connector.Activate(ctx, nil)
		if err != nil || len(res) != 0 {
			t.Errorf("Activate(no VINs) = %d results, %v; want none, nil", len(res), err)
		}

		res, err = s.Connector.Deactivate(ctx, []oem.VIN{})
		if err != nil || len(res) != 0 {
			t.Errorf("Deactivate(no VINs) = %d results, %v; want none, nil", len(res), err)
		}
	})

	t.Run("activate", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		if !s.CanActivate {
			vins := s.Activatable
			if len(vins) == 0 {
				vins = s.Listed
			}

			if len(vins) == 0 {
				t.Skip("no VINs to try")
			}

			res, err := s.Connector.Activate(ctx, vins)
			checkNotSupported(t, "Activate", vins, res, err)

			return
		}

		if len(s.Activatable) == 0 {
			t.Fatal("CanActivate is set but Activatable is empty")
		}

		for round := 1; round <= 2; round++ {
			res, err := s.Connector.Activate(ctx, s.Activatable)
			if err != nil {
				t.Fatalf("Activate round %d: %v", round, err)
			}

			checkResults(t, fmt.Sprintf("Activate round %d", round), s.Activatable, res,
				oem.StatusPending, oem.StatusActive)
		}

		seen, err := listFleet(ctx, s.Connector)
		if err != nil {
			t.Fatalf("Fleet after Activate: %v", err)
		}

		for _, vin := range s.Activatable {
			obs := seen[vin]
			if len(obs) != 1 {
				t.Errorf("after Activate, Fleet listed %s %d times, want once", vin, len(obs))
				continue
			}

			if st := obs[0].Status; !st.Sharing() {
				t.Errorf("after Activate, Fleet lists %s as %s, want pending or active", vin, st)
			}
		}
	})

	t.Run("deactivate", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		if len(s.Listed) == 0 {
			t.Skip("no Listed VINs to deactivate")
		}

		if !s.CanDeactivate {
			res, err := s.Connector.Deactivate(ctx, s.Listed)
			checkNotSupported(t, "Deactivate", s.Listed, res, err)

			return
		}

		for round := 1; round <= 2; round++ {
			res, err := s.Connector.Deactivate(ctx, s.Listed)
			if err != nil {
				t.Fatalf("Deactivate round %d: %v", round, err)
			}

			checkResults(t, fmt.Sprintf("Deactivate round %d", round), s.Listed, res,
				oem.StatusDeactivating, oem.StatusInactive)
		}

		seen, err := listFleet(ctx, s.Connector)
		if err != nil {
			t.Fatalf("Fleet after Deactivate: %v", err)
		}

		for _, vin := range s.Listed {
			for _, o := range seen[vin] {
				if o.Status != oem.StatusDeactivating && o.Status != oem.StatusInactive {
					t.Errorf("after Deactivate, Fleet lists %s as %s, want deactivating, "+
						"inactive or not listed", vin, o.Status)
				}
			}
		}
	})

	t.Run("describe", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		if len(s.Describable) == 0 && s.Unknown == "" {
			t.Skip("nothing to describe")
		}

		vins := append([]oem.VIN(nil), s.Describable...)
		if s.Unknown != "" {
			vins = append(vins, s.Unknown)
		}

		infos, verrs, err := describeAll(ctx, s.Connector, vins)
		if err != nil {
			t.Fatalf("Describe ended with a non-vehicle error: %v", err)
		}

		for _, vin := range s.Describable {
			got := infos[vin]
			if len(got) != 1 {
				t.Errorf("Describe gave %d Infos for %s, want 1 (vehicle error: %v)",
					len(got), vin, verrs[vin])
				continue
			}

			checkInfo(t, got[0])
		}

		if s.Unknown != "" {
			if len(infos[s.Unknown]) != 0 {
				t.Errorf("Describe gave an Info for the unknown VIN %s", s.Unknown)
			}

			if verrs[s.Unknown] == nil {
				t.Errorf("Describe gave no *oem.VehicleError for the unknown VIN %s", s.Unknown)
			}
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		within(t, "Fleet", func() error {
			for _, err := range s.Connector.Fleet(ctx) {
				if err != nil {
					return err
				}
			}

			return nil
		})

		if s.CanActivate && len(s.Activatable) > 0 {
			within(t, "Activate", func() error {
				_, err := s.Connector.Activate(ctx, s.Activatable)
				return err
			})
		}

		if len(s.Describable) > 0 {
			within(t, "Describe", func() error {
				for _, err := range s.Connector.Describe(ctx, s.Describable) {
					if err != nil {
						return err
					}
				}

				return nil
			})
		}
	})

	t.Run("concurrent_describe", func(t *testing.T) {
		t.Parallel()
		s := newSubject(t)
		if len(s.Describable) == 0 {
			t.Skip("no Describable VINs")
		}

		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()

		const workers = 4
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				infos, verrs, err := describeAll(ctx, s.Connector, s.Describable)
				if err != nil {
					errs[w] = err
					return
				}

				for _, vin := range s.Describable {
					if len(infos[vin]) != 1 {
						errs[w] = fmt.Errorf("%d Infos for %s (vehicle error: %v)",
							len(infos[vin]), vin, verrs[vin])
						return
					}
				}
			})
		}

		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("concurrent Describe %d: %v", w, err)
			}
		}
	})
}

// listFleet reads a whole listing. It returns the records by VIN; a
// *VehicleError in the stream is skipped, any other error is returned, as
// is a VIN that does not parse or a status that is not canonical.
func listFleet(ctx context.Context, c oem.Connector) (map[oem.VIN][]oem.Observed, error) {
	seen := make(map[oem.VIN][]oem.Observed)
	for o, err := range c.Fleet(ctx) {
		if err != nil {
			if _, ok := oem.AsVehicleError(err); ok {
				continue
			}

			return seen, err
		}

		if v, perr := oem.ParseVIN(string(o.VIN)); perr != nil || v != o.VIN {
			return seen, fmt.Errorf("listed VIN %q is not a normalised VIN (%v)", o.VIN, perr)
		}

		if !o.Status.Valid() {
			return seen, fmt.Errorf("listed %s with status %q, not a canonical status",
				o.VIN, o.Status)
		}

		seen[o.VIN] = append(seen[o.VIN], o)
	}

	return seen, nil
}

// stopAfterFirst consumes one record of the listing and stops. An iterator
// that goes on yielding after that panics in the range loop; the panic is
// turned into an error.
func stopAfterFirst(ctx context.Context, c oem.Connector) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the stream went on after the consumer stopped: %v", r)
		}
	}()

	for _, ferr := range c.Fleet(ctx) {
		if ferr != nil {
			if _, ok := oem.AsVehicleError(ferr); ok {
				continue
			}

			return n, ferr
		}

		n++

		break
	}

	return n, nil
}

// describeAll runs one Describe call and sorts its answers by VIN.
func describeAll(ctx context.Context, c oem.Connector, vins []oem.VIN) (
	infos map[oem.VIN][]oem.Info, verrs map[oem.VIN]error, err error) {
	infos = make(map[oem.VIN][]oem.Info)
	verrs = make(map[oem.VIN]error)
	for info, derr := range c.Describe(ctx, vins) {
		if derr != nil {
			ve, ok := oem.AsVehicleError(derr)
			if !ok {
				return infos, verrs, derr
			}

			verrs[ve.VIN] = ve

			continue
		}

		infos[info.VIN] = append(infos[info.VIN], info)
	}

	return infos, verrs, nil
}

// checkResults asserts one Result per VIN given, no others, each a success
// with one of the wanted statuses.
func checkResults(t *testing.T, what string, vins []oem.VIN, res []oem.Result, want ...oem.Status) {
	t.Helper()

	byVIN := resultsByVIN(t, what, vins, res)
	for _, vin := range vins {
		r, ok := byVIN[vin]
		if !ok {
			continue
		}

		if r.Err != nil {
			t.Errorf("%s: %s failed: %v", what, vin, r.Err)
			continue
		}

		okStatus := false
		for _, w := range want {
			okStatus = okStatus || r.Status == w
		}

		if !okStatus {
			t.Errorf("%s: %s has status %s, want one of %v", what, vin, r.Status, want)
		}
	}
}

// checkNotSupported asserts a call that cannot be done answers
// oem.ErrNotSupported per vehicle without failing.
func checkNotSupported(t *testing.T, what string, vins []oem.VIN, res []oem.Result, err error) {
	t.Helper()

	if err != nil {
		t.Fatalf("%s on a connector that cannot do it failed the call: %v", what, err)
	}

	byVIN := resultsByVIN(t, what, vins, res)
	for vin, r := range byVIN {
		if !errors.Is(r.Err, oem.ErrNotSupported) {
			t.Errorf("%s: %s: Err = %v, want oem.ErrNotSupported", what, vin, r.Err)
		}
	}
}

// resultsByVIN indexes results, failing on duplicates, strangers and
// missing VINs.
func resultsByVIN(t *testing.T, what string, vins []oem.VIN,
	res []oem.Result) map[oem.VIN]oem.Result {
	t.Helper()

	asked := make(map[oem.VIN]bool, len(vins))
	for _, v := range vins {
		asked[v] = true
	}

	byVIN := make(map[oem.VIN]oem.Result, len(res))
	for _, r := range res {
		if !asked[r.VIN] {
			t.Errorf("%s: Result for %s, which was not asked for", what, r.VIN)
			continue
		}

		if _, dup := byVIN[r.VIN]; dup {
			t.Errorf("%s: two Results for %s", what, r.VIN)
		}

		byVIN[r.VIN] = r
	}

	for _, v := range vins {
		if _, ok := byVIN[v]; !ok {
			t.Errorf("%s: no Result for %s", what, v)
		}
	}

	return byVIN
}

// checkInfo asserts the description has a model and a source for every
// standardised field it sets.
func checkInfo(t *testing.T, info oem.Info) {
	t.Helper()

	if info.Model == "" {
		t.Errorf("Describe %s: Model is empty", info.VIN)
	}

	for f, set := range setFields(info) {
		if set && info.Sources[f] == "" {
			t.Errorf("Describe %s: %s is set but Sources has no entry for it", info.VIN, f)
		}
	}
}

// setFields reports, for each standardised field, whether info sets it.
func setFields(info oem.Info) map[oem.Field]bool {
	return map[oem.Field]bool{
		oem.FieldMake:              info.Make != "",
		oem.FieldModel:             info.Model != "",
		oem.FieldVersion:           info.Version != "",
		oem.FieldType:              info.Type != "",
		oem.FieldModelYear:         info.ModelYear != 0,
		oem.FieldPowertrain:        info.Powertrain != oem.PowertrainUnknown,
		oem.FieldBatteryKWh:        info.BatteryKWh != 0,
		oem.FieldWarrantyKm:        info.WarrantyKm != 0,
		oem.FieldWarrantyYears:     info.WarrantyYears != 0,
		oem.FieldRangeKm:           info.RangeKm != 0,
		oem.FieldFirstRegistration: !info.FirstRegistration.IsZero(),
		oem.FieldBuildDate:         !info.BuildDate.IsZero(),
		oem.FieldImageURL:          info.ImageURL != "",
	}
}

// within runs call and asserts it returns a context.Canceled error within
// promptly.
func within(t *testing.T, what string, call func() error) {
	t.Helper()

	done := make(chan error, 1)
	go func() { done <- call() }()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want an error satisfying "+
				"errors.Is(err, context.Canceled)", what, err)
		}
	case <-time.After(promptly):
		t.Errorf("%s with a cancelled context did not return within %s", what, promptly)
	}
}
