package hm_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const listEndpoint = "GET /v1/fleets/vehicles"

func fleetErr(t *testing.T, e *env) (int, error) {
	t.Helper()

	n := 0
	for _, err := range e.conn.Fleet(t.Context()) {
		if err != nil {
			return n, err
		}

		n++
	}

	return n, nil
}

// Failures the HTTP stack retries: 5xx, a connection reset, an answer
// slower than the timeout. Each is followed by a success.
func TestRetriedFailures(t *testing.T) {
	t.Parallel()

	for name, f := range map[string]simkit.Fault{
		"503 twice": {Times: 2, Status: http.StatusServiceUnavailable,
			Body: `{"errors":[{"title":"Service Unavailable","detail":"Failure when fetching data from OEM"}]}`},
		"html 502":         {Times: 1, Status: http.StatusBadGateway, Body: simkit.HTMLBody},
		"connection reset": {Times: 1, Reset: true},
		"slow answer":      {Times: 1, Delay: 2 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			e := newEnv(t, envOpt{offSpec: true, cfg: func(c *hm.Config) { c.Timeout = 300 * time.Millisecond }},
				mercedes(1, "active"))
			f.Endpoint = listEndpoint
			e.sim.Server().AddFault(f)

			n, err := fleetErr(t, e)
			if err != nil || n != 1 {
				t.Fatalf("after %s: %d vehicles, %v; want 1, nil", name, n, err)
			}

			want := 2
			if f.Times == 2 {
				want = 3
			}

			if got := e.count(listEndpoint); got != want {
				t.Errorf("%d listing requests, want %d", got, want)
			}
		})
	}
}

// When the retries run out the error is typed and carries a bounded
// snippet of the body; an HTML page does not make it panic.
func TestRetriesExhausted(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{offSpec: true, cfg: func(c *hm.Config) { c.MaxRetries = 2 }}, mercedes(1, "active"))
	e.sim.Server().AddFault(simkit.Fault{Endpoint: listEndpoint, Status: http.StatusBadGateway, Body: simkit.HTMLBody})

	_, err := fleetErr(t, e)
	var ae *oem.APIError
	if !errors.Is(err, oem.ErrTransient) || !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway ||
		!strings.Contains(ae.Snippet, "Bad Gateway") {
		t.Fatalf("502 after retries: %v, want an oem.ErrTransient *oem.APIError with the snippet", err)
	}

	if got := e.count(listEndpoint); got != 3 {
		t.Errorf("%d attempts, want 3 (1 + MaxRetries 2)", got)
	}
}

// High Mobility's 429 gives its wait only in the text ("retry after 10s").
// A short wait is slept through and the call succeeds; a wait longer than
// MaxWait ends the call at once with oem.ErrRateLimited carrying the wait.
func TestRateLimitWaitInText(t *testing.T) {
	t.Parallel()

	t.Run("short wait honoured", func(t *testing.T) {
		t.Parallel()

		e := newEnv(t, envOpt{}, mercedes(1, "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: listEndpoint, Times: 1, RateLimited: true,
			RetryAfter: 150 * time.Millisecond})

		start := time.Now()
		if n, err := fleetErr(t, e); err != nil || n != 1 {
			t.Fatalf("after a 429: %d, %v", n, err)
		}

		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("retried after %s, before the 150 ms the text asked for", d)
		}
	})

	t.Run("long wait ends the call", func(t *testing.T) {
		t.Parallel()

		e := newEnv(t, envOpt{cfg: func(c *hm.Config) { c.MaxWait = time.Second }}, mercedes(1, "active"))
		e.sim.Server().AddFault(simkit.Fault{Endpoint: listEndpoint, Times: 1, RateLimited: true,
			RetryAfter: 10 * time.Second})

		start := time.Now()
		_, err := fleetErr(t, e)
		if !errors.Is(err, oem.ErrRateLimited) {
			t.Fatalf("429 retry after 10s with MaxWait 1s: %v, want oem.ErrRateLimited", err)
		}

		if d, ok := oem.RetryAfter(err); !ok || d != 10*time.Second {
			t.Errorf("RetryAfter = %s, %v; want 10s from the text", d, ok)
		}

		if time.Since(start) > 2*time.Second || e.count(listEndpoint) != 1 {
			t.Errorf("the call waited or retried (%d requests)", e.count(listEndpoint))
		}
	})
}

// The simulator's own limit: 60 reads of one clearance a minute, then 429
// with the wait in the text; the next minute it answers again.
func TestSimulatorVINReadLimit(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	tok := simToken(t, e)
	client := &http.Client{Transport: e.rt}
	get := func() (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
			e.sim.URL()+"/v1/fleets/vehicles/"+string(testVIN(wmiMercedes, 1)), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()

		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])

		return resp.StatusCode, b.String()
	}

	for i := range 60 {
		if st, _ := get(); st != http.StatusOK {
			t.Fatalf("read %d: %d, want 200", i+1, st)
		}
	}

	st, body := get()
	if st != http.StatusTooManyRequests || !strings.Contains(body, "retry after 60s") {
		t.Fatalf("read 61: %d %s, want 429 with \"retry after 60s\"", st, body)
	}

	e.clock.Advance(time.Minute)
	if st, _ := get(); st != http.StatusOK {
		t.Errorf("a minute later: %d, want 200", st)
	}
}

// A cancelled context ends every call promptly with context.Canceled, even
// in the middle of a slow answer.
func TestCancelMidRequest(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{offSpec: true}, mercedes(1, "active"))
	drainFleet(t, e) // log in first
	e.sim.Server().AddFault(simkit.Fault{Endpoint: listEndpoint, Times: 1, Delay: 5 * time.Second})

	ctx, cancel := contextWithCancelAfter(t, 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	var err error
	for _, ferr := range e.conn.Fleet(ctx) {
		err = ferr
	}

	if !errors.Is(err, errCanceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled mid-request: %v after %s", err, time.Since(start))
	}
}
