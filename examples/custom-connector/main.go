// Command custom-connector shows how to write a connector for an OEM this
// library does not cover, register it, and run an ingestion with it.
//
// The "acme" connector below talks to a make-believe OEM held in memory; a
// real one would make HTTP calls in the same methods. It implements the four
// methods every connector has, plus the optional eligibility check.
//
//	go run ./examples/custom-connector
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"sync"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

// acme is a connector for the Acme OEM.
type acme struct {
	mu       sync.Mutex
	sharing  map[oem.VIN]bool // VINs Acme shares data for
	tooOld   map[oem.VIN]bool // VINs whose telematics cannot share
	catalogs map[oem.VIN]oem.Info
}

func newAcme() *acme {
	return &acme{sharing: map[oem.VIN]bool{}, tooOld: map[oem.VIN]bool{}, catalogs: map[oem.VIN]oem.Info{}}
}

// Name is the registered name.
func (a *acme) Name() string { return "acme" }

// Fleet lists every vehicle Acme shares data for.
func (a *acme) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		a.mu.Lock()
		var list []oem.Observed
		for vin, on := range a.sharing {
			if on {
				list = append(list, oem.Observed{VIN: vin, Status: oem.StatusActive, Raw: "ON"})
			}
		}
		a.mu.Unlock()

		for _, o := range list {
			if err := ctx.Err(); err != nil {
				yield(oem.Observed{}, err)
				return
			}

			if !yield(o, nil) {
				return
			}
		}
	}
}

// Activate switches sharing on; a vehicle too old to share gets a
// per-vehicle error, and the others go on.
func (a *acme) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()

	out := make([]oem.Result, 0, len(vins))
	for _, v := range vins {
		if a.tooOld[v] {
			out = append(out, oem.Result{VIN: v, Status: oem.StatusIneligible, Reason: "telematics too old",
				Err: oem.NewVehicleError(v, "activate", oem.ErrNotSupported)})
			continue
		}

		a.sharing[v] = true
		out = append(out, oem.Result{VIN: v, Status: oem.StatusActive, Raw: "ON"})
	}

	return out, nil
}

// Deactivate switches sharing off.
func (a *acme) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()

	out := make([]oem.Result, 0, len(vins))
	for _, v := range vins {
		delete(a.sharing, v)
		out = append(out, oem.Result{VIN: v, Status: oem.StatusInactive, Raw: "OFF"})
	}

	return out, nil
}

// Describe says what each vehicle is, with where each value came from.
func (a *acme) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		for _, v := range vins {
			if err := ctx.Err(); err != nil {
				yield(oem.Info{}, err)
				return
			}

			a.mu.Lock()
			info, ok := a.catalogs[v]
			a.mu.Unlock()

			if !ok {
				if !yield(oem.Info{VIN: v}, oem.NewVehicleError(v, "describe", oem.ErrNotFound)) {
					return
				}

				continue
			}

			if !yield(info, nil) {
				return
			}
		}
	}
}

// CheckEligibility is the optional capability: the Activator calls it
// before activating, and skips the vehicles that cannot share.
func (a *acme) CheckEligibility(ctx context.Context, vins []oem.VIN) ([]oem.Eligibility, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	out := make([]oem.Eligibility, 0, len(vins))
	for _, v := range vins {
		out = append(out, oem.Eligibility{VIN: v, Eligible: !a.tooOld[v], Reason: "telematics generation"})
	}

	return out, nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-connector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The OEM's world: three vehicles, one too old to share.
	world := newAcme()
	cars := []oem.VIN{
		oem.MustParseVIN("ZZZACME0000000001").WithCheckDigit(),
		oem.MustParseVIN("ZZZACME0000000002").WithCheckDigit(),
		oem.MustParseVIN("ZZZACME0000000003").WithCheckDigit(),
	}
	world.tooOld[cars[2]] = true
	for _, v := range cars {
		world.catalogs[v] = oem.Info{VIN: v, Make: "Acme", Model: "Roadrunner", Type: "EV", BatteryKWh: 64,
			Powertrain: oem.PowertrainBEV, WarrantyYears: 8, Sources: map[oem.Field]string{
				oem.FieldMake: "acme:catalog", oem.FieldModel: "acme:catalog", oem.FieldType: "acme:catalog",
				oem.FieldBatteryKWh: "acme:catalog", oem.FieldPowertrain: "acme:catalog",
				oem.FieldWarrantyYears: "acme:catalog",
			}}
	}

	// Register the driver in a registry of our own: no globals, so tests
	// can run in parallel. Programs may use oem.Register from init instead.
	reg := oem.NewRegistry()
	reg.Register("acme", oem.DriverFunc{
		Vars: []oem.Setting{{Name: "ACME_API_KEY", Required: true, Secret: true, Doc: "Acme API key"}},
		OpenFunc: func(getenv func(string) string, _ oem.OpenOptions) (oem.Connector, error) {
			return world, nil
		},
	})

	env := map[string]string{"ACME_API_KEY": "fake-acme-key"}
	conns, err := reg.OpenFromEnv(func(k string) string { return env[k] })
	if err != nil {
		return err
	}

	// The wanted fleet names the connector explicitly, since no make
	// table routes "Acme".
	st := oemtest.NewMemStore()
	var fleet []oem.FleetEntry
	for _, v := range cars {
		fleet = append(fleet, oem.FleetEntry{VIN: v, Owner: "Ayvens", Make: "Acme", Connector: "acme", WantActive: true})
	}

	if err := st.PutFleet(ctx, fleet); err != nil {
		return err
	}

	ing, err := oem.NewIngester(st, activation.New(activation.Config{}), conns)
	if err != nil {
		return err
	}

	rep, err := ing.Run(ctx, oem.RunOptions{Owner: "ayvens"})
	if err != nil {
		return err
	}

	vs, err := st.Vehicles(ctx, oem.VehicleQuery{})
	if err != nil {
		return err
	}

	for _, v := range vs {
		fmt.Fprintf(w, "%s %s %s %s %.0f kWh\n", v.VIN, v.Status, v.Model, v.Type, v.BatteryKWh)
	}

	b, err := json.Marshal(rep.Connectors["acme"].Statuses)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "statuses: %s\n", b)

	return nil
}
