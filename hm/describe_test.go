package hm_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const (
	dataEndpoint   = "GET /v1/vehicle-data/autoapi-13/{vin}"
	staticEndpoint = "GET /v1/vehicle-static-data/{vin}/data"
)

func describe(t *testing.T, e *env, vins ...oem.VIN) (map[oem.VIN]oem.Info, map[oem.VIN]error) {
	t.Helper()

	infos := map[oem.VIN]oem.Info{}
	errs := map[oem.VIN]error{}
	for info, err := range e.conn.Describe(t.Context(), vins) {
		if err != nil {
			ve, ok := oem.AsVehicleError(err)
			if !ok {
				t.Fatalf("Describe ended: %v", err)
			}

			errs[ve.VIN] = err

			continue
		}

		infos[info.VIN] = info
	}

	return infos, errs
}

// Standardised values, each with its source: brand from the data API's
// underscored name, model without the static data's brackets, sub-model,
// powertrain from the fuel type, battery capacity in kWh.
func TestDescribeValues(t *testing.T) {
	t.Parallel()

	tesla := simkit.Spec{VIN: string(testVIN(wmiTesla, 3)), Make: oem.MakeTesla, Model: "Model 3",
		Trim: "Long Range AWD", Powertrain: "bev", BatteryKWh: 75, Initial: "active"}
	e := newEnv(t, envOpt{}, mercedes(1, "active"), volvo(2, "active"), tesla, ford(4, "active"))
	m, v, ts, f := testVIN(wmiMercedes, 1), testVIN(wmiVolvo, 2), testVIN(wmiTesla, 3), testVIN(wmiFord, 4)

	infos, errs := describe(t, e, m, v, ts, f)
	if len(errs) > 0 {
		t.Fatalf("vehicle errors: %v", errs)
	}

	type want struct {
		make, model, version string
		pt                   oem.Powertrain
		kwh                  float64
		makeSrc              string
	}
	for vin, w := range map[oem.VIN]want{
		m: {oem.MakeMercedesBenz, "EQA", "250+", oem.PowertrainBEV, 66.5, "hm:vehicle-data:brand"},
		v: {oem.MakeVolvo, "XC40", "Recharge Twin", oem.PowertrainBEV, 78, "hm:vehicle-data:brand"},
		ts: {oem.MakeTesla, "Model 3", "Long Range AWD", oem.PowertrainBEV, 75,
			"hm:static-data:vehicle.manufacturer.brand.name"}, // the data API says "unknown" for Tesla
		f: {oem.MakeFord, "Kuga", "Titanium", oem.PowertrainPHEV, 0, "hm:vehicle-data:brand"},
	} {
		got := infos[vin]
		if got.Make != w.make || got.Model != w.model || got.Version != w.version || got.Powertrain != w.pt ||
			got.BatteryKWh != w.kwh {
			t.Errorf("%s: %+v, want %+v", vin, got, w)
		}

		if got.Sources[oem.FieldMake] != w.makeSrc {
			t.Errorf("%s: make source %q, want %q", vin, got.Sources[oem.FieldMake], w.makeSrc)
		}

		if got.Sources[oem.FieldModel] != "hm:static-data:vehicle.manufacturer.model.name" ||
			got.Sources[oem.FieldPowertrain] != "hm:static-data:vehicle.specs.fuel.type" {
			t.Errorf("%s: sources %v", vin, got.Sources)
		}

		if (w.kwh > 0) != (got.Sources[oem.FieldBatteryKWh] == "hm:vehicle-data:charging.battery_capacity") {
			t.Errorf("%s: battery source %q", vin, got.Sources[oem.FieldBatteryKWh])
		}
	}
}

// 422 "Pending": no data yet, a *oem.VehicleError wrapping oem.ErrNoData,
// and the static data is not asked for. 403 "No active consent":
// oem.ErrConsentRevoked. 408: oem.ErrUnavailable. The other VINs are still
// described.
func TestDescribeVehicleOutcomes(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"), mercedes(2, "active"), mercedes(3, "pending"),
		mercedes(4, "active"), volvo(5, "active"))
	pending, asleep, noConsent, ok, unknown :=
		testVIN(wmiMercedes, 1), testVIN(wmiMercedes, 2), testVIN(wmiMercedes, 3), testVIN(wmiMercedes, 4),
		testVIN(wmiRenault, 9)
	e.sim.SetNoData(string(pending), true)
	e.sim.SetAsleep(string(asleep), true)

	infos, errs := describe(t, e, pending, asleep, noConsent, ok, unknown)
	for vin, kind := range map[oem.VIN]error{
		pending: oem.ErrNoData, asleep: oem.ErrUnavailable, noConsent: oem.ErrConsentRevoked,
		unknown: oem.ErrConsentRevoked,
	} {
		if !errors.Is(errs[vin], kind) {
			t.Errorf("%s: %v, want %v", vin, errs[vin], kind)
		}

		if _, ok := infos[vin]; ok {
			t.Errorf("%s: an Info as well as the error", vin)
		}
	}

	if infos[ok].Model != "EQA" {
		t.Errorf("the good VIN: %+v", infos[ok])
	}

	if n := e.count(staticEndpoint); n != 1 {
		t.Errorf("%d static data requests, want 1 (only for the VIN with vehicle data)", n)
	}

	if n := e.count(dataEndpoint); n != 5 {
		t.Errorf("%d vehicle data requests, want 5 (408 and 422 are not retried)", n)
	}
}

