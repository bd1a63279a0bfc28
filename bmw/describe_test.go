package bmw_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/bmw"
	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

func TestDescribe(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	e.sim.Add(bev(vin(1), "active"))
	infos, verrs := describe(t, t.Context(), e.connector(t), vin(1))
	if len(verrs) != 0 {
		t.Fatalf("errors: %v", verrs)
	}

	got := infos[vin(1)]
	want := oem.Info{
		VIN: vin(1), Make: "BMW", Model: "i3", Type: "94", ModelYear: 2018,
		Powertrain: oem.PowertrainBEV, BatteryKWh: 33.2,
		BuildDate: time.Date(2018, 6, 14, 0, 0, 0, 0, time.UTC),
	}
	if got.Make != want.Make || got.Model != want.Model || got.Type != want.Type ||
		got.ModelYear != want.ModelYear || got.Powertrain != want.Powertrain ||
		got.BatteryKWh != want.BatteryKWh || !got.BuildDate.Equal(want.BuildDate) {
		t.Errorf("Describe = %+v\nwant        %+v", got, want)
	}

	for f, src := range map[oem.Field]string{
		oem.FieldMake: "bmw:data/vehicle:brand", oem.FieldModel: "bmw:data/vehicle:model",
		oem.FieldType: "bmw:data/vehicle:model", oem.FieldPowertrain: "bmw:data/vehicle:basic_drive_train",
		oem.FieldBatteryKWh: "bmw:data/vehicle:capacity", oem.FieldBuildDate: "bmw:data/vehicle:basic_construction_date",
		oem.FieldModelYear: "bmw:data/vehicle:basic_construction_date",
	} {
		if got.Sources[f] != src {
			t.Errorf("Sources[%s] = %q, want %q", f, got.Sources[f], src)
		}
	}

	if len(got.Warnings) != 0 {
		t.Errorf("warnings %v", got.Warnings)
	}
}

// item renders one member of the data answer.
func item(key, value string) string {
	if value == "null" {
		return fmt.Sprintf(`{"key":%q,"value":null,"unit":null,"info":null,"date_of_value":null}`, key)
	}

	return fmt.Sprintf(`{"key":%q,"value":%s,"unit":null,"info":null,"date_of_value":null}`, key, value)
}

func data(items ...string) string { return `{"data":[` + strings.Join(items, ",") + `]}` }

