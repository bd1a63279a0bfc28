// Package sandbox builds the simulated world that `examples/ingest
// -sandbox` runs against: a seeded, realistic fleet spread over several
// owners and all five connectors, the five OEM simulators on loopback
// holding that fleet, and the settings that point the connectors at them.
package sandbox

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// Owners are the sandbox's fleet owners. "Ayvens NV" sits beside "Ayvens"
// on purpose: the owner filter is exact.
var Owners = []string{"Ayvens", "Ayvens NV", "Arval", "Alphabet", "Athlon", "Hertz Fleet"}

// TeslaAccounts are the sandbox's Tesla accounts, one per leasing entity.
var TeslaAccounts = []string{"AYVENS_FR", "AYVENS_NL", "ARVAL_DE", "ALPHABET_UK"}

// model is one real model the generator draws vehicles from.
type model struct {
	connector  string // the connector whose simulator holds the vehicle
	make       string
	wmi        string
	vds        string // VIN characters 4–8
	name       string
	typ        string
	version    string
	trim       string
	powertrain string
	kwh        float64
	rangeKm    int
	warrantyKm int
	warrantyY  int
}

var models = []model{
	{"bmw", oem.MakeBMW, "WBY", "8P210", "i3", "94", "I01", "", "bev", 33.2, 300, 100000, 8},
	{"bmw", oem.MakeBMW, "WBY", "8P410", "i3", "120", "I01", "", "bev", 42.2, 310, 160000, 8},
	{"bmw", oem.MakeBMW, "WBA", "31AW0", "i4", "eDrive40", "G26", "", "bev", 83.9, 590, 160000, 8},
	{"bmw", oem.MakeBMW, "WBY", "31CF0", "iX", "xDrive40", "I20", "", "bev", 76.6, 425, 160000, 8},
	{"bmw", oem.MakeBMW, "WBA", "5R710", "330e", "", "G20", "", "phev", 12.0, 59, 100000, 6},
	{"bmw", oem.MakeMini, "WMW", "11DJ0", "Cooper SE", "", "F56", "", "bev", 32.6, 230, 160000, 8},
	{"tesla", oem.MakeTesla, "LRW", "3E7EK", "Model 3", "", "MT337", "Long Range AWD", "bev", 82.0, 602, 192000, 8},
	{"tesla", oem.MakeTesla, "LRW", "3E7FA", "Model 3", "", "MT322", "RWD", "bev", 57.5, 491, 160000, 8},
	{"tesla", oem.MakeTesla, "XP7", "YGCEK", "Model Y", "", "MTY13", "Long Range AWD", "bev", 75.0, 533, 192000, 8},
	{"tesla", oem.MakeTesla, "XP7", "YGCFA", "Model Y", "", "MTY47", "RWD", "bev", 60.0, 455, 160000, 8},
	{"tesla", oem.MakeTesla, "5YJ", "SA7E2", "Model S", "", "MTS14", "Plaid", "bev", 100.0, 600, 240000, 8},
	{"stellantis", oem.MakePeugeot, "VR3", "UHZKX", "e-208", "", "", "", "bev", 50.0, 362, 160000, 8},
	{"stellantis", oem.MakePeugeot, "VR3", "USHZK", "e-2008", "", "", "", "bev", 50.0, 345, 160000, 8},
	{"stellantis", oem.MakeCitroen, "VR7", "BZKXZ", "ë-C4", "", "", "", "bev", 50.0, 350, 160000, 8},
	{"stellantis", oem.MakeOpel, "VXK", "UHZKX", "Corsa-e", "", "", "", "bev", 50.0, 359, 160000, 8},
	{"stellantis", oem.MakeFiat, "ZFA", "3320A", "500e", "", "", "", "bev", 42.0, 320, 160000, 8},
	{"stellantis", oem.MakeDS, "VR1", "URHNK", "DS 3 E-Tense", "", "", "", "bev", 54.0, 404, 160000, 8},
	{"stellantis", oem.MakeJeep, "ZAC", "ZZBKX", "Avenger", "", "", "", "bev", 54.0, 400, 160000, 8},
	{"hm", oem.MakeFord, "WF0", "TK3R7", "Mustang Mach-E", "", "", "", "bev", 75.7, 440, 160000, 8},
	{"hm", oem.MakeMercedesBenz, "W1N", "2437A", "EQA", "250", "", "", "bev", 66.5, 426, 250000, 10},
	{"hm", oem.MakeMercedesBenz, "W1K", "2938A", "EQC", "400", "", "", "bev", 80.0, 417, 160000, 8},
	{"hm", oem.MakeKia, "KNA", "C381A", "EV6", "", "", "", "bev", 77.4, 528, 150000, 7},
	{"hm", oem.MakeKia, "KNA", "CC81G", "Niro EV", "", "", "", "bev", 64.8, 460, 150000, 7},
	{"hm", oem.MakeVolvo, "YV1", "XZK7V", "XC40 Recharge", "", "", "", "bev", 78.0, 418, 160000, 8},
	{"renault", oem.MakeRenault, "VF1", "AG000", "ZOE", "R135", "ZE50", "", "bev", 52.0, 395, 160000, 8},
	{"renault", oem.MakeRenault, "VF1", "RCB00", "MEGANE E-TECH", "EV60", "EV60", "", "bev", 60.0, 470, 160000, 8},
	{"renault", oem.MakeDacia, "UU1", "DBA00", "Spring", "", "", "", "bev", 26.8, 230, 120000, 8},
}

