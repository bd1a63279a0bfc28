package tesla

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

func TestDescribeModelsTrimsAndWarranty(t *testing.T) {
	t.Parallel()

	m3, my, ms, mx := vin('3', 'P', 1), vin('Y', 'R', 2), vin('S', 'L', 3), vin('X', 'M', 4)
	sim := newSim(t, teslatest.Options{},
		spec(m3, "Model 3", "Long Range AWD", acctA),
		spec(my, "Model Y", "Long Range RWD", acctB),
		spec(ms, "Model S", "Long Range Plus", acctA),
		spec(mx, "Model X", "Long Range", acctB),
	)
	sim.SetOptionsJSON(string(ms), `{"response":{"codes":[
		{"code":"$BP02","displayName":"Uncorked Acceleration","isActive":true},
		{"code":" $MT\n107 ","displayName":"Model S Long Range Plus","isActive":true},
		{"code":"$MT337","displayName":"a second MT code is ignored","isActive":true}]}}`)
	c := newConn(t, sim, nil)

	infos, verrs, err := describe(t.Context(), c, m3, my, ms, mx, m3)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Describe: %v %v", err, verrs)
	}

	for _, tc := range []struct {
		vin                      oem.VIN
		model, version, trim     string
		year                     int
		warrantyKm, warrantyYear int
	}{
		{m3, "Model 3", "MT337", "Long Range AWD", 2023, 192000, 8},
		{my, "Model Y", "MTY13", "Long Range RWD", 2024, 192000, 8},
		{ms, "Model S", "MT107", "Long Range Plus", 2020, 192000, 8},
		{mx, "Model X", "MTX13", "Long Range", 2021, 192000, 8},
	} {
		got := infos[tc.vin]
		if got.Model != tc.model || got.Version != tc.version || got.Type != tc.trim ||
			got.ModelYear != tc.year || got.WarrantyKm != tc.warrantyKm ||
			got.WarrantyYears != tc.warrantyYear || got.Make != oem.MakeTesla ||
			got.Powertrain != oem.PowertrainBEV {
			t.Errorf("%s: %+v, want %s %s %q %d, %d km %d years", tc.vin, got, tc.model, tc.version,
				tc.trim, tc.year, tc.warrantyKm, tc.warrantyYear)
		}

		for _, f := range []oem.Field{oem.FieldModel, oem.FieldVersion, oem.FieldType,
			oem.FieldWarrantyKm, oem.FieldWarrantyYears, oem.FieldModelYear} {
			if got.Sources[f] == "" {
				t.Errorf("%s: no source for %s", tc.vin, f)
			}
		}
	}

	if src := infos[m3].Sources[oem.FieldWarrantyKm]; !strings.Contains(src, "BATTERY") {
		t.Errorf("warranty source %q, want the battery warranty entry", src)
	}

	// Four vehicles, one given twice: one listing per account to learn
	// where they are, then each endpoint once per vehicle.
	o, w, l := requests(sim, epOptions), requests(sim, epWarranty), requests(sim, epList)
	if o != 4 || w != 4 || l != 2 {
		t.Errorf("requests: options %d, warranty %d, listing %d; want 4, 4, 2", o, w, l)
	}

	// A second call knows the accounts: no listing.
	if _, _, err := describe(t.Context(), c, m3); err != nil {
		t.Fatal(err)
	}

	if l := requests(sim, epList); l != 2 {
		t.Errorf("second Describe listed again: %d listing requests", l)
	}
}

