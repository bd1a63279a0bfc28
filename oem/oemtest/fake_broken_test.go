package oemtest_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

// brokenEnv selects the broken connector TestBrokenConnectorSubject runs the
// suite on; the test is a no-op without it.
const brokenEnv = "OEMTEST_BROKEN_CONNECTOR"

// broken wraps a fake and breaks one rule of the Connector contract.
type broken struct {
	*oemtest.Fake
	how string
}

func (b broken) Name() string {
	if b.how == "name" {
		return "Fake"
	}

	return b.Fake.Name()
}

func (b broken) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	inner := b.Fake.Fleet(ctx)
	switch b.how {
	case "early-stop":
		return func(yield func(oem.Observed, error) bool) {
			for o, err := range inner {
				yield(o, err) // ignores the consumer stopping
			}
		}
	case "ignores-cancel":
		return b.Fake.Fleet(context.WithoutCancel(ctx))
	}

	return inner
}

func (b broken) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	res, err := b.Fake.Activate(ctx, vins)
	if b.how == "already-done-fails" {
		for i, r := range res {
			if r.Reason == "already done" {
				res[i].Err = errors.New("vehicle already registered")
			}
		}
	}

	return res, err
}

func (b broken) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	inner := b.Fake.Describe(ctx, vins)
	if b.how != "describe-ends" {
		return inner
	}

	return func(yield func(oem.Info, error) bool) {
		for info, err := range inner {
			if ve, ok := oem.AsVehicleError(err); ok {
				yield(oem.Info{}, ve.Err) // not a *VehicleError: ends the stream
				return
			}

			if !yield(info, err) {
				return
			}
		}
	}
}

// TestBrokenConnectorSubject is run by TestSuiteCatchesBrokenConnectors in
// a child process.
func TestBrokenConnectorSubject(t *testing.T) {
	how := os.Getenv(brokenEnv)
	if how == "" {
		t.Skip("run by TestSuiteCatchesBrokenConnectors")
	}

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		f := oemtest.NewFake("fake").
			SetStatus(vinActive, oem.StatusActive).
			SetStatus(vinInactive, oem.StatusInactive).
			SetInfo(fakeInfo(vinActive, "i3")).
			SetInfo(fakeInfo(vinInactive, "iX"))

		return oemtest.ConnectorSubject{
			Connector:     broken{Fake: f, how: how},
			Listed:        []oem.VIN{vinActive, vinInactive},
			Activatable:   []oem.VIN{vinNew},
			Describable:   []oem.VIN{vinActive, vinInactive},
			Unknown:       vinUnknown,
			CanActivate:   true,
			CanDeactivate: true,
		}
	})
}

// TestSuiteCatchesBrokenConnectors shows the suite fails connectors that
// break the contract, each with a message that says how.
func TestSuiteCatchesBrokenConnectors(t *testing.T) {
	t.Parallel()

	if testing.Short() {
		t.Skip("runs child test processes")
	}

	cases := map[string]string{
		"name":               `Name() = "Fake"`,
		"early-stop":         "went on after the consumer stopped",
		"already-done-fails": "Activate round 2",
		"describe-ends":      "Describe ended with a non-vehicle error",
		"ignores-cancel":     "Fleet with a cancelled context",
	}
	for how, want := range cases {
		t.Run(how, func(t *testing.T) {
			t.Parallel()

			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestBrokenConnectorSubject$", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+how)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a connector that breaks %q:\n%s", how, out)
			}

			if !strings.Contains(string(out), want) {
				t.Errorf("the suite failed %q without saying %q:\n%s", how, want, out)
			}
		})
	}
}
