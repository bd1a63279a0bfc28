package stellantis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
	"github.com/vehicleinfo/ingest/stellantis"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

// vin builds a valid VIN with the given WMI and serial number.
func vin(wmi string, n int) oem.VIN {
	return oem.VIN(fmt.Sprintf("%sUHZKX0%08d", wmi, n)).WithCheckDigit()
}

// newSim starts a simulator that stops with the test.
func newSim(t *testing.T, opts stellantistest.Options) *stellantistest.Sim {
	t.Helper()

	s, err := stellantistest.New(opts)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}

	t.Cleanup(func() { _ = s.Close() })

	return s
}

// newConn builds a connector over the simulator's settings, with small
// backoffs so retries do not slow the tests.
func newConn(t *testing.T, s *stellantistest.Sim, opts ...stellantis.Option) *stellantis.Connector {
	t.Helper()

	env := s.Env()
	cfg, err := stellantis.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}

	opts = append([]stellantis.Option{stellantis.WithBackoff(time.Millisecond, 5*time.Millisecond)},
		opts...)
	c, err := stellantis.New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	return c
}

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}

	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})), b
}

// fleet reads a whole listing, failing the test on any error.
func fleet(t *testing.T, c oem.Connector) map[oem.VIN]oem.Observed {
	t.Helper()

	out := make(map[oem.VIN]oem.Observed)
	for o, err := range c.Fleet(t.Context()) {
		if err != nil {
			t.Fatalf("Fleet: %v", err)
		}

		if _, dup := out[o.VIN]; dup {
			t.Fatalf("Fleet listed %s twice", o.VIN)
		}

		out[o.VIN] = o
	}

	return out
}

// describe collects one Describe call.
func describe(t *testing.T, c oem.Connector, vins ...oem.VIN) (map[oem.VIN]oem.Info,
	map[oem.VIN]error, error) {
	t.Helper()

	infos := make(map[oem.VIN]oem.Info)
	verrs := make(map[oem.VIN]error)
	for info, err := range c.Describe(t.Context(), vins) {
		if err != nil {
			ve, ok := oem.AsVehicleError(err)
			if !ok {
				return infos, verrs, err
			}

			verrs[ve.VIN] = err

			continue
		}

		if _, dup := infos[info.VIN]; dup {
			t.Fatalf("Describe gave two Infos for %s", info.VIN)
		}

		infos[info.VIN] = info
	}

	return infos, verrs, nil
}

func TestConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		s := newSim(t, stellantistest.Options{})
		listed := []oem.VIN{vin("VF3", 1), vin("W0L", 2)}
		activatable := []oem.VIN{vin("VR3", 3), vin("ZFA", 4)}
		s.Add(
			simkit.Spec{VIN: string(listed[0]), Model: "e-208", Powertrain: "bev",
				BatteryKWh: 50, Initial: "active"},
			simkit.Spec{VIN: string(listed[1]), Model: "Corsa Electric", Powertrain: "bev",
				BatteryKWh: 46.3, Initial: "active"},
			simkit.Spec{VIN: string(activatable[0]), Model: "e-2008", Outcome: simkit.OutcomeApprove,
				After: time.Hour},
			simkit.Spec{VIN: string(activatable[1]), Model: "500e", Outcome: simkit.OutcomeApprove,
				After: time.Hour},
		)

		return oemtest.ConnectorSubject{
			Connector:     newConn(t, s),
			Listed:        listed,
			Activatable:   activatable,
			Describable:   listed,
			Unknown:       vin("VF7", 99),
			CanActivate:   true,
			CanDeactivate: true,
		}
	})
}

