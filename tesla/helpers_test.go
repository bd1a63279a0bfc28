package tesla

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

// Two accounts, as the leasing entities of the old module.
const (
	acctA = "ACME"
	acctB = "BETA"
)

// vin builds a valid Tesla VIN: model letter at position 4, year code at 10.
func vin(model byte, year byte, n int) oem.VIN {
	body := map[byte]string{'3': "E1EA", 'Y': "GDEE", 'S': "A1E2", 'X': "CBE2"}[model]
	return oem.VIN(fmt.Sprintf("5YJ%c%s0%cF%06d", model, body, year, n)).WithCheckDigit()
}

// newSim starts a Sim that the test closes.
func newSim(t *testing.T, opts teslatest.Options, specs ...simkit.Spec) *teslatest.Sim {
	t.Helper()

	if opts.Accounts == nil {
		opts.Accounts = []string{acctA, acctB}
	}

	sim, err := teslatest.New(opts)
	if err != nil {
		t.Fatalf("teslatest.New: %v", err)
	}

	t.Cleanup(func() { _ = sim.Close() })
	sim.Add(specs...)

	return sim
}

// newConn opens a connector on sim's settings with fast retries; mod may
// adjust the Config.
func newConn(t *testing.T, sim *teslatest.Sim, mod func(*Config)) *Connector {
	t.Helper()

	env := sim.Env()
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}

	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.Now = sim.Clock().Now
	if mod != nil {
		mod(&cfg)
	}

	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	return c
}

// spec is a shared vehicle of account.
func spec(v oem.VIN, model, trim, account string) simkit.Spec {
	return simkit.Spec{VIN: string(v), Make: oem.MakeTesla, Model: model, Trim: trim,
		Account: account, Initial: "active", WarrantyKm: 192000, WarrantyYears: 8}
}

// list runs Fleet to the end.
func list(ctx context.Context, c oem.Connector) (map[oem.VIN][]oem.Observed, []error, error) {
	seen := make(map[oem.VIN][]oem.Observed)
	var verrs []error
	for o, err := range c.Fleet(ctx) {
		if err != nil {
			if _, ok := oem.AsVehicleError(err); ok {
				verrs = append(verrs, err)
				continue
			}

			return seen, verrs, err
		}

		seen[o.VIN] = append(seen[o.VIN], o)
	}

	return seen, verrs, nil
}

// describe runs Describe to the end.
func describe(ctx context.Context, c oem.Connector, vins ...oem.VIN) (
	map[oem.VIN]oem.Info, map[oem.VIN]error, error) {
	infos := make(map[oem.VIN]oem.Info)
	verrs := make(map[oem.VIN]error)
	for info, err := range c.Describe(ctx, vins) {
		if err != nil {
			if ve, ok := oem.AsVehicleError(err); ok {
				verrs[ve.VIN] = err
				continue
			}

			return infos, verrs, err
		}

		infos[info.VIN] = info
	}

	return infos, verrs, nil
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()

	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want one satisfying errors.Is(%v)", err, kind)
	}
}

// requests sums the Fleet API requests the Sim answered, by pattern.
func requests(sim *teslatest.Sim, pattern string) int { return sim.Server().Counters.Get(pattern) }

const (
	epList     = "GET /api/1/vehicles"
	epOptions  = "GET /api/1/dx/vehicles/options"
	epWarranty = "GET /api/1/dx/warranty/details"
)
