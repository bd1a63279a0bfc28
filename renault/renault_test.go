package renault_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

func TestConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		sim := newSim(t, renaulttest.Options{MessyCodes: true})

		return oemtest.ConnectorSubject{
			Connector:   newConnector(t, simConfig(t, sim)),
			Activatable: []oem.VIN{zoeVIN, meganeVIN},
			Describable: []oem.VIN{zoeVIN, meganeVIN, springVIN},
			Unknown:     unknownVIN,
		}
	})
}

func TestRegistration(t *testing.T) {
	t.Parallel()

	if !slices.Contains(oem.Drivers(), renault.Name) {
		t.Fatalf("oem.Drivers() = %v, want it to contain %q", oem.Drivers(), renault.Name)
	}

	sim := newSim(t, renaulttest.Options{})
	env := sim.Env()
	conns, err := oem.OpenFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("OpenFromEnv(sim.Env()): %v", err)
	}

	if len(conns) != 1 || conns[0].Name() != renault.Name {
		t.Fatalf("OpenFromEnv opened %v, want the renault connector", conns)
	}

	info := mustDescribe(t, conns[0], zoeVIN)
	if info.Model != "ZOE" {
		t.Errorf("Model through the registry = %q, want ZOE", info.Model)
	}

	t.Run("half set", func(t *testing.T) {
		t.Parallel()

		half := map[string]string{"RENAULT_CLIENT_ID": "fake-client", "RENAULT_KID": "fake-kid"}
		_, err := oem.OpenFromEnv(func(k string) string { return half[k] })

		var se *oem.SettingsError
		if !errors.As(err, &se) {
			t.Fatalf("OpenFromEnv(half set) = %v, want an *oem.SettingsError", err)
		}

		want := []string{"RENAULT_TOKEN_URL", "RENAULT_API_URL", "RENAULT_API_KEY"}
		if !slices.Equal(se.Missing, want) {
			t.Errorf("missing = %v, want %v", se.Missing, want)
		}
	})

	t.Run("no bundle", func(t *testing.T) {
		t.Parallel()

		noBundle := map[string]string{}
		for k, v := range env {
			if k != renault.EnvPKCS12 {
				noBundle[k] = v
			}
		}

		_, err := oem.OpenFromEnv(func(k string) string { return noBundle[k] })
		if err == nil || !strings.Contains(err.Error(), "RENAULT_PKCS12 or RENAULT_PKCS12_FILE") {
			t.Fatalf("OpenFromEnv without a bundle = %v, want an error naming both bundle settings", err)
		}

		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("error %v is not oem.ErrInvalidInput", err)
		}
	})

	t.Run("nothing set", func(t *testing.T) {
		t.Parallel()

		conns, err := oem.OpenFromEnv(func(string) string { return "" })
		if err != nil || len(conns) != 0 {
			t.Fatalf("OpenFromEnv(empty) = %v, %v; want nothing opened and no error", conns, err)
		}
	})
}

func TestTuningFromEnv(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	env := sim.Env()
	env["RENAULT_BATCH_SIZE"], env["RENAULT_CONCURRENCY"] = "20", "2"
	env["RENAULT_RATE_LIMIT"], env["RENAULT_MAX_WAIT"] = "2.5", "90s"

	cfg, err := renault.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	if cfg.BatchSize != 20 || cfg.Concurrency != 2 || cfg.RateLimit != 2.5 || cfg.MaxWait != 90*time.Second {
		t.Errorf("tuning read as batch %d, concurrency %d, rate %g, max wait %s",
			cfg.BatchSize, cfg.Concurrency, cfg.RateLimit, cfg.MaxWait)
	}

	for name, v := range map[string]string{
		"RENAULT_BATCH_SIZE": "many", "RENAULT_CONCURRENCY": "-1",
		"RENAULT_RATE_LIMIT": "fast", "RENAULT_MAX_WAIT": "90",
	} {
		bad := sim.Env()
		bad[name] = v
		_, err := renault.ConfigFromEnv(func(k string) string { return bad[k] })
		if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v, want ErrInvalidInput naming the setting", name, v, err)
		}
	}
}