func TestRegistration(t *testing.T) {
	t.Parallel()

	if !slices.Contains(oem.Drivers(), "stellantis") {
		t.Fatalf("oem.Drivers() = %v, want it to contain stellantis", oem.Drivers())
	}

	s := newSim(t, stellantistest.Options{})
	env := s.Env()
	getenv := func(k string) string { return env[k] }

	c, err := oem.Open("stellantis", getenv)
	if err != nil {
		t.Fatalf("oem.Open with the simulator's env: %v", err)
	}

	if c.Name() != "stellantis" {
		t.Errorf("Name() = %q", c.Name())
	}

	var found bool
	conns, err := oem.OpenFromEnv(getenv)
	for _, c := range conns {
		found = found || c.Name() == "stellantis"
	}

	// Other connectors registered in this binary have no settings here and
	// are skipped, so the call must succeed.
	if err != nil || !found {
		t.Fatalf("OpenFromEnv = %d connectors, %v; want stellantis among them", len(conns), err)
	}

	half := map[string]string{
		"STELLANTIS_BASE_URL": s.URL(),
		"STELLANTIS_EMAIL":    "fleet-manager@example.com",
	}
	_, err = oem.OpenFromEnv(func(k string) string { return half[k] })
	var se *oem.SettingsError
	if !errors.As(err, &se) {
		t.Fatalf("OpenFromEnv with a half-set env = %v, want a *oem.SettingsError", err)
	}

	for _, want := range []string{"STELLANTIS_PASSWORD", "STELLANTIS_FLEET_ID",
		"STELLANTIS_COMPANY_ID"} {
		if !slices.Contains(se.Missing, want) {
			t.Errorf("SettingsError.Missing = %v, want it to name %s", se.Missing, want)
		}
	}

	if slices.Contains(se.Missing, "STELLANTIS_EMAIL") {
		t.Errorf("SettingsError.Missing names a variable that is set: %v", se.Missing)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()

	base := map[string]string{
		"STELLANTIS_BASE_URL":   "http://127.0.0.1:1",
		"STELLANTIS_EMAIL":      "a@example.com",
		"STELLANTIS_PASSWORD":   "fake-password",
		"STELLANTIS_FLEET_ID":   "f1",
		"STELLANTIS_COMPANY_ID": "c1",
	}
	with := func(k, v string) func(string) string {
		m := map[string]string{k: v}
		return func(n string) string {
			if v, ok := m[n]; ok {
				return v
			}

			return base[n]
		}
	}

	cfg, err := stellantis.ConfigFromEnv(with("STELLANTIS_TOKEN_LIFETIME", "48h"))
	if err != nil || cfg.TokenLifetime != 48*time.Hour {
		t.Errorf("TokenLifetime = %v, %v; want 48h", cfg.TokenLifetime, err)
	}

	for k, v := range map[string]string{
		"STELLANTIS_PAGE_SIZE":      "many",
		"STELLANTIS_TOKEN_LIFETIME": "two weeks",
		"STELLANTIS_RATE_LIMIT":     "-1",
	} {
		if _, err := stellantis.ConfigFromEnv(with(k, v)); !errors.Is(err, oem.ErrInvalidInput) ||
			!strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want ErrInvalidInput naming the setting", k, v, err)
		}
	}

	cfg, _ = stellantis.ConfigFromEnv(with("STELLANTIS_FLEET_BODY", "array"))
	if _, err := stellantis.New(cfg); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New with FleetBody=array: %v, want ErrInvalidInput", err)
	}

	cfg, _ = stellantis.ConfigFromEnv(with("STELLANTIS_COMPANY_ID", ""))
	_, err = stellantis.New(cfg)
	if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), "CompanyID") {
		t.Errorf("New without CompanyID: %v, want ErrInvalidInput naming it", err)
	}

	cfg, _ = stellantis.ConfigFromEnv(with("STELLANTIS_BASE_URL", "ftp://x"))
	if _, err := stellantis.New(cfg); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New with an ftp URL: %v, want ErrInvalidInput", err)
	}

	cfg, _ = stellantis.ConfigFromEnv(func(k string) string { return base[k] })
	c, err := stellantis.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if c.BatchSize() != stellantis.DefaultBatchSize || c.Concurrency() != stellantis.DefaultConcurrency {
		t.Errorf("BatchSize, Concurrency = %d, %d; want the defaults", c.BatchSize(), c.Concurrency())
	}

	if len(stellantis.Settings()) == 0 {
		t.Fatal("no settings")
	}

	for _, st := range stellantis.Settings() {
		if st.Name == "STELLANTIS_PASSWORD" && !st.Secret {
			t.Error("STELLANTIS_PASSWORD is not marked secret")
		}
	}
}

// cancelled returns a context that is already done.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	return ctx
}
