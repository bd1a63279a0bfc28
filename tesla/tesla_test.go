package tesla

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

func TestConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		a1, a2, b1 := vin('3', 'P', 1), vin('Y', 'R', 2), vin('S', 'L', 3)
		hidden, unknown := vin('X', 'M', 4), vin('3', 'P', 99)
		sim := newSim(t, teslatest.Options{},
			spec(a1, "Model 3", "Long Range AWD", acctA),
			spec(a2, "Model Y", "Performance", acctA),
			spec(b1, "Model S", "Plaid", acctB),
			simkit.Spec{VIN: string(hidden), Model: "Model X", Initial: "inactive"},
		)

		return oemtest.ConnectorSubject{
			Connector:   newConn(t, sim, nil),
			Listed:      []oem.VIN{a1, a2, b1},
			Describable: []oem.VIN{a1, a2, b1},
			Unknown:     unknown,
		}
	})
}

func TestRegistration(t *testing.T) {
	t.Parallel()

	if !slices.Contains(oem.Drivers(), Name) {
		t.Fatalf("oem.Drivers() = %v, want it to contain %q", oem.Drivers(), Name)
	}

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{}, spec(v, "Model 3", "RWD", acctA))
	env := sim.Env()

	conns, err := oem.OpenFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("OpenFromEnv(sim.Env()): %v", err)
	}

	var c oem.Connector
	for _, cc := range conns {
		if cc.Name() == Name {
			c = cc
		}
	}

	if c == nil {
		t.Fatalf("OpenFromEnv opened %d connectors, none named %s", len(conns), Name)
	}

	seen, _, err := list(t.Context(), c)
	if err != nil || len(seen[v]) != 1 || seen[v][0].Account != acctA {
		t.Fatalf("Fleet through the registry = %v, %v; want %s listed once in %s", seen, err, v, acctA)
	}

	half := map[string]string{EnvSlackToken: "xoxb-fake-slack-token"}
	_, err = oem.Open(Name, func(k string) string { return half[k] })
	var se *oem.SettingsError
	if !errors.As(err, &se) {
		t.Fatalf("Open with only %s = %v, want a *oem.SettingsError", EnvSlackToken, err)
	}

	if !slices.Equal(se.Missing, []string{EnvSlackChannel, EnvAccounts}) {
		t.Errorf("missing = %v, want [%s %s]", se.Missing, EnvSlackChannel, EnvAccounts)
	}

	if strings.Contains(err.Error(), "xoxb-fake") {
		t.Errorf("settings error shows the Slack token: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()

	env := map[string]string{
		EnvSlackToken: " xoxb-fake ", EnvSlackChannel: "C0FAKE", EnvAccounts: "acme, Beta,,ACME ;gamma",
		EnvRateLimit: "2.5",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	if want := []string{"acme", "Beta", "gamma"}; !slices.Equal(cfg.Accounts, want) {
		t.Errorf("Accounts = %v, want %v", cfg.Accounts, want)
	}

	if cfg.SlackToken != "xoxb-fake" || cfg.SlackChannel != "C0FAKE" || cfg.RateLimit != 2.5 {
		t.Errorf("cfg = %+v", cfg)
	}

	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if c.BaseURL() != BaseURLEU {
		t.Errorf("default base URL %q, want %q", c.BaseURL(), BaseURLEU)
	}

	env[EnvRateLimit] = "fast"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("TESLA_RATE_LIMIT=fast: %v, want ErrInvalidInput", err)
	}

	if _, err := New(Config{Accounts: []string{"acme"}}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New without Slack settings or Tokens: %v, want ErrInvalidInput", err)
	}

	bad := cfg
	bad.SlackAPIURL = "slack.example"
	if _, err := New(bad); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New with a Slack API URL without scheme: %v, want ErrInvalidInput", err)
	}

	if _, err := New(Config{}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("New without accounts: %v, want ErrInvalidInput", err)
	}
}

func TestSharedSlackTokensAndCapabilities(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{}, spec(v, "Model 3", "RWD", acctB))
	st, err := NewSlackTokens(SlackConfig{Token: teslatest.DefaultSlackToken,
		Channel: teslatest.DefaultSlackChannel, Accounts: sim.Accounts(), APIURL: sim.SlackURL()})
	if err != nil {
		t.Fatal(err)
	}

	if got := len(st.Sources()); got != 2 {
		t.Fatalf("Sources() has %d accounts, want 2", got)
	}

	c, err := New(Config{BaseURL: sim.URL(), Accounts: sim.Accounts()}, WithSlackTokens(st))
	if err != nil {
		t.Fatal(err)
	}

	if seen, _, err := list(t.Context(), c); err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet with shared SlackTokens: %v %v", seen, err)
	}

	if st.Lookups() != 1 || c.BatchSize() != 50 || c.Concurrency() != 4 {
		t.Errorf("lookups %d, batch size %d, concurrency %d; want 1, 50, 4",
			st.Lookups(), c.BatchSize(), c.Concurrency())
	}
}

func TestSlackRateLimitBeyondMaxWait(t *testing.T) {
	t.Parallel()

	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(vin('3', 'P', 1), "Model 3", "RWD", acctA))
	sim.Slack().AddFault(simkit.Fault{Endpoint: teslatest.HistoryEndpoint, RateLimited: true,
		RetryAfter: 2 * time.Hour})
	c := newConn(t, sim, func(cfg *Config) { cfg.MaxWait = time.Second })

	_, _, err := list(t.Context(), c)
	wantKind(t, err, oem.ErrRateLimited)
	if d, ok := oem.RetryAfter(err); !ok || d != 2*time.Hour {
		t.Errorf("RetryAfter = %v, %v; want 2h", d, ok)
	}

	if n := sim.Slack().Counters.Get(teslatest.HistoryEndpoint); n != 1 {
		t.Errorf("%d Slack reads, want 1", n)
	}
}