func TestSettingsDocumented(t *testing.T) {
	t.Parallel()

	for _, s := range renault.Settings() {
		if !strings.HasPrefix(s.Name, "RENAULT_") || s.Doc == "" {
			t.Errorf("setting %+v: want a RENAULT_ name and a doc line", s)
		}
	}

	secret := map[string]bool{}
	for _, s := range renault.Settings() {
		secret[s.Name] = s.Secret
	}

	for _, name := range []string{renault.EnvPKCS12, renault.EnvPKCS12Password, renault.EnvAPIKey} {
		if !secret[name] {
			t.Errorf("%s is not marked secret", name)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, zoeVIN, meganeVIN, springVIN, unknownVIN)
	if d.err != nil {
		t.Fatalf("Describe ended with %v", d.err)
	}

	zoe := d.infos[zoeVIN]
	if zoe.Make != oem.MakeRenault || zoe.Model != "ZOE" || zoe.Version != "ZE50" || zoe.Type != "R135" {
		t.Errorf("ZOE = make %q model %q version %q type %q; want Renault ZOE ZE50 R135",
			zoe.Make, zoe.Model, zoe.Version, zoe.Type)
	}

	if zoe.RangeKm != 395 || zoe.BatteryKWh != 52 || !zoe.FirstRegistration.Equal(zoeReg) {
		t.Errorf("ZOE = range %d km, %g kWh, first registration %v; want 395, 52, %v",
			zoe.RangeKm, zoe.BatteryKWh, zoe.FirstRegistration, zoeReg)
	}

	if got := zoe.Sources[oem.FieldRangeKm]; got != "renault:wltp:wltpElecRangeCombined" {
		t.Errorf("range source = %q", got)
	}

	if got := zoe.Sources[oem.FieldType]; got != "renault:vehicle-information:version" {
		t.Errorf("type source = %q", got)
	}

	megane := d.infos[meganeVIN]
	if megane.Model != "MEGANE E-TECH" || megane.Version != "EV60" || megane.Type != "220hp optimum charge" {
		t.Errorf("Megane = %q %q %q; want MEGANE E-TECH, EV60, 220hp optimum charge",
			megane.Model, megane.Version, megane.Type)
	}

	spring := d.infos[springVIN]
	if spring.Make != oem.MakeDacia || spring.Model != "Spring" || spring.Version != "" ||
		spring.Type != "" || spring.RangeKm != 0 || spring.BatteryKWh != 0 || !spring.FirstRegistration.IsZero() {
		t.Errorf("Spring = %+v; want Dacia Spring with nothing else known", spring)
	}

	for _, f := range []oem.Field{
		oem.FieldBatteryKWh, oem.FieldRangeKm, oem.FieldFirstRegistration, oem.FieldVersion,
	} {
		if src, ok := spring.Sources[f]; ok {
			t.Errorf("Spring has a source %q for the unknown field %s", src, f)
		}
	}

	ve := d.verrs[unknownVIN]
	if ve == nil || !errors.Is(ve, oem.ErrNotFound) || ve.VIN != unknownVIN {
		t.Fatalf("unknown VIN: vehicle error %v, want ErrNotFound naming it", ve)
	}

	var ae *oem.APIError
	if !errors.As(ve, &ae) || ae.StatusCode != 404 || ae.Code != "err.func.vehicle.notfound" ||
		ae.Message != "vehicle not found" {
		t.Errorf("unknown VIN: API error %+v, want 404 err.func.vehicle.notfound", ae)
	}

	// One login, two calls per known vehicle, one for the unknown one (its
	// 404 is final: no retry, no WLTP call).
	srv := sim.Server().Counters
	if n := srv.Get("POST " + renaulttest.DefaultTokenPath); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}

	if n := srv.Get(renaulttest.EndpointVehicle); n != 4 {
		t.Errorf("%d vehicle-information calls, want 4", n)
	}

	if n := srv.Get(renaulttest.EndpointWLTP); n != 3 {
		t.Errorf("%d WLTP calls, want 3", n)
	}
}