// share is how many of the sandbox's vehicles each connector holds.
var share = map[string]int{"bmw": 450, "tesla": 350, "stellantis": 450, "hm": 450, "renault": 300}

// World is the generated fleet: the wanted fleet the company keeps, and the
// vehicles each simulator knows.
type World struct {
	Fleet []oem.FleetEntry
	// Specs by simulator: "bmw", "hm", "stellantis", "tesla", "renault".
	// Renault vehicles are in both "renault" (descriptions) and "hm"
	// (activation goes through High Mobility).
	Specs map[string][]simkit.Spec
}

// Size is the number of vehicles in the generated world.
func Size() int {
	n := 0
	for _, v := range share {
		n += v
	}

	return n
}

// Generate builds the world from seed; the same seed gives the same world.
func Generate(seed uint64) *World {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &World{Specs: make(map[string][]simkit.Spec)}
	serial := 0

	for _, conn := range []string{"bmw", "tesla", "stellantis", "hm", "renault"} {
		var pool []model
		for _, m := range models {
			if m.connector == conn {
				pool = append(pool, m)
			}
		}

		for i := 0; i < share[conn]; i++ {
			serial++
			m := pool[rng.IntN(len(pool))]
			spec, entry := vehicle(rng, m, serial)

			switch conn {
			case "renault":
				w.Specs["renault"] = append(w.Specs["renault"], spec)
				w.Specs["hm"] = append(w.Specs["hm"], spec)
			default:
				w.Specs[conn] = append(w.Specs[conn], spec)
			}

			w.Fleet = append(w.Fleet, entry)
		}
	}

	return w
}

// vehicle draws one vehicle of model m: its simulator spec and its wanted
// fleet entry.
func vehicle(rng *rand.Rand, m model, serial int) (simkit.Spec, oem.FleetEntry) {
	year := 2019 + rng.IntN(6)
	vin := makeVIN(m, year, serial)
	built := time.Date(year-1, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	firstReg := built.AddDate(0, 1+rng.IntN(4), 0)
	owner := Owners[rng.IntN(len(Owners))]
	plate := fmt.Sprintf("%s-%03d-%s", letters(rng, 2), rng.IntN(1000), letters(rng, 2))

	spec := simkit.Spec{
		VIN: string(vin), Make: m.make, Model: m.name, Type: m.typ, Version: m.version, Trim: m.trim,
		Year: year, Powertrain: m.powertrain, BatteryKWh: m.kwh, RangeKm: m.rangeKm,
		WarrantyKm: m.warrantyKm, WarrantyYears: m.warrantyY, BuildDate: built, FirstReg: firstReg,
		LicencePlate: plate, Outcome: simkit.OutcomeApprove,
	}

	entry := oem.FleetEntry{
		VIN: vin, Owner: owner, Make: m.make, Model: m.name, Type: m.typ, LicencePlate: plate,
		Country:   []string{"FR", "NL", "DE", "BE", "GB"}[rng.IntN(5)],
		StartDate: firstReg, EndDate: firstReg.AddDate(4, 0, 0), WantActive: true, Displayed: true,
	}

	// The mix: most activate, some stay pending, some are ineligible or
	// rejected, some already share, a few share but should not.
	roll := rng.IntN(100)
	switch {
	case roll < 8:
		spec.Outcome = simkit.OutcomePending
	case roll < 13:
		spec.Outcome = simkit.OutcomeIneligible
		spec.Reason = "ineligible VIN"
	case roll < 17:
		spec.Outcome = simkit.OutcomeReject
		spec.Reason = "consent assignment missing"
	case roll < 30:
		spec.Initial = "active"
	case roll < 33:
		spec.Initial = "active"
		entry.WantActive = false
		entry.Displayed = false
	case roll < 55:
		// Consent takes a while: still pending on a run right after.
		spec.After = 6 * time.Hour
	}

	if m.connector == "tesla" {
		// Tesla cannot enrol: a vehicle shares when its owner listed it in
		// one of the accounts, which most have done.
		spec.Account = TeslaAccounts[rng.IntN(len(TeslaAccounts))]
		spec.Initial = "active"
		if roll >= 90 {
			spec.Initial = ""
		}
	}

	return spec, entry
}

// makeVIN builds a valid VIN: the model's WMI and descriptor, the check
// digit, the model-year code, a plant code and a six-digit serial.
func makeVIN(m model, year, serial int) oem.VIN {
	const yearCodes = "ABCDEFGHJKLMNPRSTVWXY123456789"
	yc := yearCodes[(year-2010)%len(yearCodes)]
	raw := fmt.Sprintf("%s%s0%c%c%06d", m.wmi, m.vds, yc, "PBNZKC"[serial%6], serial)

	return oem.MustParseVIN(raw).WithCheckDigit()
}

func letters(rng *rand.Rand, n int) string {
	const abc = "ABCDEFGHJKLMNPRSTVWXYZ"
	b := make([]byte, n)
	for i := range b {
		b[i] = abc[rng.IntN(len(abc))]
	}

	return string(b)
}
