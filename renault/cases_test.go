package renault_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

// CASES 13: version codes with embedded newlines and padding.
func TestCaseMessyCodes(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{MessyCodes: true})
	sim.PatchVehicle(string(meganeVIN), map[string]any{
		"model": " MEGANE\n E-TECH \t", "version": "\n EV60 \r\n 220hp \n optimum charge  ",
	})
	c := newConnector(t, simConfig(t, sim))

	zoe := mustDescribe(t, c, zoeVIN)
	if zoe.Version != "ZE50" || zoe.Type != "R135" {
		t.Errorf("messy ZOE version = %q, type = %q; want ZE50, R135", zoe.Version, zoe.Type)
	}

	megane := mustDescribe(t, c, meganeVIN)
	if megane.Model != "MEGANE E-TECH" || megane.Version != "EV60" || megane.Type != "220hp optimum charge" {
		t.Errorf("messy Megane = %q / %q / %q", megane.Model, megane.Version, megane.Type)
	}
}

func TestSplitVersion(t *testing.T) {
	t.Parallel()

	for in, want := range map[string][2]string{
		"ZE50 R135":          {"ZE50", "R135"},
		" ZE50\n  R135  \n":  {"ZE50", "R135"},
		"LIFE R110 ZE40":     {"LIFE", "R110 ZE40"},
		"INTENS":             {"INTENS", ""},
		"  \n ":              {"", ""},
		"":                   {"", ""},
		"EV60\t220hp\r\nsup": {"EV60", "220hp sup"},
	} {
		v, typ := renault.SplitVersion(in)
		if v != want[0] || typ != want[1] {
			t.Errorf("SplitVersion(%q) = %q, %q; want %q, %q", in, v, typ, want[0], want[1])
		}
	}
}

// CASES 9 and 14: capacities as numbers, floats, strings, empty, null,
// missing, zero (unknown) and implausible (flagged, not stored).
func TestCaseBatteryCapacity(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	for _, tc := range []struct {
		raw  string
		kwh  float64
		warn string
	}{
		{`52`, 52, ""}, {`52.0`, 52, ""}, {`"52"`, 52, ""}, {`"41,0"`, 41, ""}, {`"52.5"`, 52.5, ""},
		{`0`, 0, ""}, {`"0"`, 0, ""}, {`""`, 0, ""}, {`null`, 0, ""}, {string(renaulttest.Absent), 0, ""},
		{`999`, 0, "outside 5–250 kWh"}, {`2`, 0, "outside 5–250 kWh"},
		{`"n/a"`, 0, "batteryCapacity: odd value"}, {`{"value":52}`, 0, "batteryCapacity: odd value"},
	} {
		sim.PatchVehicle(string(zoeVIN), map[string]any{"batteryCapacity": json.RawMessage(tc.raw)})

		info := mustDescribe(t, c, zoeVIN)
		if info.BatteryKWh != tc.kwh {
			t.Errorf("batteryCapacity %s gave %g kWh, want %g", tc.raw, info.BatteryKWh, tc.kwh)
		}

		if _, has := info.Sources[oem.FieldBatteryKWh]; has != (tc.kwh > 0) {
			t.Errorf("batteryCapacity %s: source present = %v", tc.raw, has)
		}

		checkWarning(t, "batteryCapacity "+tc.raw, info, tc.warn)

		// The rest of the vehicle stands whatever the odd field.
		if info.Model != "ZOE" || info.RangeKm != 395 {
			t.Errorf("batteryCapacity %s spoiled the rest: %+v", tc.raw, info)
		}
	}
}

// CASES 9: the WLTP range as a number, float, string, empty, null, missing,
// zero and nonsense.
func TestCaseWLTPRange(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	for _, tc := range []struct {
		raw  string
		km   int
		warn string
	}{
		{`395`, 395, ""}, {`395.0`, 395, ""}, {`"395"`, 395, ""}, {`"394.6"`, 395, ""},
		{`""`, 0, ""}, {`null`, 0, ""}, {string(renaulttest.Absent), 0, ""}, {`0`, 0, ""},
		{`"n/a"`, 0, "odd value"}, {`-5`, 0, "implausible"}, {`40000`, 0, "implausible"},
	} {
		sim.PatchWLTP(string(zoeVIN), map[string]any{"wltpElecRangeCombined": json.RawMessage(tc.raw)})

		info := mustDescribe(t, c, zoeVIN)
		if info.RangeKm != tc.km {
			t.Errorf("wltpElecRangeCombined %s gave %d km, want %d", tc.raw, info.RangeKm, tc.km)
		}

		if _, has := info.Sources[oem.FieldRangeKm]; has != (tc.km > 0) {
			t.Errorf("wltpElecRangeCombined %s: source present = %v", tc.raw, has)
		}

		checkWarning(t, "wltpElecRangeCombined "+tc.raw, info, tc.warn)
	}
}