func TestDescribeInvalidVINSendsNothing(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	bad := oem.VIN("vf1ag00016400000")
	d := describe(t.Context(), c, bad, zoeVIN)
	if ve := d.verrs[bad]; ve == nil || !errors.Is(ve, oem.ErrInvalidInput) {
		t.Fatalf("bad VIN: %v, want an ErrInvalidInput vehicle error", d.verrs[bad])
	}

	if _, ok := d.infos[zoeVIN]; !ok {
		t.Fatalf("the good VIN after the bad one was not described: %+v", d)
	}

	if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 1 {
		t.Errorf("%d vehicle-information calls, want 1 (none for the bad VIN)", n)
	}
}

func TestNoActivationNoListing(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	vins := []oem.VIN{zoeVIN, meganeVIN}
	for name, call := range map[string]func() ([]oem.Result, error){
		"Activate":   func() ([]oem.Result, error) { return c.Activate(t.Context(), vins) },
		"Deactivate": func() ([]oem.Result, error) { return c.Deactivate(t.Context(), vins) },
	} {
		res, err := call()
		if err != nil || len(res) != len(vins) {
			t.Fatalf("%s = %d results, %v; want %d, nil", name, len(res), err, len(vins))
		}

		for i, r := range res {
			if r.VIN != vins[i] || !errors.Is(r.Err, oem.ErrNotSupported) ||
				!strings.Contains(r.Reason, "High Mobility") {
				t.Errorf("%s result %+v, want ErrNotSupported pointing at High Mobility", name, r)
			}
		}
	}

	n := 0
	for _, err := range c.Fleet(t.Context()) {
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		n++
	}

	if n != 0 {
		t.Errorf("Fleet listed %d vehicles, want none", n)
	}

	if got := sim.Server().Counters.Snapshot(); len(got) != 0 {
		t.Errorf("requests sent: %v, want none", got)
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	cfg := simConfig(t, sim)
	c := newConnector(t, cfg)
	if c.BatchSize() != renault.DefaultBatchSize || c.Concurrency() != renault.DefaultConcurrency {
		t.Errorf("defaults: batch %d, concurrency %d", c.BatchSize(), c.Concurrency())
	}

	cfg.BatchSize, cfg.Concurrency = 7, 2
	c = newConnector(t, cfg)
	if c.BatchSize() != 7 || c.Concurrency() != 2 {
		t.Errorf("set: batch %d, concurrency %d; want 7, 2", c.BatchSize(), c.Concurrency())
	}

	if c.Certificate() == nil || c.Certificate().Subject.CommonName == "" {
		t.Errorf("Certificate() = %v, want the bundle's certificate", c.Certificate())
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()

	_, err := renault.New(renault.Config{ClientID: "fake-client"})
	if !errors.Is(err, oem.ErrInvalidInput) {
		t.Fatalf("New(incomplete) = %v, want ErrInvalidInput", err)
	}

	for _, want := range []string{"PKCS12 or PKCS12File", "KeyID", "TokenURL", "APIURL", "APIKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}

	sim := newSim(t, renaulttest.Options{})
	cfg := simConfig(t, sim)
	cfg.TokenURL = "ftp://example.invalid/token"
	if _, err := renault.New(cfg); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New(ftp token URL) = %v, want ErrInvalidInput", err)
	}

	cfg = simConfig(t, sim)
	cfg.APIURL = "not a url"
	if _, err := renault.New(cfg); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New(bad API URL) = %v, want ErrInvalidInput", err)
	}
}
