package bmw_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vehicleinfo/ingest/bmw"
	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		e := newEnv(t, bmwtest.Options{})
		listed := []oem.VIN{vin(1), vin(2)}
		activatable := []oem.VIN{vin(3), vin(4)}
		for _, v := range listed {
			e.sim.Add(bev(v, "active"))
		}

		e.sim.Add(simkit.Spec{VIN: string(vin(3)), Model: "iX", Outcome: simkit.OutcomeApprove},
			simkit.Spec{VIN: string(vin(4)), Model: "X5", Type: "xDrive45e", Initial: "pending"})

		return oemtest.ConnectorSubject{
			Connector:     e.connector(t),
			Listed:        listed,
			Activatable:   activatable,
			Describable:   listed,
			Unknown:       vin(99),
			CanActivate:   true,
			CanDeactivate: true,
		}
	})
}

func TestRegistration(t *testing.T) {
	t.Parallel()

	if !contains(oem.Drivers(), "bmw") {
		t.Fatalf("oem.Drivers() = %v, want it to contain bmw", oem.Drivers())
	}

	e := newEnv(t, bmwtest.Options{})
	conns, err := oem.OpenFromEnv(func(k string) string { return e.sim.Env()[k] })
	if err != nil {
		t.Fatalf("OpenFromEnv(sim.Env()): %v", err)
	}

	if len(conns) != 1 || conns[0].Name() != "bmw" {
		t.Fatalf("OpenFromEnv opened %d connectors, want the bmw one", len(conns))
	}

	if _, ok := conns[0].(oem.EligibilityChecker); !ok {
		t.Error("the bmw connector is not an oem.EligibilityChecker")
	}

	e.sim.Add(bev(vin(1), "active"))
	got := list(t, t.Context(), conns[0])
	if got[vin(1)].Status != oem.StatusActive {
		t.Errorf("connector opened from env lists %s as %q, want active", vin(1), got[vin(1)].Status)
	}

	half := map[string]string{"BMW_BASE_URL": e.sim.URL(), "BMW_USERNAME": "someone"}
	_, err = oem.OpenFromEnv(func(k string) string { return half[k] })
	var se *oem.SettingsError
	if !errors.As(err, &se) {
		t.Fatalf("half-set env: err = %v, want a *oem.SettingsError", err)
	}

	want := []string{"BMW_AUTH_URL", "BMW_CLIENT_ID", "BMW_PASSWORD"}
	if strings.Join(se.Missing, ",") != strings.Join(want, ",") {
		t.Errorf("missing = %v, want %v", se.Missing, want)
	}

	none, err := oem.OpenFromEnv(func(string) string { return "" })
	if err != nil || len(none) != 0 {
		t.Errorf("empty env: %d connectors, %v; want none, nil", len(none), err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()

	e := newEnv(t, bmwtest.Options{})
	var vins []oem.VIN
	for i := 1; i <= 12; i++ {
		e.sim.Add(bev(vin(i), ""))
		vins = append(vins, vin(i))
	}

	c := e.connector(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Go(func() {
			part := vins[w*3 : w*3+3]
			res, err := c.Activate(t.Context(), part)
			if err == nil && len(res) != 3 {
				err = fmt.Errorf("%d results", len(res))
			}

			for _, r := range res {
				if err == nil && r.Err != nil {
					err = r.Err
				}
			}

			if err == nil {
				for _, ferr := range c.Fleet(t.Context()) {
					if ferr != nil {
						err = ferr
					}
				}
			}

			errs[w] = err
		})
	}

	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
	}

	// One login and one fleet look-up, however many goroutines.
	if e.count(epLogin) != 1 || e.count(epFleets) != 1 {
		t.Errorf("%d logins and %d GET /fleet, want 1 each", e.count(epLogin), e.count(epFleets))
	}

	if got := list(t, t.Context(), c); len(got) != 12 {
		t.Errorf("listed %d, want 12", len(got))
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()

	full := map[string]string{
		"BMW_AUTH_URL": "http://127.0.0.1:1/cognito", "BMW_BASE_URL": "http://127.0.0.1:1",
		"BMW_CLIENT_ID": "fake-client", "BMW_USERNAME": "u@example.com",
		"BMW_PASSWORD": "fake-password", "BMW_FLEET_NAME": " Ayvens ", "BMW_CONCURRENCY": "7",
		"BMW_RATE_LIMIT": "2.5",
	}
	cfg, err := bmw.ConfigFromEnv(func(k string) string { return full[k] })
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}

	if cfg.FleetName != "Ayvens" || cfg.Concurrency != 7 || cfg.RateLimit != 2.5 || cfg.FleetID != "" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}

	c, err := bmw.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	if c.Concurrency() != 7 || c.BatchSize() != bmw.DefaultBatchSize || c.Name() != "bmw" {
		t.Errorf("Concurrency %d, BatchSize %d, Name %q", c.Concurrency(), c.BatchSize(), c.Name())
	}

	cfg.Concurrency = 0
	c, _ = bmw.New(cfg)
	if c.Concurrency() != bmw.DefaultConcurrency {
		t.Errorf("default Concurrency = %d, want %d", c.Concurrency(), bmw.DefaultConcurrency)
	}

	for _, bad := range []string{"BMW_CONCURRENCY=0", "BMW_CONCURRENCY=x", "BMW_RATE_LIMIT=-1"} {
		k, v, _ := strings.Cut(bad, "=")
		m := map[string]string{k: v}
		if _, err := bmw.ConfigFromEnv(func(k string) string { return m[k] }); !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("ConfigFromEnv(%s) = %v, want ErrInvalidInput", bad, err)
		}
	}

	_, err = bmw.New(bmw.Config{BaseURL: "http://127.0.0.1:1", Password: "fake-password"})
	if !errors.Is(err, oem.ErrInvalidInput) {
		t.Fatalf("New without login settings = %v, want ErrInvalidInput", err)
	}

	for _, name := range []string{"BMW_AUTH_URL", "BMW_CLIENT_ID", "BMW_USERNAME"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}

	if strings.Contains(err.Error(), "fake-password") {
		t.Errorf("error %q contains the password", err)
	}

	bad := cfg
	bad.BaseURL = "ftp://example"
	if _, err := bmw.New(bad); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New with an ftp base URL = %v, want ErrInvalidInput", err)
	}

	// A login URL without a scheme would be resolved against the API's
	// host and get the password.
	bad = cfg
	bad.AuthURL = "cognito-idp.eu-west-1.amazonaws.com"
	if _, err := bmw.New(bad); !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), "BMW_AUTH_URL") {
		t.Errorf("New with a relative auth URL = %v, want ErrInvalidInput naming BMW_AUTH_URL", err)
	}
}
