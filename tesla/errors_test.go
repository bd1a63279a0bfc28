package tesla

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

func TestWrongRegionSwitchesOnceAndRemembers(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
	c := newConn(t, sim, func(cfg *Config) { cfg.BaseURL = sim.RegionURL() })

	seen, _, err := list(t.Context(), c)
	if err != nil || len(seen[v]) != 1 {
		t.Fatalf("Fleet from the wrong region: %v, %v", seen, err)
	}

	if c.BaseURL() != sim.URL() {
		t.Errorf("base URL %q, want %q", c.BaseURL(), sim.URL())
	}

	if _, _, err := describe(t.Context(), c, v); err != nil {
		t.Fatal(err)
	}

	if n := sim.Region().Counters.Get("/api/"); n != 1 {
		t.Errorf("%d requests to the wrong region, want 1 (the switch is remembered)", n)
	}
}

func TestWrongRegionNeverLoops(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)

	t.Run("the new region sends us back", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
		sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: http.StatusMisdirectedRequest,
			Body: `{"response":null,"error":"user out of region, use base URL: ` + sim.RegionURL() + `"}`})
		c := newConn(t, sim, func(cfg *Config) { cfg.BaseURL = sim.RegionURL() })

		_, _, err := list(t.Context(), c)
		wantKind(t, err, ErrWrongRegion)
		if r, m := sim.Region().Counters.Get("/api/"), requests(sim, epList); r != 1 || m != 1 {
			t.Errorf("requests: wrong region %d, new region %d; want 1 and 1", r, m)
		}
	})

	t.Run("a host that is not Tesla's", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
		sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: http.StatusMisdirectedRequest,
			Body: `{"response":null,"error":"user out of region, use base URL: https://fleet-api.example.com"}`})
		c := newConn(t, sim, nil)

		_, _, err := list(t.Context(), c)
		wantKind(t, err, ErrWrongRegion)
		if c.BaseURL() != sim.URL() {
			t.Errorf("switched to %q", c.BaseURL())
		}
	})

	t.Run("no URL in the answer", func(t *testing.T) {
		t.Parallel()

		sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
		sim.Server().AddFault(simkit.Fault{Endpoint: epList, Status: http.StatusMisdirectedRequest, Body: ""})
		c := newConn(t, sim, nil)

		_, _, err := list(t.Context(), c)
		wantKind(t, err, ErrWrongRegion)
	})
}

func TestRegionURL(t *testing.T) {
	t.Parallel()

	for body, want := range map[string]string{
		`{"error":"user out of region, use base URL: https://fleet-api.prd.na.vn.cloud.tesla.com"}`: BaseURLNA,
		`user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com/.`:           BaseURLEU,
		`{"error":"use base URL: http://127.0.0.1:4567/"}`:                                          "http://127.0.0.1:4567",
		`{"error":"use base URL: http://fleet-api.prd.na.vn.cloud.tesla.com"}`:                      "", // not https
		`{"error":"use base URL: https://tesla.com.evil.example"}`:                                  "",
	} {
		got, err := regionURL([]byte(body))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("regionURL(%s) = %q, %v; want %q", body, got, err, want)
		}
	}
}

func TestHTTPFailures(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	for _, tc := range []struct {
		name   string
		faults []simkit.Fault
		mod    func(*Config)
		kind   error // nil: the call succeeds
		calls  int   // listing requests
	}{
		{"5xx then success", []simkit.Fault{{Endpoint: epList, Times: 2, Status: 503,
			Body: `{"response":null,"error":"upstream internal error"}`}}, nil, nil, 3},
		{"connection reset then success", []simkit.Fault{{Endpoint: epList, Times: 1, Reset: true}}, nil, nil, 2},
		{"HTML bodies until retries run out", []simkit.Fault{{Endpoint: epList, Status: 502,
			Body: simkit.HTMLBody}}, nil, oem.ErrTransient, 5},
		{"app not registered in the region", []simkit.Fault{{Endpoint: epList, Status: 412,
			Body: `{"response":null,"error":"Account or application not registered in this region"}`}},
			nil, ErrNotRegistered, 1},
		{"slow answers beyond the timeout", []simkit.Fault{{Endpoint: epList, Delay: 300 * time.Millisecond}},
			func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond; cfg.MaxRetries = 1 }, oem.ErrTransient, 2},
		{"forbidden", []simkit.Fault{{Endpoint: epList, Status: 403,
			Body: `{"response":null,"error":"Unauthorized missing scopes","error_description":""}`}},
			nil, oem.ErrPermissionDenied, 1},
		{"empty 500 body", []simkit.Fault{{Endpoint: epList, Times: 1, Status: 500}}, nil, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, teslatest.Options{Accounts: []string{acctA}}, spec(v, "Model 3", "RWD", acctA))
			for _, f := range tc.faults {
				sim.Server().AddFault(f)
			}

			c := newConn(t, sim, tc.mod)
			seen, _, err := list(t.Context(), c)
			switch {
			case tc.kind == nil && (err != nil || len(seen[v]) != 1):
				t.Errorf("Fleet = %v, %v; want %s listed", seen, err, v)
			case tc.kind != nil:
				wantKind(t, err, tc.kind)
			}

			if n := requests(sim, epList); n != tc.calls {
				t.Errorf("%d listing requests, want %d", n, tc.calls)
			}
		})
	}
}

// Secrets never appear in logs or errors, even at debug level.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()

	v := vin('3', 'P', 1)
	sim := newSim(t, teslatest.Options{Accounts: []string{acctA}, ManualTokens: true},
		spec(v, "Model 3", "RWD", acctA))
	access := sim.PostToken(acctA)
	sim.PostMessage("junk", []byte(`[{"type":"rich_text","elements":[{"type":"rich_text_section",`+
		`"elements":[{"type":"text","text":"ACCESS_TOKEN_ACME:"},{"type":"text","text":"x"},`+
		`{"type":"text","text":"y"},{"type":"text","text":"{\"access_token\":\"sim-tesla-access-half"}]}]}]`))
	sim.Server().AddFault(simkit.Fault{Endpoint: epList, Times: 1, Status: 500,
		Body: `{"response":null,"error":"bad token ` + access + `"}`})

	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newConn(t, sim, func(cfg *Config) { cfg.Logger = logger })

	if _, _, err := list(t.Context(), c); err != nil {
		t.Fatal(err)
	}

	sim.Server().AddFault(simkit.Fault{Endpoint: epOptions, Status: 400,
		Body: `{"response":null,"error":"invalid token ` + access + `"}`})
	infos, verrs, _ := describe(t.Context(), c, v)
	if len(infos[v].Warnings) == 0 {
		t.Fatal("no warning about the failed options call")
	}

	out := buf.String() + strings.Join(infos[v].Warnings, " ")
	for _, e := range verrs {
		out += e.Error()
	}

	for _, secret := range []string{access, teslatest.DefaultSlackToken, "sim-tesla-access-half"} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret (%.12s…) appears in logs or errors", secret)
		}
	}

	if !strings.Contains(buf.String(), "http") {
		t.Error("no wire log at debug level")
	}
}
