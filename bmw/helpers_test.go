package bmw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw"
	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// Endpoint patterns of the simulator, as its counters name them.
const (
	epLogin    = "POST " + bmwtest.LoginPath
	epFleets   = "GET /fleet"
	epList     = "GET /fleet/{fleet_id}/vehicle"
	epAdd      = "POST /fleet/{fleet_id}/vehicle/{vin}"
	epCheck    = "GET /vin-checker/{vin}"
	epRegister = "POST /vehicle"
	epGet      = "GET /vehicle/{vin}"
	epDelete   = "DELETE /vehicle/{vin}"
	epData     = "GET /data/vehicle/{vin}"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// vin makes a valid BMW VIN (WMI WBY) from a serial number.
func vin(n int) oem.VIN {
	return oem.MustParseVIN(fmt.Sprintf("WBY8P2100K7%06d", n)).WithCheckDigit()
}

// env is one simulator and a way to build connectors against it.
type env struct {
	sim   *bmwtest.Sim
	clock *simkit.Clock
}

func newEnv(t *testing.T, opts bmwtest.Options) *env {
	t.Helper()

	if opts.Clock == nil {
		opts.Clock = &simkit.Clock{}
		opts.Clock.Set(t0)
	}

	sim, err := bmwtest.New(opts)
	if err != nil {
		t.Fatalf("bmwtest.New: %v", err)
	}

	t.Cleanup(func() { _ = sim.Close() })

	return &env{sim: sim, clock: opts.Clock}
}

// config is the connector configuration for the simulator, with small
// backoffs and the simulator's clock.
func (e *env) config() bmw.Config {
	cfg, err := bmw.ConfigFromEnv(func(k string) string { return e.sim.Env()[k] })
	if err != nil {
		panic(err)
	}

	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.MaxRetries = 2
	cfg.Now = e.clock.Now

	return cfg
}

func (e *env) connector(t *testing.T, edit ...func(*bmw.Config)) *bmw.Connector {
	t.Helper()

	cfg := e.config()
	for _, f := range edit {
		f(&cfg)
	}

	c, err := bmw.New(cfg)
	if err != nil {
		t.Fatalf("bmw.New: %v", err)
	}

	return c
}

func (e *env) count(endpoint string) int { return e.sim.Server().Counters.Get(endpoint) }

// bev is an i3 94 with all the data the endpoint gives.
func bev(v oem.VIN, initial string) simkit.Spec {
	return simkit.Spec{
		VIN: string(v), Make: "BMW", Model: "i3", Type: "94", Powertrain: "bev",
		BatteryKWh: 33.2, BuildDate: time.Date(2018, 6, 14, 0, 0, 0, 0, time.UTC), Initial: initial,
	}
}

// list reads a whole listing, failing the test on any error.
func list(t *testing.T, ctx context.Context, c oem.Connector) map[oem.VIN]oem.Observed {
	t.Helper()

	out := make(map[oem.VIN]oem.Observed)
	for o, err := range c.Fleet(ctx) {
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		if _, dup := out[o.VIN]; dup {
			t.Errorf("Fleet listed %s twice", o.VIN)
		}

		out[o.VIN] = o
	}

	return out
}

// listErr reads a listing and returns the records and the first error that
// is not a *oem.VehicleError.
func listErr(ctx context.Context, c oem.Connector) ([]oem.Observed, []error, error) {
	var (
		recs []oem.Observed
		verr []error
	)

	for o, err := range c.Fleet(ctx) {
		if err != nil {
			if _, ok := oem.AsVehicleError(err); ok {
				verr = append(verr, err)
				continue
			}

			return recs, verr, err
		}

		recs = append(recs, o)
	}

	return recs, verr, nil
}

// describe runs Describe and sorts the answers.
func describe(t *testing.T, ctx context.Context, c oem.Connector, vins ...oem.VIN) (
	map[oem.VIN]oem.Info, map[oem.VIN]error) {
	t.Helper()

	infos := make(map[oem.VIN]oem.Info)
	verrs := make(map[oem.VIN]error)
	for info, err := range c.Describe(ctx, vins) {
		if err != nil {
			ve, ok := oem.AsVehicleError(err)
			if !ok {
				t.Fatalf("Describe ended: %v", err)
			}

			verrs[ve.VIN] = err

			continue
		}

		infos[info.VIN] = info
	}

	return infos, verrs
}

// one returns a check of a call's answer that is one Result and no error,
// for one(t)(c.Activate(ctx, vins)).
func one(t *testing.T) func([]oem.Result, error) oem.Result {
	t.Helper()

	return func(res []oem.Result, err error) oem.Result {
		t.Helper()

		if err != nil {
			t.Fatalf("call failed: %v", err)
		}

		if len(res) != 1 {
			t.Fatalf("got %d results, want 1: %+v", len(res), res)
		}

		return res[0]
	}
}

// failingPages is a transport that answers an HTML 500 to any request whose
// query has page=N, and passes the rest on.
type failingPages struct {
	page string
	next http.RoundTripper
}

func (f failingPages) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("page") == f.page {
		return nil, errors.New("connection reset by peer")
	}

	return f.next.RoundTrip(r)
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
