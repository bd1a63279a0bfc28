package stellantis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/stellantis"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

func hasWarning(info oem.Info, sub string) bool {
	return slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}

func TestDescribeBuiltRecords(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	bev, phev, ice := vin("VF3", 1), vin("VR1", 2), vin("ZFA", 3)
	s.Add(
		simkit.Spec{VIN: string(bev), Model: " e-208\n GT ", Powertrain: "bev", BatteryKWh: 50,
			Initial: "active"},
		simkit.Spec{VIN: string(phev), Model: "DS 7 E-Tense", Powertrain: "phev", BatteryKWh: 13.2,
			Initial: "active"},
		simkit.Spec{VIN: string(ice), Model: "Panda", Powertrain: "ice", Initial: "active"},
	)

	infos, verrs, err := describe(t, newConn(t, s), bev, phev, ice)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Describe: %v %v", err, verrs)
	}

	for _, tc := range []struct {
		vin   oem.VIN
		make  string
		model string
		kwh   float64
		pt    oem.Powertrain
	}{
		// The model's padding and newline are collapsed (CASES 13).
		{bev, oem.MakePeugeot, "e-208 GT", 50, oem.PowertrainBEV},
		{phev, oem.MakeDS, "DS 7 E-Tense", 13.2, oem.PowertrainPHEV},
		{ice, oem.MakeFiat, "Panda", 0, oem.PowertrainICE},
	} {
		got := infos[tc.vin]
		if got.Make != tc.make || got.Model != tc.model || got.BatteryKWh != tc.kwh ||
			got.Powertrain != tc.pt {
			t.Errorf("%s: make %q model %q kWh %v powertrain %q; want %q %q %v %q", tc.vin,
				got.Make, got.Model, got.BatteryKWh, got.Powertrain, tc.make, tc.model, tc.kwh, tc.pt)
		}

		if got.Sources[oem.FieldMake] != "stellantis:vin-wmi" ||
			got.Sources[oem.FieldModel] != "stellantis:contracts:car.model" {
			t.Errorf("%s: sources %v", tc.vin, got.Sources)
		}

		if (tc.kwh > 0) != (got.Sources[oem.FieldBatteryKWh] != "") {
			t.Errorf("%s: capacity source %q for %v kWh", tc.vin, got.Sources[oem.FieldBatteryKWh],
				got.BatteryKWh)
		}

		if len(got.Warnings) > 0 {
			t.Errorf("%s: warnings on a clean record: %v", tc.vin, got.Warnings)
		}
	}

	if n := s.Server().Counters.Get(epExport); n != 1 {
		t.Errorf("%d export requests, want 1", n)
	}
}

