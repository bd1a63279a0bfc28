package oem_test

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

// garage is a small connector of your own: an OEM that lists its vehicles,
// enrols new ones and describes them. It embeds oem.Unimplemented, so the
// one thing it cannot do (Deactivate) answers "not supported".
type garage struct {
	oem.Unimplemented

	mu       sync.Mutex
	statuses map[oem.VIN]oem.Status
}

func (g *garage) Name() string { return "garage" }

func (g *garage) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		oem.CountRequest(ctx) // what an HTTP stack does for each request sent
		if err := ctx.Err(); err != nil {
			yield(oem.Observed{}, err)
			return
		}

		g.mu.Lock()
		var list []oem.Observed
		for vin, st := range g.statuses {
			list = append(list, oem.Observed{VIN: vin, Status: st, Raw: string(st)})
		}
		g.mu.Unlock()

		for _, o := range list {
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (g *garage) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	oem.CountRequest(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()

	out := make([]oem.Result, 0, len(vins))
	for _, v := range vins {
		g.statuses[v] = oem.StatusPending
		out = append(out, oem.Result{VIN: v, Status: oem.StatusPending, Raw: "requested"})
	}

	return out, nil
}

func (g *garage) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		oem.CountRequest(ctx)
		for _, v := range vins {
			info := oem.Info{VIN: v, Make: "Lada", Model: "Niva", BatteryKWh: 0}
			info.Set(oem.FieldMake, "garage:brand")
			info.Set(oem.FieldModel, "garage:model")
			if !yield(info, nil) {
				return
			}
		}
	}
}

// Example shows embedding the library: a connector of your own registered
// in an explicit registry, opened from settings, and an Ingester run over
// the in-memory store.
func Example() {
	ctx := context.Background()
	active := oem.MustParseVIN("XTA21000000000001").WithCheckDigit()
	fresh := oem.MustParseVIN("XTA21000000000002").WithCheckDigit()

	reg := oem.NewRegistry()
	reg.Register("garage", oem.DriverFunc{
		Vars: []oem.Setting{{Name: "GARAGE_TOKEN", Required: true, Secret: true,
			Doc: "API token of the garage"}},
		OpenFunc: func(getenv func(string) string, _ oem.OpenOptions) (oem.Connector, error) {
			return &garage{statuses: map[oem.VIN]oem.Status{active: oem.StatusActive}}, nil
		},
	})

	env := map[string]string{"GARAGE_TOKEN": "fake-token"}
	conns, err := reg.OpenFromEnv(func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}

	store := oemtest.NewMemStore()
	_ = store.PutFleet(ctx, []oem.FleetEntry{
		{VIN: active, Owner: "Ayvens", Make: "Lada", WantActive: true},
		{VIN: fresh, Owner: "Ayvens", Make: "Lada", WantActive: true},
	})

	// Lada is not in the default routing (it would go to hm): send it to
	// the garage.
	routing := oem.DefaultRouting().Clone()
	routing.Makes["Lada"] = oem.Route{Activate: "garage", Describe: "garage"}

	ing, err := oem.NewIngester(store, activation.New(activation.Config{}), conns,
		oem.WithRouting(routing))
	if err != nil {
		fmt.Println(err)
		return
	}

	rep, err := ing.Run(ctx, oem.RunOptions{Owner: "ayvens"})
	if err != nil {
		fmt.Println(err)
		return
	}

	cr := rep.Connectors["garage"]
	fmt.Println("connectors:", strings.Join(reg.Drivers(), ", "))
	fmt.Println("vehicles:", rep.Total, "failed:", rep.Failed)
	fmt.Println("planned:", cr.Planned)
	fmt.Println("statuses:", cr.Statuses)
	fmt.Println("requests:", cr.Requests[oem.RequestListing], "listing,",
		cr.Requests[oem.RequestActivation], "activation,",
		cr.Requests[oem.RequestDescription], "description")

	vs, _ := store.Vehicles(ctx, oem.VehicleQuery{Owner: "Ayvens"})
	for _, v := range vs {
		fmt.Println(v.VIN, v.Status, v.Model)
	}

	// Output:
	// connectors: garage
	// vehicles: 2 failed: []
	// planned: map[activate:1 cooldown:0 deactivate:0 keep:1 wait:0]
	// statuses: map[active:1 pending:1]
	// requests: 1 listing, 1 activation, 1 description
	// XTA21000000000001 active Niva
	// XTA21000200000002 pending
}

// ExampleReadFleetCSV reads a spreadsheet export: untidy headers and VINs,
// day-first dates, a VIN twice, a row that cannot be used.
func ExampleReadFleetCSV() {
	csv := `VIN ,Ownership , Licence Plate,Start Date,Activation,EValue
 wba11111411111111 ,Ayvens,ab-123-cd,03/04/2024,TRUE,
WBA11111411111111,Leasys,,,FALSE,
WBA-1111141111111,Ayvens,,,TRUE,
`
	ff, err := oem.ReadFleetCSV(strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, e := range ff.Entries {
		fmt.Println(e.Line, e.VIN, e.Owner, e.LicencePlate, e.StartDate.Format("2 January 2006"),
			e.WantActive)
	}

	for _, p := range ff.Problems {
		fmt.Println("skipped:", p)
	}

	// Output:
	// 2 WBA11111411111111 Ayvens AB-123-CD 3 April 2024 true
	// skipped: line 3 (vin WBA11111411111111): duplicate VIN in the fleet file: invalid input: first on line 2, which wins
	// skipped: line 4 (vin WBA-1111141111111): vin "WBA-1111141111111": invalid character '-' at position 4
}
