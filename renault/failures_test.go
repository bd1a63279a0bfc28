package renault_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

const tokenEndpoint = "POST " + renaulttest.DefaultTokenPath

// renaultBody is Renault's error shape, for faults.
func renaultBody(code, msg string) string {
	return `{"errors":[{"errorCode":"` + code + `","errorMessage":"` + msg + `"}]}`
}

// TestRecovers covers the failures a call gets over by itself: each fault
// hits the first vehicle-information call, and the vehicle is described.
func TestRecovers(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name    string
		fault   simkit.Fault
		timeout time.Duration
		calls   int // vehicle-information requests sent, retries included
	}{
		{"500 then success", simkit.Fault{Status: 500, Body: renaultBody("err.tech.500", "internal")}, 0, 2},
		{"503 twice then success", simkit.Fault{Status: 503, Times: 2, Body: "{}"}, 0, 3},
		{"502 HTML page", simkit.Fault{Status: 502, Body: simkit.HTMLBody}, 0, 2},
		{"empty 500", simkit.Fault{Status: 500}, 0, 2},
		{"connection reset", simkit.Fault{Reset: true}, 0, 2},
		{"own 429, Retry-After in seconds", simkit.Fault{RateLimited: true, RetryAfter: time.Second}, 0, 2},
		{"429, Retry-After as a fraction", simkit.Fault{Status: 429, Header: map[string]string{
			"Retry-After": "0.05"}, Body: renaultBody("err.tech.toomanyrequests", "Too Many Requests")}, 0, 2},
		{"429, Retry-After as a past HTTP date", simkit.Fault{Status: 429, Header: map[string]string{
			"Retry-After": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}}, 0, 2},
		{"429, wait only in the body", simkit.Fault{Status: 429,
			Body: renaultBody("err.tech.toomanyrequests", "retry after 0.02s")}, 0, 2},
		{"slow answer beyond the timeout", simkit.Fault{Delay: 2 * time.Second}, 300 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, renaulttest.Options{})
			f := tc.fault
			f.Endpoint = renaulttest.EndpointVehicle
			if f.Times == 0 {
				f.Times = 1
			}
			sim.Server().AddFault(f)

			cfg := simConfig(t, sim)
			cfg.Timeout = tc.timeout
			c := newConnector(t, cfg)

			start := time.Now()
			info := mustDescribe(t, c, zoeVIN)
			if info.Model != "ZOE" || info.RangeKm != 395 {
				t.Errorf("after recovery: %+v", info)
			}

			if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != tc.calls {
				t.Errorf("%d vehicle-information requests, want %d", n, tc.calls)
			}

			if strings.Contains(tc.name, "seconds") && time.Since(start) < 900*time.Millisecond {
				t.Errorf("the Retry-After of 1 s was not waited for (%s)", time.Since(start))
			}
		})
	}
}

func TestTokenExpiryMidRun(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))
	mustDescribe(t, c, zoeVIN)

	// The API forgets every token: the next call gets a 401, the connector
	// logs in once more and the call succeeds.
	sim.Tokens().ExpireAll()
	d := describe(t.Context(), c, meganeVIN, springVIN)
	if d.err != nil || len(d.infos) != 2 {
		t.Fatalf("after the tokens expired: %d infos, end %v", len(d.infos), d.err)
	}

	if n := sim.Server().Counters.Get(tokenEndpoint); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}

	// Expiry on the clock: the cached token is renewed before it is sent.
	sim.Clock().Advance(2 * time.Hour)
	mustDescribe(t, c, zoeVIN)
	if n := sim.Server().Counters.Get(tokenEndpoint); n != 3 {
		t.Errorf("%d logins after the clock passed the expiry, want 3", n)
	}

	if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 5 {
		t.Errorf("%d vehicle calls, want 5 (4 vehicles, one refused with 401 and sent again)", n)
	}
}

func TestConcurrentCallersLogInOnce(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	done := make(chan described, 6)
	for range 6 {
		go func() { done <- describe(t.Context(), c, zoeVIN, meganeVIN) }()
	}

	for range 6 {
		if d := <-done; d.err != nil || len(d.infos) != 2 {
			t.Errorf("concurrent Describe: %d infos, end %v", len(d.infos), d.err)
		}
	}

	if n := sim.Server().Counters.Get(tokenEndpoint); n != 1 {
		t.Errorf("%d logins for six concurrent callers, want 1", n)
	}
}