func TestDescribeLooseValues(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	var vins []oem.VIN
	for i := range 10 {
		v := vin("VF3", i+1)
		vins = append(vins, v)
		s.Add(simkit.Spec{VIN: string(v), Model: "e-208", Initial: "active"})
	}

	rec := func(v oem.VIN, elec string) string {
		return fmt.Sprintf(`{"vin":{"value":"%s"},"datetime":{"value":"2017-08-10T13:46:39.652+0000"},`+
			`"electricity":%s}`, v, elec)
	}
	lines := []string{
		// capacity as a string, in Wh; string percentages; the Java date.
		rec(vins[0], `{"capacity":{"value":"46300","unit":"Wh"},"level":{"value":"20.1","unit":"kWh",`+
			`"percentage":"81.5","datetime":"Mon Jun 03 08:35:36 GMT 2019"},`+
			`"battery":{"stateOfHealth":{"percentage":{"value":"97"}}}}`),
		// 6.0e4 Wh as a float, no unit.
		rec(vins[1], `{"capacity":{"value":60000.0}}`),
		// zero: unknown, never a fact.
		rec(vins[2], `{"capacity":{"value":0,"unit":"Wh"}}`),
		// 900 kWh: flagged, not stored (CASES 14).
		rec(vins[3], `{"capacity":{"value":900000,"unit":"Wh"}}`),
		// unreadable capacity and percentage: warnings, the rest stands.
		rec(vins[4], `{"capacity":{"value":"n/a","unit":"Wh"},"level":{"value":3,"percentage":"lots"}}`),
		// the unit says kWh.
		rec(vins[5], `{"capacity":{"value":77,"unit":"kWh"}}`),
		// a bare VIN string instead of a leaf; "" for absent.
		`{"vin":"` + string(vins[6]) + `","datetime":"","electricity":{"capacity":""}}`,
		// a time nobody can read.
		rec(vins[7], `{"capacity":{"value":50000,"unit":"Wh"},"level":{"datetime":"yesterday"}}`),
		// a unit never seen.
		rec(vins[8], `{"capacity":{"value":50,"unit":"MJ"}}`),
		// a member of the wrong type: that field only.
		`{"vin":{"value":"` + string(vins[9]) + `"},"fuel":"n/a",` +
			`"electricity":{"capacity":{"value":52000,"unit":"Wh"}}}`,
	}
	for i, l := range lines {
		s.SetCarState(string(vins[i]), l)
	}

	infos, verrs, err := describe(t, newConn(t, s), vins...)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Describe: %v %v", err, verrs)
	}

	for i, tc := range []struct {
		kwh  float64
		warn string
	}{
		{46.3, ""},
		{60, ""},
		{0, ""},
		{0, "outside 5–250"},
		{0, "electricity.capacity: unreadable"},
		{77, ""},
		{0, ""},
		{50, "electricity.level.datetime: unreadable"},
		{0, `unknown unit "MJ"`},
		{52, "fuel: unexpected JSON string"},
	} {
		got := infos[vins[i]]
		if got.BatteryKWh != tc.kwh {
			t.Errorf("record %d: %v kWh, want %v", i, got.BatteryKWh, tc.kwh)
		}

		if tc.warn == "" && len(got.Warnings) > 0 {
			t.Errorf("record %d: warnings %v, want none", i, got.Warnings)
		}

		if tc.warn != "" && !hasWarning(got, tc.warn) {
			t.Errorf("record %d: warnings %v, want one with %q", i, got.Warnings, tc.warn)
		}

		if got.Model != "e-208" {
			t.Errorf("record %d: model %q", i, got.Model)
		}
	}

	if !hasWarning(infos[vins[4]], "electricity.level.percentage: unreadable") {
		t.Errorf("record 4: warnings %v, want the percentage flagged too", infos[vins[4]].Warnings)
	}
}

func TestDescribeBadRecordDoesNotStopTheRest(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	withContract, noContract, good, unknown := vin("VF3", 1), vin("VF3", 2), vin("VF3", 3), vin("VF3", 4)
	s.Add(simkit.Spec{VIN: string(withContract), Model: "e-208", Initial: "active"},
		simkit.Spec{VIN: string(noContract)},
		simkit.Spec{VIN: string(good), Model: "e-2008", Powertrain: "bev", BatteryKWh: 54,
			Initial: "active"})
	s.SetCarState(string(withContract), `{"vin":{"value":"`+string(withContract)+
		`"},"electricity":{"capacity":{"value":5`)
	s.SetCarState(string(noContract), `{"vin":"`+string(noContract)+`",,}`)
	s.SetCarState("AAAAAAAAAAAAAAAA0", `not json at all`)

	log, buf := newLogger(slog.LevelWarn)
	infos, verrs, err := describe(t, newConn(t, s, stellantis.WithLogger(log)),
		withContract, noContract, good, unknown)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}

	if got := infos[good]; got.BatteryKWh != 54 || got.Model != "e-2008" {
		t.Errorf("the record after the bad ones: %+v", got)
	}

	if got, ok := infos[withContract]; !ok || got.Model != "e-208" ||
		!hasWarning(got, "unreadable record") {
		t.Errorf("bad record with a contract: %+v, want an Info with the model and a warning", got)
	}

	if err := verrs[noContract]; !errors.Is(err, oem.ErrTransient) {
		t.Errorf("bad record without a contract: %v, want a transient vehicle error", err)
	}

	if err := verrs[unknown]; !errors.Is(err, oem.ErrNotFound) {
		t.Errorf("unknown VIN: %v, want ErrNotFound", err)
	}

	if n := strings.Count(buf.String(), "unreadable car state record"); n != 3 {
		t.Errorf("%d unreadable records logged, want 3:\n%s", n, buf.String())
	}
}

