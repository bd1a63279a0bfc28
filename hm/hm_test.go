package hm_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/oem"
)

func TestRegistration(t *testing.T) {
	t.Parallel()

	if !slices.Contains(oem.Drivers(), "hm") {
		t.Fatalf("oem.Drivers() = %v, want hm among them", oem.Drivers())
	}

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	env := e.sim.Env()
	getenv := func(k string) string { return env[k] }

	c, err := oem.Open("hm", getenv)
	if err != nil || c.Name() != "hm" {
		t.Fatalf("oem.Open(hm) = %v, %v", c, err)
	}

	n := 0
	for _, err := range c.Fleet(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}

		n++
	}

	if n != 1 {
		t.Errorf("connector opened from the simulator's Env lists %d vehicles, want 1", n)
	}

	cs, err := oem.OpenFromEnv(getenv)
	if err != nil || !slices.ContainsFunc(cs, func(c oem.Connector) bool { return c.Name() == "hm" }) {
		t.Errorf("OpenFromEnv with the simulator's Env: %v, %v", cs, err)
	}

	half := func(k string) string {
		if k == hm.EnvClientID {
			return "fake-id"
		}

		return ""
	}
	_, err = oem.OpenFromEnv(half)
	var se *oem.SettingsError
	if !errors.As(err, &se) || se.Connector != "hm" || !slices.Equal(se.Missing, []string{hm.EnvClientSecret}) {
		t.Errorf("half-set env: %v, want a SettingsError naming %s", err, hm.EnvClientSecret)
	}

	none, err := oem.OpenFromEnv(func(string) string { return "" })
	if err != nil || len(none) != 0 {
		t.Errorf("empty env: %v, %v; want hm skipped", none, err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()

	env := map[string]string{
		hm.EnvClientID: " fake-id ", hm.EnvClientSecret: "fake-client-secret",
		hm.EnvBatchSize: "25", hm.EnvRateLimit: "2.5", hm.EnvConcurrency: "8",
	}
	cfg, err := hm.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	if cfg.ClientID != "fake-id" || cfg.BatchSize != 25 || cfg.RateLimit != 2.5 || cfg.Concurrency != 8 {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}

	c, err := hm.New(hm.Config{ClientID: "fake-id", ClientSecret: "fake-client-secret"})
	if err != nil {
		t.Fatal(err)
	}

	if c.BatchSize() != hm.DefaultBatchSize || c.Concurrency() != hm.DefaultConcurrency {
		t.Errorf("defaults: batch %d, concurrency %d", c.BatchSize(), c.Concurrency())
	}

	for _, bad := range []map[string]string{
		{hm.EnvBatchSize: "many"}, {hm.EnvRateLimit: "-1"}, {hm.EnvConcurrency: "1.5"},
	} {
		if _, err := hm.ConfigFromEnv(func(k string) string { return bad[k] }); !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("ConfigFromEnv(%v) = %v, want oem.ErrInvalidInput", bad, err)
		}
	}

	var se *oem.SettingsError
	if _, err := hm.New(hm.Config{ClientID: "fake-id"}); !errors.As(err, &se) {
		t.Errorf("New without a secret: %v, want a *oem.SettingsError", err)
	}

	if _, err := hm.New(hm.Config{ClientID: "a", ClientSecret: "b", BaseURL: "ftp://x"}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New with an ftp URL: %v, want oem.ErrInvalidInput", err)
	}

	var (
		_ oem.Connector          = c
		_ oem.EligibilityChecker = c
		_ oem.BatchSizer         = c
		_ oem.Concurrency        = c
	)
}

func TestBrandNames(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]string{
		"Mercedes-Benz": "mercedes-benz", "mercedes_benz": "mercedes-benz", "Mercedes": "mercedes-benz",
		"Volvo": "volvo-cars", "volvo_cars": "volvo-cars", "Citroën": "citroen", "citroen": "citroen",
		"Alfa Romeo": "alfaromeo", "Škoda": "skoda", "SEAT": "seat", "MINI": "mini", "DS": "ds",
		" Renault ": "renault", "sandbox": "sandbox", "Polestar": "polestar",
	} {
		if got, ok := hm.ClearanceBrand(in); !ok || got != want {
			t.Errorf("ClearanceBrand(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}

	for _, in := range []string{"", "Lada", "Hyundai", "Lancia"} {
		if got, ok := hm.ClearanceBrand(in); ok {
			t.Errorf("ClearanceBrand(%q) = %q; the clearance API does not take it", in, got)
		}
	}

	for in, want := range map[string]string{
		"mercedes_benz": oem.MakeMercedesBenz, "mercedes-benz": oem.MakeMercedesBenz, "volvo_cars": oem.MakeVolvo,
		"volvo-cars": oem.MakeVolvo, "alfaromeo": oem.MakeAlfaRomeo, "citroen": oem.MakeCitroen,
		"land_rover": "Land Rover", "lancia": oem.MakeLancia, "unknown": "", "sandbox": "", "": "",
	} {
		if got := hm.MakeOf(in); got != want {
			t.Errorf("MakeOf(%q) = %q, want %q", in, got, want)
		}
	}

	if got := hm.DataBrand("volvo-cars"); got != "volvo_cars" {
		t.Errorf("DataBrand(volvo-cars) = %q", got)
	}
}