func TestFinalForOneVehicle(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"403", 403, renaultBody("err.func.wired.forbidden", "vehicle not in your contract"), oem.ErrPermissionDenied},
		{"400", 400, renaultBody("err.func.vin.invalid", "bad VIN"), oem.ErrInvalidInput},
		{"404 nested in a string", 404,
			`"{\"errors\":[{\"errorCode\":\"err.func.vehicle.notfound\",\"errorMessage\":\"vehicle not found\"}]}"`,
			oem.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, renaulttest.Options{})
			sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Times: 1,
				Status: tc.status, Body: tc.body})
			c := newConnector(t, simConfig(t, sim))

			d := describe(t.Context(), c, zoeVIN, meganeVIN)
			if d.err != nil {
				t.Fatalf("the stream ended: %v", d.err)
			}

			ve := d.verrs[zoeVIN]
			if ve == nil || !errors.Is(ve, tc.want) {
				t.Fatalf("first vehicle: %v, want a vehicle error of kind %v", ve, tc.want)
			}

			var ae *oem.APIError
			if !errors.As(ve, &ae) || ae.StatusCode != tc.status || ae.Code == "" || ae.Message == "" {
				t.Errorf("API error %+v: want status %d with Renault's code and message", ae, tc.status)
			}

			if _, ok := d.infos[meganeVIN]; !ok {
				t.Errorf("the next vehicle was not described")
			}

			// Final: sent once, never retried, no WLTP call for it.
			if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 2 {
				t.Errorf("%d vehicle calls, want 2", n)
			}

			if n := sim.Server().Counters.Get(renaulttest.EndpointWLTP); n != 1 {
				t.Errorf("%d WLTP calls, want 1", n)
			}
		})
	}
}

func TestNestedErrorsFromTheSimulator(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{NestedErrors: true})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, unknownVIN)
	var ae *oem.APIError
	if ve := d.verrs[unknownVIN]; ve == nil || !errors.As(ve, &ae) {
		t.Fatalf("unknown VIN: %+v", d)
	}

	if ae.Kind != oem.ErrNotFound || ae.Code != "err.func.vehicle.notfound" || ae.Message != "vehicle not found" {
		t.Errorf("nested error read as %+v", ae)
	}
}

func TestEndsTheStream(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name  string
		setup func(*renaulttest.Sim, *renault.Config)
		want  error
		words string
	}{
		{"wrong API key", func(_ *renaulttest.Sim, c *renault.Config) { c.APIKey = "fake-wrong-api-key" },
			oem.ErrAuth, "apiKey"},
		{"quota spent (403)", func(s *renaulttest.Sim, _ *renault.Config) {
			s.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Status: 403,
				Body: renaultBody("err.tech.quota", "daily quota exceeded")})
		}, oem.ErrQuotaExhausted, "quota"},
		{"wait longer than MaxWait", func(s *renaulttest.Sim, c *renault.Config) {
			c.MaxWait = 100 * time.Millisecond
			s.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, RateLimited: true,
				RetryAfter: time.Hour})
		}, oem.ErrRateLimited, "retry after 1h"},
		{"down after retries, three vehicles in a row", func(s *renaulttest.Sim, _ *renault.Config) {
			s.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Status: 503})
		}, oem.ErrTransient, "503"},
		{"token endpoint down", func(s *renaulttest.Sim, _ *renault.Config) {
			s.Server().AddFault(simkit.Fault{Endpoint: tokenEndpoint, Status: 503})
		}, oem.ErrTransient, "get token"},
		{"token answer without a token", func(s *renaulttest.Sim, _ *renault.Config) {
			s.Server().AddFault(simkit.Fault{Endpoint: tokenEndpoint, Status: 200,
				Body: `{"token_type":"Bearer","expires_in":3600}`})
		}, renault.ErrTokenAnswer, "without an access_token"},
		{"token answer that is HTML", func(s *renaulttest.Sim, _ *renault.Config) {
			s.Server().AddFault(simkit.Fault{Endpoint: tokenEndpoint, Status: 200, Body: simkit.HTMLBody,
				ContentType: "text/html"})
		}, renault.ErrTokenAnswer, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, renaulttest.Options{})
			cfg := simConfig(t, sim)
			buf := &syncBuffer{}
			cfg.Logger = debugLogger(buf)
			tc.setup(sim, &cfg)
			c := newConnector(t, cfg)

			d := describe(t.Context(), c, zoeVIN, meganeVIN, springVIN, unknownVIN)
			if d.err == nil {
				t.Fatalf("the stream did not end: %d infos, %d vehicle errors", len(d.infos), len(d.verrs))
			}

			if !errors.Is(d.err, tc.want) || !strings.Contains(d.err.Error(), tc.words) {
				t.Errorf("stream ended with %q, want %v saying %q", d.err, tc.want, tc.words)
			}

			if len(d.infos) != 0 {
				t.Errorf("%d vehicles described, want none", len(d.infos))
			}

			env := sim.Env()
			secretsAbsent(t, "error", d.err.Error(), env["RENAULT_API_KEY"], cfg.APIKey,
				env["RENAULT_PKCS12_PASSWORD"])
			secretsAbsent(t, "debug log", buf.String(), env["RENAULT_API_KEY"], cfg.APIKey,
				env["RENAULT_PKCS12_PASSWORD"])
		})
	}
}