func TestDescribeLongLineIsSkipped(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	long, after := vin("VF3", 1), vin("VF3", 2)
	s.Add(simkit.Spec{VIN: string(long), Initial: "active"},
		simkit.Spec{VIN: string(after), Model: "e-208", BatteryKWh: 50, Powertrain: "bev",
			Initial: "active"})
	s.SetCarState(string(long), `{"vin":{"value":"`+string(long)+`"},"pad":"`+
		strings.Repeat("x", 10000)+`"}`)

	c := newConn(t, s, func(cfg *stellantis.Config) { cfg.MaxRecordBytes = 2048 })
	infos, verrs, err := describe(t, c, long, after)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Describe: %v %v", err, verrs)
	}

	if !hasWarning(infos[long], "longer than 2048 bytes") {
		t.Errorf("the long record: %+v, want a warning naming the cap", infos[long])
	}

	if infos[after].BatteryKWh != 50 {
		t.Errorf("the record after the long one: %+v", infos[after])
	}
}

func TestDescribeKeepsTheNewestState(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Model: "e-208", Initial: "active"})
	st := func(at string, wh int) string {
		return fmt.Sprintf(`{"vin":{"value":"%s"},"datetime":{"value":"%s"},`+
			`"electricity":{"capacity":{"value":%d,"unit":"Wh"}}}`, v, at, wh)
	}
	body := "[\n" + st("2024-05-02T10:00:00.000+0000", 60000) + "\n,\n" +
		st("Mon Jun 03 08:35:36 GMT 2019", 40000) + "\n]\n"
	s.Server().AddFault(simkit.Fault{Endpoint: epExport, Times: 1, Status: http.StatusOK, Body: body})

	infos, _, err := describe(t, newConn(t, s), v)
	if err != nil {
		t.Fatal(err)
	}

	if got := infos[v].BatteryKWh; got != 60 {
		t.Errorf("%v kWh, want 60 (the 2024 state, not the 2019 one after it)", got)
	}
}

func TestDescribeWithoutCarState(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("W0L", 1)
	s.Add(simkit.Spec{VIN: string(v), Model: "Corsa Electric", Initial: "pending",
		Outcome: simkit.OutcomePending})

	infos, verrs, err := describe(t, newConn(t, s), v)
	if err != nil || len(verrs) > 0 {
		t.Fatalf("Describe: %v %v", err, verrs)
	}

	got := infos[v]
	if got.Make != oem.MakeOpel || got.Model != "Corsa Electric" || got.BatteryKWh != 0 ||
		!hasWarning(got, "none readable") {
		t.Errorf("pending vehicle: %+v, want make and model from VIN and contract, a warning", got)
	}
}

func TestDescribeModelField(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{ModelField: "modelName"})
	v := vin("VF7", 1)
	s.Add(simkit.Spec{VIN: string(v), Model: "ë-C4", Initial: "active", BatteryKWh: 50})

	infos, _, err := describe(t, newConn(t, s), v)
	if err != nil {
		t.Fatal(err)
	}

	if got := infos[v]; got.Model != "ë-C4" || got.Make != oem.MakeCitroen ||
		got.Sources[oem.FieldModel] != "stellantis:contracts:car.modelName" {
		t.Errorf("%+v, want the model from car.modelName", got)
	}
}

func TestDescribeExportFailures(t *testing.T) {
	t.Parallel()

	a, b := vin("VF3", 1), vin("VF3", 2)
	rec := func(v oem.VIN) string {
		return `{"vin":{"value":"` + string(v) + `"},"electricity":{"capacity":{"value":50000}}}`
	}

	for _, tc := range []struct {
		name   string
		fault  *simkit.Fault
		failAt int
		code   string
		kind   error
		first  bool // a is described before the failure
	}{
		{name: "in-stream report", failAt: 1, code: "ExportError", kind: stellantis.ErrExportFailed,
			first: true},
		{name: "report instead of the array", kind: stellantis.ErrExportFailed, code: "ExportError",
			fault: &simkit.Fault{Status: http.StatusOK,
				Body: `{"name":"ExportError","message":"no export today"}`}},
		{name: "cut short", kind: stellantis.ErrExportFailed, first: true,
			fault: &simkit.Fault{Status: http.StatusOK, Body: "[\n" + rec(a) + "\n,\n"}},
		{name: "empty", kind: stellantis.ErrExportFailed,
			fault: &simkit.Fault{Status: http.StatusOK, Body: ""}},
		{name: "http 500", kind: oem.ErrTransient, code: "InternalError",
			fault: &simkit.Fault{Status: http.StatusInternalServerError,
				Body: `{"name":"InternalError","message":"export unavailable"}`}},
		{name: "html", kind: oem.ErrTransient,
			fault: &simkit.Fault{Status: http.StatusBadGateway, Body: simkit.HTMLBody}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{})
			s.Add(simkit.Spec{VIN: string(a), Model: "e-208", Initial: "active", BatteryKWh: 50},
				simkit.Spec{VIN: string(b), Model: "e-208", Initial: "active", BatteryKWh: 50})
			if tc.fault != nil {
				tc.fault.Endpoint = epExport
				s.Server().AddFault(*tc.fault)
			} else {
				s.FailExportAfter(tc.failAt)
			}

			infos, verrs, err := describe(t, newConn(t, s), a, b)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}

			var ae *oem.APIError
			if tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code) {
				t.Errorf("err = %v, want an *oem.APIError with code %s", err, tc.code)
			}

			if _, ok := infos[a]; ok != tc.first {
				t.Errorf("Info for the first VIN: %v, want %v", ok, tc.first)
			}

			if _, ok := infos[b]; ok || len(verrs) > 0 {
				t.Errorf("the VIN after the failure was answered (%v, %v); the rest is unknown",
					infos[b], verrs)
			}
		})
	}
}

