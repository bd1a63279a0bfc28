package stellantis_test

import (
	"context"
	"fmt"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

// The connector opened from settings, here those of the simulator: the
// listing comes from the contracts, the description from the car-states
// export, the make from the VIN and the model from the contract.
func Example() {
	sim, err := stellantistest.New(stellantistest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sim.Close()

	v := oem.VIN("VR3UHZKX000000042").WithCheckDigit()
	sim.Add(simkit.Spec{VIN: string(v), Model: "e-208", Powertrain: "bev", BatteryKWh: 50,
		Initial: "active"})

	env := sim.Env()
	c, err := oem.Open("stellantis", func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	for o, err := range c.Fleet(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}

		fmt.Println(o.VIN, o.Status, o.Raw)
	}

	for info, err := range c.Describe(ctx, []oem.VIN{v}) {
		if err != nil {
			fmt.Println(err)
			return
		}

		fmt.Println(info.Make, info.Model, info.Powertrain, info.BatteryKWh, "kWh")
	}

	// Output:
	// VR3UHZKX400000042 active activated
	// Peugeot e-208 bev 50 kWh
}