func TestWLTPFailureKeepsTheDescription(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	sim.RemoveWLTP(string(zoeVIN))
	sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointWLTP, Times: 1, Status: 403,
		Body: renaultBody("err.func.wired.forbidden", "no WLTP access")})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, meganeVIN, zoeVIN)
	for _, vin := range []oem.VIN{meganeVIN, zoeVIN} {
		info, ok := d.infos[vin]
		if !ok {
			t.Fatalf("%s not described: %+v", vin, d)
		}

		if info.Model == "" || info.RangeKm != 0 || len(info.Warnings) != 1 ||
			!strings.Contains(info.Warnings[0], "WLTP range unknown") {
			t.Errorf("%s = model %q, range %d, warnings %q; want the model, no range, one warning",
				vin, info.Model, info.RangeKm, info.Warnings)
		}

		if _, ok := info.Sources[oem.FieldRangeKm]; ok {
			t.Errorf("%s has a range source without a range", vin)
		}
	}
}

func TestMalformedAnswers(t *testing.T) {
	t.Parallel()

	for _, body := range []string{simkit.MalformedJSON, simkit.HTMLBody, ""} {
		sim := newSim(t, renaulttest.Options{})
		sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Times: 1,
			Status: 200, Body: body, ContentType: "application/json"})
		c := newConnector(t, simConfig(t, sim))

		d := describe(t.Context(), c, zoeVIN, meganeVIN)
		ve := d.verrs[zoeVIN]
		if d.err != nil || ve == nil || !errors.Is(ve, oem.ErrTransient) {
			t.Errorf("body %.20q: end %v, vehicle error %v; want a transient vehicle error", body, d.err, ve)
		}

		if _, ok := d.infos[meganeVIN]; !ok {
			t.Errorf("body %.20q: the next vehicle was not described", body)
		}
	}
}

func TestCancelMidStream(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointWLTP, Delay: 10 * time.Second})
	c := newConnector(t, simConfig(t, sim))

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)

	start := time.Now()
	d := describe(ctx, c, zoeVIN, meganeVIN)
	if !errors.Is(d.err, context.Canceled) || len(d.infos) != 0 {
		t.Errorf("cancelled Describe: end %v, %d infos; want context.Canceled", d.err, len(d.infos))
	}

	if time.Since(start) > 3*time.Second {
		t.Errorf("cancelled Describe took %s", time.Since(start))
	}
}

func TestRequestKinds(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))

	var rc oem.RequestCounter
	ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &rc), oem.RequestDescription)
	if d := describe(ctx, c, zoeVIN, meganeVIN); d.err != nil {
		t.Fatal(d.err)
	}

	want := map[oem.RequestKind]int64{oem.RequestAuth: 1, oem.RequestDescription: 4}
	got := rc.Snapshot()
	if len(got) != len(want) || got[oem.RequestAuth] != 1 || got[oem.RequestDescription] != 4 {
		t.Errorf("requests by kind = %v, want %v", got, want)
	}
}

func TestLogsAreRedacted(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	buf := &syncBuffer{}
	cfg := simConfig(t, sim)
	cfg.Logger = debugLogger(buf)
	c := newConnector(t, cfg)

	sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Times: 1, Status: 500})
	mustDescribe(t, c, zoeVIN)
	sim.Tokens().ExpireAll()
	mustDescribe(t, c, meganeVIN)

	log := buf.String()
	if !strings.Contains(log, "vehicle-information") || !strings.Contains(log, "[redacted]") {
		t.Fatalf("the debug log does not show the wire with redactions:\n%s", log)
	}

	env := sim.Env()
	var raws []string
	for _, a := range sim.Assertions() {
		raws = append(raws, a.Raw)
	}

	secretsAbsent(t, "debug log", log, append(raws, env["RENAULT_API_KEY"], env["RENAULT_PKCS12_PASSWORD"],
		env["RENAULT_PKCS12"][:40], "sim-renault-access-")...)
}

// A 401 that a new token does not cure is an auth failure of the whole
// connector after one new login, never a loop of logins.
func TestPersistent401(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	sim.Server().AddFault(simkit.Fault{Endpoint: renaulttest.EndpointVehicle, Status: 401,
		Body: renaultBody("err.func.wired.unauthorized", "invalid or expired access token")})
	c := newConnector(t, simConfig(t, sim))

	d := describe(t.Context(), c, zoeVIN, meganeVIN)
	if !errors.Is(d.err, oem.ErrAuth) || d.n != 1 {
		t.Fatalf("persistent 401: %d items, end %v; want the stream to end with ErrAuth", d.n, d.err)
	}

	if n := sim.Server().Counters.Get(tokenEndpoint); n != 2 {
		t.Errorf("%d logins, want 2 (the first and one after the 401)", n)
	}

	if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 2 {
		t.Errorf("%d vehicle calls, want 2", n)
	}
}