func TestDescribeWarrantyShapes(t *testing.T) {
	t.Parallel()

	entry := func(typ, odo, unit, years string) string {
		return `{"warrantyType":"` + typ + `","expirationDate":"2031-03-01T00:00:00Z",` +
			`"expirationOdometer":` + odo + `,"odometerUnit":"` + unit + `","coverageAgeInYears":` + years + `}`
	}
	wrap := func(active, expired string) string {
		return `{"response":{"activeWarranty":[` + active + `],"upcomingWarranty":[],"expiredWarranty":[` +
			expired + `]}}`
	}

	for _, tc := range []struct {
		name        string
		body        string
		km, years   int
		wantWarning bool
	}{
		{"one entry only", wrap(entry("NEW_VEHICLE", "50000", "MI", "4"), ""), 80467, 4, false},
		{"none", wrap("", ""), 0, 0, true},
		{"several, battery last", wrap(entry("NEW_VEHICLE", "80000", "KM", "4")+","+
			entry("DRIVEUNIT", "100000", "KM", "6")+","+entry("BATTERY_WARRANTY", "120000", "MI", "8"), ""),
			193121, 8, false},
		{"numbers as strings and floats", wrap(entry("BATTERY", `"160000"`, "km", "8.0"), ""), 160000, 8, false},
		{"only expired", wrap("", entry("NEW_VEHICLE", "50000", "miles", `"4"`)), 80467, 4, false},
		{"unknown unit", wrap(entry("BATTERY", "100", "furlong", "8"), ""), 0, 8, true},
		{"odd odometer", wrap(entry("BATTERY", `"lots"`, "KM", "8"), ""), 0, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			v := vin('3', 'P', 1)
			sim := newSim(t, teslatest.Options{}, spec(v, "Model 3", "RWD", acctA))
			sim.SetWarrantyJSON(string(v), tc.body)
			c := newConn(t, sim, nil)

			infos, verrs, err := describe(t.Context(), c, v)
			if err != nil || verrs[v] != nil {
				t.Fatalf("Describe: %v %v", err, verrs)
			}

			got := infos[v]
			if got.WarrantyKm != tc.km || got.WarrantyYears != tc.years {
				t.Errorf("warranty %d km %d years, want %d km %d years", got.WarrantyKm, got.WarrantyYears,
					tc.km, tc.years)
			}

			if (len(got.Warnings) > 0) != tc.wantWarning {
				t.Errorf("warnings %q, want some: %v", got.Warnings, tc.wantWarning)
			}

			if got.Model != "Model 3" {
				t.Errorf("model %q: an odd warranty must not cost the model", got.Model)
			}
		})
	}
}

func TestDescribeModelFromTheVIN(t *testing.T) {
	t.Parallel()

	v := vin('Y', 'R', 1)
	sim := newSim(t, teslatest.Options{}, spec(v, "Model Y", "RWD", acctA))
	sim.SetOptionsJSON(string(v), `{"response":{"codes":[{"code":"$PPSW","displayName":"White"}]}}`)
	c := newConn(t, sim, nil)

	infos, _, err := describe(t.Context(), c, v)
	if err != nil {
		t.Fatal(err)
	}

	got := infos[v]
	if got.Model != "Model Y" || got.Sources[oem.FieldModel] != "tesla:vin:4" || got.Version != "" {
		t.Errorf("info %+v, want Model Y from the VIN and no version", got)
	}

	// Options unavailable altogether: the warranty and the VIN still describe it.
	sim.Server().AddFault(simkit.Fault{Endpoint: epOptions, Status: http.StatusNotFound,
		Body: `{"response":null,"error":"not_found","error_description":"options not found"}`})
	infos, verrs, err := describe(t.Context(), c, v)
	if err != nil || verrs[v] != nil {
		t.Fatalf("Describe with options 404: %v %v", err, verrs)
	}

	if got := infos[v]; got.Model != "Model Y" || got.WarrantyKm != 192000 || len(got.Warnings) == 0 {
		t.Errorf("info %+v, want model and warranty with a warning about the options", got)
	}
}

