package oemtest_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

// vin builds a valid VIN from a 17-character pattern, fixing its check digit.
func vin(s string) oem.VIN { return oem.MustParseVIN(s).WithCheckDigit() }

var (
	vinActive   = vin("WBA11111111111111")
	vinInactive = vin("WBA22222222222222")
	vinNew      = vin("WBA33333333333333")
	vinNew2     = vin("WBA44444444444444")
	vinUnknown  = vin("WBA99999999999999")
)

func fakeInfo(v oem.VIN, model string) oem.Info {
	info := oem.Info{VIN: v, Make: oem.MakeBMW, Model: model, BatteryKWh: 42.2}
	info.Set(oem.FieldMake, "fake:make")
	info.Set(oem.FieldModel, "fake:model")
	info.Set(oem.FieldBatteryKWh, "fake:capacity")

	return info
}

func TestFakeConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		f := oemtest.NewFake("fake").
			SetStatus(vinActive, oem.StatusActive).
			SetStatus(vinInactive, oem.StatusInactive).
			SetInfo(fakeInfo(vinActive, "i3")).
			SetInfo(fakeInfo(vinInactive, "iX")).
			SetBatchSize(10).
			EnableEligibility()

		return oemtest.ConnectorSubject{
			Connector:     f.Connector(),
			Listed:        []oem.VIN{vinActive, vinInactive},
			Activatable:   []oem.VIN{vinNew, vinNew2},
			Describable:   []oem.VIN{vinActive, vinInactive},
			Unknown:       vinUnknown,
			CanActivate:   true,
			CanDeactivate: true,
		}
	})
}

// listOnly is a connector that can list and nothing else.
type listOnly struct {
	oem.Unimplemented
	*oemtest.Fake
}

func (l listOnly) Activate(ctx context.Context, v []oem.VIN) ([]oem.Result, error) {
	return l.Unimplemented.Activate(ctx, v)
}

func (l listOnly) Deactivate(ctx context.Context, v []oem.VIN) ([]oem.Result, error) {
	return l.Unimplemented.Deactivate(ctx, v)
}

func (l listOnly) Describe(ctx context.Context, v []oem.VIN) iter.Seq2[oem.Info, error] {
	return l.Fake.Describe(ctx, v)
}

func TestConformanceOfAListOnlyConnector(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		f := oemtest.NewFake("listonly").
			SetStatus(vinActive, oem.StatusActive).
			SetInfo(fakeInfo(vinActive, "i3"))

		return oemtest.ConnectorSubject{
			Connector:   listOnly{Fake: f},
			Listed:      []oem.VIN{vinActive},
			Describable: []oem.VIN{vinActive},
			Unknown:     vinUnknown,
		}
	})
}

func TestFakeCapabilities(t *testing.T) {
	t.Parallel()

	plain := oemtest.NewFake("a").Connector()
	if _, ok := plain.(oem.EligibilityChecker); ok {
		t.Error("a fake without eligibility is an EligibilityChecker")
	}

	if _, ok := plain.(oem.BatchSizer); ok {
		t.Error("a fake without a batch size is a BatchSizer")
	}

	all := oemtest.NewFake("b").EnableEligibility().SetBatchSize(7).SetConcurrency(3).Connector()
	if bs, ok := all.(oem.BatchSizer); !ok || bs.BatchSize() != 7 {
		t.Errorf("BatchSizer = %v, %v; want 7", ok, bs)
	}

	if c, ok := all.(oem.Concurrency); !ok || c.Concurrency() != 3 {
		t.Errorf("Concurrency = %v, %v; want 3", ok, c)
	}

	if _, ok := all.(oem.EligibilityChecker); !ok {
		t.Error("EnableEligibility did not give the EligibilityChecker capability")
	}
}

func TestFakeScripts(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	f := oemtest.NewFake("fake").
		SetStatus(vinActive, oem.StatusActive).
		SetStatus(vinInactive, oem.StatusInactive).
		SetStatus(vinNew, oem.StatusInactive).
		SetPageSize(1).
		FailVehicle(oemtest.MethodActivate, vinInactive, oem.ErrQuotaExhausted)

	var rc oem.RequestCounter
	cctx := oem.WithRequestCounter(ctx, &rc)

	res, err := f.Activate(cctx, []oem.VIN{vinActive, vinInactive, vinNew})
	if err != nil {
		t.Fatal(err)
	}

	byVIN := map[oem.VIN]oem.Result{}
	for _, r := range res {
		byVIN[r.VIN] = r
	}

	if r := byVIN[vinActive]; r.Err != nil || r.Status != oem.StatusActive {
		t.Errorf("already active: %+v, want active without error", r)
	}

	if r := byVIN[vinInactive]; !errors.Is(r.Err, oem.ErrQuotaExhausted) ||
		r.Status != oem.StatusInactive {
		t.Errorf("scripted failure: %+v, want quota error, status kept inactive", r)
	}

	if r := byVIN[vinNew]; r.Err != nil || r.Status != oem.StatusPending {
		t.Errorf("new activation: %+v, want pending", r)
	}

	// Three listed VINs at one per page: three listing requests.
	for _, err := range f.Fleet(cctx) {
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := rc.Get(oem.RequestListing); got != 3 {
		t.Errorf("listing requests = %d, want 3", got)
	}

	if got := rc.Get(oem.RequestActivation); got != 1 {
		t.Errorf("activation requests = %d, want 1", got)
	}

	if f.Calls(oemtest.MethodActivate) != 1 || f.VINCalls(oemtest.MethodActivate, vinNew) != 1 {
		t.Errorf("activate calls = %d, for %s = %d; want 1, 1",
			f.Calls(oemtest.MethodActivate), vinNew, f.VINCalls(oemtest.MethodActivate, vinNew))
	}

	// A listing that fails after two records.
	f.FailListingAfter(2, oemtest.ErrFake)
	n, lastErr := 0, error(nil)
	for _, err := range f.Fleet(ctx) {
		if err != nil {
			lastErr = err
			break
		}
		n++
	}

	if n != 2 || !errors.Is(lastErr, oem.ErrTransient) {
		t.Errorf("failing listing gave %d records then %v; want 2 then the fake error", n, lastErr)
	}

	// A hanging call returns when its context is cancelled.
	f.Hang(oemtest.MethodDeactivate)
	hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := f.Deactivate(hctx, []oem.VIN{vinActive}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging Deactivate = %v, want deadline exceeded", err)
	}

	// A panic is the caller's to recover.
	f.Panic(oemtest.MethodDescribe, "boom")
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		for range f.Describe(ctx, []oem.VIN{vinActive}) {
		}
	}()

	// Batch size is enforced as a whole-call failure.
	f.ClearFaults().SetBatchSize(1)
	if _, err := f.Activate(ctx, []oem.VIN{vinNew, vinNew2}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("oversized batch = %v, want invalid input", err)
	}

	// The first call of this test carried three VINs.
	if got := f.MaxBatch(oemtest.MethodActivate); got != 3 {
		t.Errorf("MaxBatch = %d, want 3", got)
	}
}
