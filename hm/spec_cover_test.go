package hm_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// TestSpecCoverage runs every call the connector makes and checks that each
// of High Mobility's operations was validated at least once, so the spec
// check cannot pass by checking nothing.
func TestSpecCoverage(t *testing.T) {
	t.Parallel()

	if _, err := loadSpecs(); err != nil {
		t.Skipf("SPEC CHECK SKIPPED: %v", err)
	}

	e := newEnv(t, envOpt{}, mercedes(1, "active"), kia(2, ""), volvo(3, "active"))
	ctx := t.Context()
	m, k, v := testVIN(wmiMercedes, 1), testVIN(wmiKia, 2), testVIN(wmiVolvo, 3)

	if _, err := e.conn.Activate(ctx, []oem.VIN{k}); err != nil {
		t.Fatal(err)
	}

	for _, err := range e.conn.Fleet(ctx) {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Two deactivations: the second meets "in transition mode" and looks
	// the clearance up.
	for range 2 {
		if _, err := e.conn.Deactivate(ctx, []oem.VIN{m}); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := e.conn.CheckEligibility(ctx, []oem.VIN{v}); err != nil {
		t.Fatal(err)
	}

	for _, err := range e.conn.Describe(ctx, []oem.VIN{v}) {
		if err != nil {
			t.Fatal(err)
		}
	}

	ops := specOps(e.rt)
	for _, op := range []string{
		"POST /v1/access_tokens",
		"POST /v1/fleets/vehicles",
		"GET /v1/fleets/vehicles",
		"GET /v1/fleets/vehicles/{vin}",
		"DELETE /v1/fleets/vehicles/{vin}",
		"POST /v1/eligibility",
		"GET /v1/vehicle-data/autoapi-13/{vin}",
		"GET /v1/vehicle-static-data/{vin}/data",
	} {
		if ops[op] == 0 {
			t.Errorf("operation %s was never validated against the spec (validated: %v)", op, ops)
		}
	}
}

// errRecorder is a testing.TB that keeps Errorf calls instead of failing.
type errRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *errRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return strings.Join(r.errs, "\n")
}

// TestSpecCheckCatches shows the check rejects what the spec forbids: a
// clearance request with a brand outside the enum, a request without a
// token, an answer the spec does not allow.
func TestSpecCheckCatches(t *testing.T) {
	t.Parallel()

	if _, err := loadSpecs(); err != nil {
		t.Skipf("SPEC CHECK SKIPPED: %v", err)
	}

	e := newEnv(t, envOpt{})
	rec := &errRecorder{TB: t}
	rt := specCheck(rec, http.DefaultTransport, true)
	client := &http.Client{Transport: rt, Timeout: 5 * time.Second}

	body := `{"vehicles":[{"vin":"W1KABCDEFGH000001","brand":"unknown"}]}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.sim.URL()+"/v1/fleets/vehicles",
		bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := rec.all()
	if !strings.Contains(got, "request POST /v1/fleets/vehicles does not follow the spec") {
		t.Errorf("a brand outside the enum and no token passed the request check: %q", got)
	}

	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("sim answered %d without a token, want 401", resp.StatusCode)
	}

	// An answer the spec does not list: 418 on the listing.
	e.sim.Server().AddFault(simFault(http.StatusTeapot, `{"errors":[{"title":"teapot"}]}`))
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, e.sim.URL()+"/v1/fleets/vehicles", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if got := rec.all(); !strings.Contains(got, "answer 418") {
		t.Errorf("an undocumented status passed the response check: %q", got)
	}
}