func TestDescribeDecoding(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, info oem.Info)
	}{
		{"model with type", data(item("model", `"i3 94"`)), func(t *testing.T, i oem.Info) {
			if i.Model != "i3" || i.Type != "94" {
				t.Errorf("model %q type %q, want i3 / 94", i.Model, i.Type)
			}
		}},
		{"one word", data(item("model", `"iX"`)), func(t *testing.T, i oem.Info) {
			if i.Model != "iX" || i.Type != "" || i.Sources[oem.FieldType] != "" {
				t.Errorf("model %q type %q, want iX and no type", i.Model, i.Type)
			}
		}},
		{"several words", data(item("model", `"i4 eDrive40 Gran Coupe"`)), func(t *testing.T, i oem.Info) {
			if i.Model != "i4" || i.Type != "eDrive40 Gran Coupe" {
				t.Errorf("model %q type %q", i.Model, i.Type)
			}
		}},
		{"padding and newlines", data(item("model", `"  i3 \n\t 94 "`)), func(t *testing.T, i oem.Info) {
			if i.Model != "i3" || i.Type != "94" {
				t.Errorf("model %q type %q, want i3 / 94", i.Model, i.Type)
			}
		}},
		{"model absent", data(item("brand", `"BMW"`)), func(t *testing.T, i oem.Info) {
			if i.Model != "" || i.Sources[oem.FieldModel] != "" || i.Make != "BMW" {
				t.Errorf("%+v, want make only", i)
			}
		}},
		{"null members", data(item("model", "null"), item("capacity", "null"), item("brand", `"bmw"`)),
			func(t *testing.T, i oem.Info) {
				if i.Model != "" || i.BatteryKWh != 0 || len(i.Warnings) != 0 || i.Make != "BMW" {
					t.Errorf("%+v, want nothing from the nulls", i)
				}
			}},
		{"no brand: make from the VIN", data(item("model", `"i3"`)), func(t *testing.T, i oem.Info) {
			if i.Make != "BMW" || i.Sources[oem.FieldMake] != "bmw:vin" {
				t.Errorf("make %q from %q", i.Make, i.Sources[oem.FieldMake])
			}
		}},
		{"capacity 0 is unknown", data(item("capacity", `"0"`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 0 || len(i.Warnings) != 0 || i.Sources[oem.FieldBatteryKWh] != "" {
				t.Errorf("%+v", i)
			}
		}},
		{"capacity beyond 250 flagged", data(item("capacity", `"999"`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 0 || len(i.Warnings) != 1 || !strings.Contains(i.Warnings[0], "999") {
				t.Errorf("capacity %v, warnings %v; want none stored and one warning", i.BatteryKWh, i.Warnings)
			}
		}},
		{"capacity below 5 flagged", data(item("capacity", `"0.5"`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 0 || len(i.Warnings) != 1 {
				t.Errorf("capacity %v, warnings %v", i.BatteryKWh, i.Warnings)
			}
		}},
		{"capacity not a number", data(item("capacity", `"n/a"`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 0 || len(i.Warnings) != 1 {
				t.Errorf("capacity %v, warnings %v", i.BatteryKWh, i.Warnings)
			}
		}},
		{"capacity forms", data(item("capacity", `"42,2"`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 42.2 {
				t.Errorf("capacity %v, want 42.2", i.BatteryKWh)
			}
		}},
		{"capacity as a number", data(item("capacity", `37.9`)), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 37.9 {
				t.Errorf("capacity %v, want 37.9", i.BatteryKWh)
			}
		}},
		{"capacity in Wh", data(`{"key":"capacity","value":"42200","unit":"Wh"}`), func(t *testing.T, i oem.Info) {
			if i.BatteryKWh != 42.2 {
				t.Errorf("capacity %v, want 42.2", i.BatteryKWh)
			}
		}},
		{"newest value wins", data(
			`{"key":"capacity","value":"22","date_of_value":"2024-05-01T10:00:00.000+0000"}`,
			`{"key":"capacity","value":"33.2","date_of_value":"2025-05-01T10:00:00.000+0000"}`,
			`{"key":"capacity","value":"27","date_of_value":"2023-05-01T10:00:00.000+0000"}`),
			func(t *testing.T, i oem.Info) {
				if i.BatteryKWh != 33.2 {
					t.Errorf("capacity %v, want the newest 33.2", i.BatteryKWh)
				}
			}},
		{"propulsion when the drive train is absent", data(item("basic_propulsion_type", `"PLUGIN_HYBRID"`)),
			func(t *testing.T, i oem.Info) {
				if i.Powertrain != oem.PowertrainPHEV ||
					i.Sources[oem.FieldPowertrain] != "bmw:data/vehicle:basic_propulsion_type" {
					t.Errorf("powertrain %q from %q", i.Powertrain, i.Sources[oem.FieldPowertrain])
				}
			}},
		{"combustion", data(item("basic_drive_train", `"CONV"`)), func(t *testing.T, i oem.Info) {
			if i.Powertrain != oem.PowertrainICE {
				t.Errorf("powertrain %q, want ice", i.Powertrain)
			}
		}},
		{"construction month", data(item("basic_construction_date", `"2021-09"`)), func(t *testing.T, i oem.Info) {
			if !i.BuildDate.Equal(time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)) || i.ModelYear != 2021 {
				t.Errorf("build %v year %d", i.BuildDate, i.ModelYear)
			}
		}},
		{"construction timestamp", data(item("basic_construction_date", `"2019-03-04T00:00:00.000+0000"`)),
			func(t *testing.T, i oem.Info) {
				if !i.BuildDate.Equal(time.Date(2019, 3, 4, 0, 0, 0, 0, time.UTC)) || i.ModelYear != 2019 {
					t.Errorf("build %v year %d", i.BuildDate, i.ModelYear)
				}
			}},
		{"construction date garbage", data(item("basic_construction_date", `"soon"`), item("model", `"i3"`)),
			func(t *testing.T, i oem.Info) {
				if !i.BuildDate.IsZero() || i.ModelYear != 0 || len(i.Warnings) != 1 || i.Model != "i3" {
					t.Errorf("%+v, want a warning and the rest", i)
				}
			}},
	}

	e := newEnv(t, bmwtest.Options{})
	c := e.connector(t)
	for n, tc := range cases {
		v := vin(100 + n)
		e.sim.Add(simkit.Spec{VIN: string(v), Initial: "active"})
		e.sim.SetDataBody(string(v), tc.body)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			infos, verrs := describe(t, t.Context(), c, v)
			if verrs[v] != nil {
				t.Fatalf("Describe: %v", verrs[v])
			}

			tc.check(t, infos[v])
		})
	}
}