// "Consent is removed by OEM" comes as a 401: it is the vehicle's consent,
// not our token.
func TestDescribeConsentRemoved401(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	body := `{"errors":[{"detail":"Consent is removed by OEM","title":"Not Authorized"}],"request_id":"2c85d1f9"}`
	e.sim.Server().AddFault(simkit.Fault{Endpoint: dataEndpoint, Times: 2, Status: http.StatusUnauthorized, Body: body})

	_, errs := describe(t, e, testVIN(wmiMercedes, 1))
	err := errs[testVIN(wmiMercedes, 1)]
	var ae *oem.APIError
	if !errors.Is(err, oem.ErrConsentRevoked) || !errors.As(err, &ae) || ae.RequestID != "2c85d1f9" {
		t.Errorf("401 consent removed: %v, want oem.ErrConsentRevoked with the request id", err)
	}
}

// The static data API does not know the VIN: the vehicle data stands, with
// a warning.
func TestDescribeNoStaticData(t *testing.T) {
	t.Parallel()

	sp := mercedes(1, "active")
	sp.Model = "" // the simulator has no static data without a model
	e := newEnv(t, envOpt{}, sp)

	infos, errs := describe(t, e, testVIN(wmiMercedes, 1))
	info := infos[testVIN(wmiMercedes, 1)]
	if len(errs) > 0 || info.Make != oem.MakeMercedesBenz || info.BatteryKWh != 66.5 || info.Model != "" ||
		len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "static data") {
		t.Errorf("no static data: %+v, %v", info, errs)
	}
}

// CASES 9, 13 and 14: numbers as strings, padded and multi-line model
// names, a capacity of 0 (unknown) or outside 5–250 kWh (flagged, not
// stored), an energy unit that cannot be converted.
func TestDescribeOddValues(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		battery string
		model   string
		wantKWh float64
		wantMod string
		warn    string
	}{
		{"string number in Wh", `{"value":"64800","unit":"watt_hours"}`, "  e-Niro\n (DE)(2019->) ", 64.8, "e-Niro", ""},
		{"zero is unknown", `{"value":0,"unit":"kilowatt_hours"}`, "Niro", 0, "Niro", ""},
		{"implausible", `{"value":900,"unit":"kilowatt_hours"}`, "Niro", 0, "Niro", "outside 5–250 kWh"},
		{"ampere hours", `{"value":180,"unit":"ampere_hours"}`, "Niro", 0, "Niro", "cannot be read as energy"},
		{"not a number", `{"value":"n/a","unit":"kilowatt_hours"}`, "Niro", 0, "Niro", "is not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			e := newEnv(t, envOpt{offSpec: true}, kia(1, "active"))
			k := testVIN(wmiKia, 1)
			e.sim.Server().AddFault(simkit.Fault{Endpoint: dataEndpoint, Times: 1, Status: http.StatusOK,
				Body: fmt.Sprintf(`{"vin":%q,"brand":"kia","charging":{"battery_capacity":{"data":%s,"timestamp":"2024-01-01T00:00:00.000Z"}}}`,
					k, c.battery)})
			e.sim.Server().AddFault(simkit.Fault{Endpoint: staticEndpoint, Times: 1, Status: http.StatusOK,
				Body: fmt.Sprintf(`{"vehicle":{"manufacturer":{"brand":{"id":"285","name":"Kia"},"model":{"id":"1","name":%q}},"specs":{"fuel":{"type":{"code":"E","name":"Elektro"}}}}}`,
					c.model)})

			infos, errs := describe(t, e, k)
			info := infos[k]
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}

			if info.BatteryKWh != c.wantKWh || info.Model != c.wantMod || info.Powertrain != oem.PowertrainBEV {
				t.Errorf("got %+v", info)
			}

			warned := strings.Join(info.Warnings, "; ")
			if (c.warn == "") != (warned == "") || !strings.Contains(warned, c.warn) {
				t.Errorf("warnings %q, want %q", warned, c.warn)
			}

			if c.wantKWh == 0 && info.Sources[oem.FieldBatteryKWh] != "" {
				t.Errorf("an unknown capacity has a source")
			}
		})
	}
}

func TestPowertrainWords(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{offSpec: true}, kia(1, "active"))
	k := testVIN(wmiKia, 1)
	for name, want := range map[string]oem.Powertrain{
		"Diesel": oem.PowertrainICE, "Petrol": oem.PowertrainICE, "Electric": oem.PowertrainBEV,
		"Plug-in hybrid (petrol/electric)": oem.PowertrainPHEV, "Hybrid (diesel/electric)": oem.PowertrainHEV,
		"Hydrogen": oem.PowertrainFCEV, "Wood gas?": oem.PowertrainICE,
	} {
		e.sim.Server().AddFault(simkit.Fault{Endpoint: staticEndpoint, Times: 1, Status: http.StatusOK,
			Body: fmt.Sprintf(`{"vehicle":{"manufacturer":{"model":{"name":"Niro"}},"specs":{"fuel":{"type":{"name":%q}}}}}`, name)})

		infos, _ := describe(t, e, k)
		if got := infos[k].Powertrain; got != want {
			t.Errorf("fuel type %q: %q, want %q", name, got, want)
		}
	}
}