func TestDescribeListingFailure(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	v := vin("VF3", 1)
	s.Add(simkit.Spec{VIN: string(v), Initial: "active"})
	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Status: http.StatusServiceUnavailable})

	_, _, err := describe(t, newConn(t, s), v)
	if !errors.Is(err, oem.ErrTransient) {
		t.Fatalf("err = %v, want a transient error", err)
	}

	if n := s.Server().Counters.Get(epExport); n != 0 {
		t.Errorf("%d export requests after the listing failed, want none", n)
	}
}

func TestDescribeStopsWhenTheConsumerStops(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	vins := seedActive(s, 1, 3)
	n := 0
	for range newConn(t, s).Describe(t.Context(), vins) {
		n++
		break
	}

	if n != 1 {
		t.Errorf("%d answers after stopping at the first", n)
	}
}

func TestDescribeCancelled(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	vins := seedActive(s, 1, 2)
	var errs []error
	for _, err := range newConn(t, s).Describe(cancelled(t), vins) {
		if err == nil {
			t.Fatal("an Info from a cancelled call")
		}

		errs = append(errs, err)
	}

	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors %v, want one satisfying context.Canceled", errs)
	}
}

func TestDescribeExportHasItsOwnTimeout(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	vins := seedActive(s, 1, 1)
	s.Server().AddFault(simkit.Fault{Endpoint: epExport, Times: 1, Delay: 300 * time.Millisecond})

	// The other calls' Timeout does not cut the long export read.
	c := newConn(t, s, func(cfg *stellantis.Config) { cfg.Timeout = 100 * time.Millisecond })
	infos, _, err := describe(t, c, vins...)
	if err != nil || infos[vins[0]].BatteryKWh != 50 {
		t.Fatalf("slow export: %v, %+v", err, infos)
	}

	if n := s.Server().Counters.Get(epExport); n != 1 {
		t.Errorf("%d export requests, want 1 (no timeout, no retry)", n)
	}

	// ExportTimeout does.
	s.Server().AddFault(simkit.Fault{Endpoint: epExport, Delay: 300 * time.Millisecond})
	c = newConn(t, s, func(cfg *stellantis.Config) {
		cfg.ExportTimeout = 50 * time.Millisecond
		cfg.MaxRetries = -1
	})
	if _, _, err := describe(t, c, vins...); !errors.Is(err, oem.ErrTransient) {
		t.Errorf("export beyond ExportTimeout: %v, want a transient error", err)
	}
}

func TestFleetAndDescribeAtScale(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{})
	const n = 1234
	vins := seedActive(s, 1, n)
	c := newConn(t, s)

	if got := fleet(t, c); len(got) != n {
		t.Fatalf("Fleet listed %d, want %d", len(got), n)
	}

	infos, verrs, err := describe(t, c, vins...)
	if err != nil || len(verrs) > 0 || len(infos) != n {
		t.Fatalf("Describe: %d infos, %d vehicle errors, %v", len(infos), len(verrs), err)
	}

	for _, v := range vins {
		if infos[v].BatteryKWh != 50 || infos[v].Model != "e-208" {
			t.Fatalf("%s: %+v", v, infos[v])
		}
	}

	// 13 pages per listing (12 full, one of 34), two listings; one export.
	if got := s.Server().Counters.Get(epContracts); got != 26 {
		t.Errorf("%d listing requests, want 26", got)
	}

	if got := s.Server().Counters.Get(epExport); got != 1 {
		t.Errorf("%d export requests, want 1", got)
	}
}