func TestDescribeUnknownWordsLoggedOnce(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	var logs bytes.Buffer
	c := e.connector(t, func(cfg *bmw.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	vins := []oem.VIN{vin(1), vin(2), vin(3)}
	for _, v := range vins {
		e.sim.Add(simkit.Spec{VIN: string(v), Model: "i3", Powertrain: "quantum", Initial: "active"})
	}

	infos, verrs := describe(t, t.Context(), c, vins...)
	if len(infos) != 3 || len(verrs) != 0 {
		t.Fatalf("%d infos, errors %v", len(infos), verrs)
	}

	for _, v := range vins {
		i := infos[v]
		if i.Powertrain != oem.PowertrainUnknown || len(i.Warnings) != 1 || !strings.Contains(i.Warnings[0], "QUANTUM") {
			t.Errorf("%s: powertrain %q, warnings %v", v, i.Powertrain, i.Warnings)
		}
	}

	if n := strings.Count(logs.String(), "QUANTUM"); n != 1 {
		t.Errorf("the unknown word was logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestDescribeFailures(t *testing.T) {
	t.Parallel()

	t.Run("unknown and unregistered VINs are vehicle errors", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), ""))
		infos, verrs := describe(t, t.Context(), e.connector(t), vin(99), vin(1), vin(2))
		if len(infos) != 1 || infos[vin(1)].Model != "i3" {
			t.Errorf("infos %+v, want %s described", infos, vin(1))
		}

		for _, v := range []oem.VIN{vin(99), vin(2)} {
			if !errors.Is(verrs[v], oem.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", v, verrs[v])
			}
		}
	})

	t.Run("BMW's bare 429: bounded backoff, then that vehicle only", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epData, Times: 3, RateLimited: true})

		infos, verrs := describe(t, t.Context(), e.connector(t), vin(1), vin(2))
		if !errors.Is(verrs[vin(1)], oem.ErrRateLimited) {
			t.Errorf("%s: %v, want ErrRateLimited", vin(1), verrs[vin(1)])
		}

		if !strings.Contains(verrs[vin(1)].Error(), "Too Many Requests") {
			t.Errorf("error %q does not carry BMW's message", verrs[vin(1)])
		}

		if infos[vin(2)].Model != "i3" {
			t.Errorf("%s not described: %v", vin(2), verrs[vin(2)])
		}

		if n := e.count(epData); n != 4 {
			t.Errorf("%d data requests, want 3 for the first vehicle and 1", n)
		}
	})

	t.Run("429 then success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epData, Times: 1, RateLimited: true})
		infos, verrs := describe(t, t.Context(), e.connector(t), vin(1))
		if infos[vin(1)].Model != "i3" || len(verrs) != 0 {
			t.Errorf("infos %+v errors %v", infos, verrs)
		}
	})

	t.Run("the simulator's own rate limit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"))
		c := e.connector(t)
		list(t, t.Context(), c) // log in and resolve the fleet first
		e.sim.Server().SetLimit(1, time.Hour)

		infos, verrs := describe(t, t.Context(), c, vin(1), vin(2))
		if len(infos) != 1 || !errors.Is(verrs[vin(2)], oem.ErrRateLimited) {
			t.Errorf("infos %d, errors %v; want the second vehicle rate limited", len(infos), verrs)
		}
	})

	t.Run("slow answer beyond the timeout, then success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epData, Times: 1, Delay: 2 * time.Second})
		c := e.connector(t, func(cfg *bmw.Config) { cfg.Timeout = 250 * time.Millisecond })
		infos, verrs := describe(t, t.Context(), c, vin(1))
		if infos[vin(1)].Model != "i3" || len(verrs) != 0 {
			t.Errorf("infos %+v errors %v", infos, verrs)
		}

		if n := e.count(epData); n != 2 {
			t.Errorf("%d data requests, want 2", n)
		}
	})

	t.Run("broken bodies are vehicle errors", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"), bev(vin(2), "active"), bev(vin(3), "active"), bev(vin(4), "active"))
		e.sim.SetDataBody(string(vin(1)), simkit.MalformedJSON)
		e.sim.SetDataBody(string(vin(2)), simkit.HTMLBody)
		e.sim.SetDataBody(string(vin(3)), `{"data":[]}`)
		infos, verrs := describe(t, t.Context(), e.connector(t), vin(1), vin(2), vin(3), vin(4))
		for _, v := range []oem.VIN{vin(1), vin(2), vin(3)} {
			if verrs[v] == nil {
				t.Errorf("%s: no vehicle error", v)
			}
		}

		if !errors.Is(verrs[vin(3)], oem.ErrNoData) {
			t.Errorf("empty data: %v, want ErrNoData", verrs[vin(3)])
		}

		if infos[vin(4)].Model != "i3" {
			t.Errorf("%s not described", vin(4))
		}
	})

	t.Run("5xx HTML throughout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, bmwtest.Options{})
		e.sim.Add(bev(vin(1), "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: epData, Status: 502, Body: simkit.HTMLBody})
		_, verrs := describe(t, t.Context(), e.connector(t), vin(1))
		var ae *oem.APIError
		if !errors.As(verrs[vin(1)], &ae) || ae.StatusCode != 502 || !errors.Is(ae, oem.ErrTransient) ||
			!strings.Contains(ae.Snippet, "Bad Gateway") {
			t.Errorf("error %v, want a transient 502 APIError with a snippet", verrs[vin(1)])
		}
	})
}
