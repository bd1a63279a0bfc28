package renault_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

// The connector opened from settings (here those of the simulator), then a
// description; activation goes through the hm connector instead.
func Example() {
	sim, err := renaulttest.New(renaulttest.Options{MessyCodes: true})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	vin := oem.VIN("VF1AG000064000001").WithCheckDigit()
	sim.Add(simkit.Spec{VIN: string(vin), Make: oem.MakeRenault, Model: "ZOE", Version: "ZE50",
		Type: "R135", BatteryKWh: 52, RangeKm: 395, FirstReg: time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC)})

	env := sim.Env()
	cfg, err := renault.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		panic(err)
	}

	c, err := renault.New(cfg)
	if err != nil {
		panic(err)
	}

	for info, err := range c.Describe(context.Background(), []oem.VIN{vin}) {
		if err != nil {
			fmt.Println("error:", err)
			continue
		}

		fmt.Printf("%s %s, version %s, type %s, %d km WLTP, %g kWh, registered %s\n",
			info.Make, info.Model, info.Version, info.Type, info.RangeKm, info.BatteryKWh,
			info.FirstRegistration.Format("2006-01-02"))
	}

	res, _ := c.Activate(context.Background(), []oem.VIN{vin})
	fmt.Println(res[0].Reason)

	// Output:
	// Renault ZOE, version ZE50, type R135, 395 km WLTP, 52 kWh, registered 2021-03-15
	// Renault vehicles are activated through High Mobility (the hm connector)
}
