package oem

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

type nopConnector struct {
	Unimplemented
	name string
}

func (c nopConnector) Name() string { return c.name }

func (c nopConnector) Fleet(context.Context) iter.Seq2[Observed, error] {
	return func(func(Observed, error) bool) {}
}

func driver(name string, required ...string) Driver {
	var vars []Setting
	for _, r := range required {
		vars = append(vars, Setting{Name: r, Required: true})
	}

	vars = append(vars, Setting{Name: strings.ToUpper(name) + "_OPTIONAL"})

	return DriverFunc{Vars: vars, OpenFunc: func(getenv func(string) string, _ OpenOptions) (Connector, error) {
		return nopConnector{name: name}, nil
	}}
}

func TestRegistry(t *testing.T) {
	t.Parallel()

	r := NewRegistry()
	r.Register("zeta", driver("zeta", "ZETA_ID"))
	r.Register("alpha", driver("alpha", "ALPHA_ID", "ALPHA_SECRET"))
	r.Register("mid", driver("mid", "MID_ID"))

	if got := r.Drivers(); !reflect.DeepEqual(got, []string{"alpha", "mid", "zeta"}) {
		t.Fatalf("Drivers = %v", got)
	}

	for _, bad := range []string{"", "BMW", " x"} {
		if err := r.AddSafely(bad, driver("x")); err == nil {
			t.Errorf("AddSafely(%q) accepted", bad)
		}
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate Register did not panic")
			}
		}()
		r.Register("mid", driver("mid"))
	}()

	_, err := r.Open("bmw", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "forgotten import") {
		t.Fatalf("unknown name error = %v", err)
	}

	env := map[string]string{"ALPHA_ID": "x", "ALPHA_SECRET": "fake", "ZETA_ID": "z"}
	conns, err := r.OpenFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, c := range conns {
		names = append(names, c.Name())
	}

	if !reflect.DeepEqual(names, []string{"alpha", "zeta"}) {
		t.Fatalf("opened %v; mid has no settings and must be skipped", names)
	}

	delete(env, "ALPHA_SECRET")
	conns, err = r.OpenFromEnv(func(k string) string { return env[k] })
	var se *SettingsError
	if !errors.As(err, &se) || se.Connector != "alpha" || !reflect.DeepEqual(se.Missing, []string{"ALPHA_SECRET"}) {
		t.Fatalf("half-set error = %v", err)
	}

	if strings.Contains(err.Error(), "fake") || len(conns) != 1 {
		t.Fatalf("error %q or connectors %d", err, len(conns))
	}

	if !errors.Is(err, ErrInvalidInput) {
		t.Fatal("SettingsError must be invalid input")
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()

	e := &APIError{Connector: "bmw", StatusCode: 429, Kind: ErrRateLimited}
	wrapped := NewVehicleError("WBA8E9G50GNT12345", "activate", e)
	if KindOf(wrapped) != "rate_limited" || KindOf(context.Canceled) != "canceled" ||
		KindOf(errors.New("x")) != "other" || KindOf(nil) != "" {
		t.Fatal("KindOf mapping wrong")
	}

	if ve, ok := AsVehicleError(wrapped); !ok || ve.VIN != "WBA8E9G50GNT12345" {
		t.Fatal("AsVehicleError")
	}
}

func TestVehicleApplyNeverForgets(t *testing.T) {
	t.Parallel()

	v := Vehicle{Model: "i3", BatteryKWh: 42.2, Powertrain: PowertrainBEV, Type: "94"}
	v.Apply(Info{Model: "", BatteryKWh: 0, Version: "I01", Sources: map[Field]string{FieldVersion: "bmw"}}, v.UpdatedAt)
	if v.Model != "i3" || v.BatteryKWh != 42.2 || v.Type != "94" || v.Version != "I01" || v.Sources[FieldVersion] != "bmw" {
		t.Fatalf("Apply lost or missed values: %+v", v)
	}
}

func TestOpenHandsOptionsToDrivers(t *testing.T) {
	t.Parallel()

	var got OpenOptions
	r := NewRegistry()
	r.Register("x", DriverFunc{
		Vars: []Setting{{Name: "X_ID", Required: true}},
		OpenFunc: func(_ func(string) string, o OpenOptions) (Connector, error) {
			got = o
			return nopConnector{name: "x"}, nil
		},
	})

	l := slog.New(slog.DiscardHandler)
	if _, err := r.OpenFromEnv(func(string) string { return "1" }, WithConnectorLogger(l)); err != nil {
		t.Fatal(err)
	}

	if got.Logger != l {
		t.Fatal("OpenFromEnv did not hand the logger to the driver")
	}

	got = OpenOptions{}
	if _, err := r.Open("x", func(string) string { return "1" }, WithConnectorLogger(l)); err != nil || got.Logger != l {
		t.Fatalf("Open did not hand the logger: %v", err)
	}
}

func TestVehicleApplyRefusesImplausibleValues(t *testing.T) {
	t.Parallel()

	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	v := Vehicle{BatteryKWh: 42.2, ModelYear: 2021}
	v.Apply(Info{BatteryKWh: 42000, ModelYear: 1 << 40, RangeKm: 99999, WarrantyYears: 800,
		Model: "  MEGANE\n  E-TECH ", Version: "R135\n"}, at)

	if v.BatteryKWh != 42.2 || v.ModelYear != 2021 || v.RangeKm != 0 || v.WarrantyYears != 0 {
		t.Fatalf("implausible values taken: %+v", v)
	}

	if v.Model != "MEGANE E-TECH" || v.Version != "R135" {
		t.Fatalf("codes not tidied: %q %q", v.Model, v.Version)
	}

	v.Apply(Info{BatteryKWh: 52, ModelYear: 2028}, at)
	if v.BatteryKWh != 52 || v.ModelYear != 2028 {
		t.Fatalf("plausible values refused: %+v", v)
	}
}

func TestDriverOf(t *testing.T) {
	t.Parallel()

	type cfg struct{ ID string }
	l := slog.New(slog.DiscardHandler)
	var gotLogger *slog.Logger
	d := DriverOf([]Setting{{Name: "X_ID", Required: true}},
		func(getenv func(string) string) (cfg, error) {
			if getenv("X_ID") == "bad" {
				return cfg{}, errors.New("X_ID is bad")
			}

			return cfg{ID: getenv("X_ID")}, nil
		},
		func(c cfg, logger *slog.Logger) (*nopConnector, error) {
			gotLogger = logger
			if c.ID == "fail" {
				return nil, errors.New("cannot open")
			}

			return &nopConnector{name: "x"}, nil
		})

	c, err := d.Open(func(string) string { return "ok" }, OpenOptions{Logger: l})
	if err != nil || c.Name() != "x" || gotLogger != l {
		t.Fatalf("Open = %v, %v; logger handed %v", c, err, gotLogger == l)
	}

	if c, err := d.Open(func(string) string { return "fail" }, OpenOptions{}); err == nil || c != nil {
		t.Fatalf("failed open gave %#v (a typed nil?), %v", c, err)
	}

	if _, err := d.Open(func(string) string { return "bad" }, OpenOptions{}); err == nil {
		t.Fatal("a config error was not returned")
	}
}