// CASES 11: first registration dates in the forms seen.
func TestCaseFirstRegistration(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))
	want := time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC)

	for _, tc := range []struct {
		raw  string
		want time.Time
		warn string
	}{
		{`"2021-03-15"`, want, ""},
		{`"2021-03-15T00:00:00Z"`, want, ""},
		{`"2021-03-15T01:00:00+0100"`, want, ""},
		{`"2021-03-15T00:00:00.000"`, want, ""},
		{`"Mon Mar 15 00:00:00 GMT 2021"`, want, ""},
		{`""`, time.Time{}, ""},
		{`null`, time.Time{}, ""},
		{`"15th of March"`, time.Time{}, "firstRegistrationDate: odd value"},
	} {
		sim.PatchVehicle(string(zoeVIN), map[string]any{"firstRegistrationDate": json.RawMessage(tc.raw)})

		info := mustDescribe(t, c, zoeVIN)
		if !info.FirstRegistration.Equal(tc.want) {
			t.Errorf("firstRegistrationDate %s gave %v, want %v", tc.raw, info.FirstRegistration, tc.want)
		}

		if _, has := info.Sources[oem.FieldFirstRegistration]; has != !tc.want.IsZero() {
			t.Errorf("firstRegistrationDate %s: source present = %v", tc.raw, has)
		}

		checkWarning(t, "firstRegistrationDate "+tc.raw, info, tc.warn)
	}
}

// Empty strings mean absent; codes nested in objects are read; a model that
// is neither is a warning, not a failure.
func TestCaseEmptyAndNestedText(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	sim.PatchVehicle(string(zoeVIN), map[string]any{
		"brand": "", "version": "", "model": map[string]string{"label": " ZOE "},
	})
	info := mustDescribe(t, c, zoeVIN)
	if info.Make != "" || info.Version != "" || info.Type != "" || info.Model != "ZOE" {
		t.Errorf("empty brand and version, nested model: %+v", info)
	}

	for _, f := range []oem.Field{oem.FieldMake, oem.FieldVersion, oem.FieldType} {
		if _, ok := info.Sources[f]; ok {
			t.Errorf("a source for the absent %s", f)
		}
	}

	sim.PatchVehicle(string(zoeVIN), map[string]any{"model": []string{"ZOE"}})
	info = mustDescribe(t, c, zoeVIN)
	if info.Model != "" {
		t.Errorf("an array model gave %q", info.Model)
	}

	checkWarning(t, "array model", info, "model: odd value")
}

func TestAnswerForAnotherVIN(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	sim.PatchVehicle(string(zoeVIN), map[string]any{"vin": string(meganeVIN)})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, zoeVIN, meganeVIN)
	if ve := d.verrs[zoeVIN]; ve == nil || !errors.Is(ve, oem.ErrConflict) {
		t.Fatalf("an answer naming another VIN: %v, want an ErrConflict vehicle error", d.verrs[zoeVIN])
	}

	if _, ok := d.infos[meganeVIN]; !ok {
		t.Errorf("the next vehicle was not described")
	}

	// The VIN is compared without regard to case.
	sim.PatchVehicle(string(zoeVIN), map[string]any{"vin": strings.ToLower(string(zoeVIN))})
	mustDescribe(t, c, zoeVIN)

	// A WLTP answer about another vehicle leaves the range unknown.
	sim.PatchWLTP(string(zoeVIN), map[string]any{"vin": string(meganeVIN)})
	info := mustDescribe(t, c, zoeVIN)
	if info.RangeKm != 0 || info.Model != "ZOE" {
		t.Errorf("a WLTP answer for another VIN gave range %d, model %q", info.RangeKm, info.Model)
	}

	checkWarning(t, "WLTP for another VIN", info, "names another VIN")
}

func TestDuplicateVINsDescribedOnce(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, zoeVIN, zoeVIN, unknownVIN, zoeVIN, unknownVIN)
	if d.n != 2 || d.err != nil {
		t.Fatalf("%d answers (end %v), want 2: one per distinct VIN", d.n, d.err)
	}

	if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 2 {
		t.Errorf("%d vehicle calls, want 2", n)
	}
}

// checkWarning asserts one warning containing want, or none when want is
// empty.
func checkWarning(t *testing.T, what string, info oem.Info, want string) {
	t.Helper()

	if want == "" {
		if len(info.Warnings) != 0 {
			t.Errorf("%s: unexpected warnings %q", what, info.Warnings)
		}

		return
	}

	if len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], want) {
		t.Errorf("%s: warnings %q, want one saying %q", what, info.Warnings, want)
	}
}