func TestDescribeFailures(t *testing.T) {
	t.Parallel()

	a, b := vin('3', 'P', 1), vin('3', 'P', 2)
	hidden, unknown := vin('X', 'M', 3), vin('S', 'L', 4)

	t.Run("unknown and unshared VINs cost no request", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{}, spec(a, "Model 3", "RWD", acctA),
			simkit.Spec{VIN: string(hidden), Model: "Model X", Initial: "inactive"})
		c := newConn(t, sim, nil)
		if _, _, err := list(t.Context(), c); err != nil {
			t.Fatal(err)
		}

		infos, verrs, err := describe(t.Context(), c, hidden, unknown, a)
		if err != nil {
			t.Fatal(err)
		}

		for _, v := range []oem.VIN{hidden, unknown} {
			wantKind(t, verrs[v], oem.ErrNotFound)
		}

		if infos[a].Model == "" {
			t.Error("the listed VIN was not described")
		}

		if o := requests(sim, epOptions); o != 1 {
			t.Errorf("%d options requests, want 1 (only the listed VIN)", o)
		}
	})

	t.Run("asleep is a vehicle error and the stream goes on", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{}, spec(a, "Model 3", "RWD", acctA), spec(b, "Model 3", "RWD", acctA))
		asleep := `{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep",` +
			`"error_description":""}`
		sim.Server().AddFault(simkit.Fault{Endpoint: epOptions, Times: 1, Status: http.StatusRequestTimeout, Body: asleep})
		sim.Server().AddFault(simkit.Fault{Endpoint: epWarranty, Times: 1, Status: http.StatusRequestTimeout, Body: asleep})
		c := newConn(t, sim, nil)

		infos, verrs, err := describe(t.Context(), c, a, b)
		if err != nil {
			t.Fatal(err)
		}

		wantKind(t, verrs[a], oem.ErrUnavailable)
		if infos[b].Model == "" {
			t.Error("the second VIN was not described after the first was asleep")
		}

		// 408 is not retried: one options and one warranty call per VIN.
		if o, w := requests(sim, epOptions), requests(sim, epWarranty); o != 2 || w != 2 {
			t.Errorf("requests options %d warranty %d, want 2 and 2", o, w)
		}
	})

	t.Run("a long rate limit ends the stream at once", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{RateLimitReset: 10 * time.Hour},
			spec(a, "Model 3", "RWD", acctA), spec(b, "Model 3", "RWD", acctA))
		sim.Server().AddFault(simkit.Fault{Endpoint: epOptions, RateLimited: true, RetryAfter: 10 * time.Hour})
		c := newConn(t, sim, nil)

		start := time.Now()
		_, verrs, err := describe(t.Context(), c, a, b)
		wantKind(t, err, oem.ErrRateLimited)
		if d, ok := oem.RetryAfter(err); !ok || d < 9*time.Hour {
			t.Errorf("RetryAfter = %v, %v; want about 10 h", d, ok)
		}

		if time.Since(start) > 2*time.Second || len(verrs) > 0 {
			t.Errorf("took %v with vehicle errors %v; want an immediate end", time.Since(start), verrs)
		}

		if o := requests(sim, epOptions); o != 1 {
			t.Errorf("%d options requests, want 1", o)
		}
	})

	t.Run("a short rate limit is waited for", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{}, spec(a, "Model 3", "RWD", acctA))
		sim.Server().AddFault(simkit.Fault{Endpoint: epOptions, Times: 1, Status: http.StatusTooManyRequests,
			Header: map[string]string{"Retry-After": "0.05", "RateLimit-Limit": "50", "RateLimit-Remaining": "3"},
			Body:   `{"response":null,"error":"Too Many Requests","error_description":""}`})
		c := newConn(t, sim, nil)

		infos, verrs, err := describe(t.Context(), c, a)
		if err != nil || verrs[a] != nil || infos[a].Model == "" {
			t.Fatalf("Describe after a short 429: %v %v %+v", err, verrs, infos[a])
		}

		if o := requests(sim, epOptions); o != 2 {
			t.Errorf("%d options requests, want 2", o)
		}
	})
}
