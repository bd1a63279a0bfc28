package hm_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

const createEndpoint = "POST /v1/fleets/vehicles"

func byVIN(res []oem.Result) map[oem.VIN]oem.Result {
	m := make(map[oem.VIN]oem.Result, len(res))
	for _, r := range res {
		m[r.VIN] = r
	}

	return m
}

// A 200 with failed items: a typed per-vehicle error for those items only
// (CASES 18). A VIN that is not normalised or has no brand we can name is
// refused without a request.
func TestActivatePerItemErrors(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, kia(1, ""), mercedes(2, ""))
	k, m := testVIN(wmiKia, 1), testVIN(wmiMercedes, 2)
	noBrand := testVIN(wmiUnknown, 3)
	lower := oem.VIN(strings.ToLower(string(testVIN(wmiKia, 4))))

	// The caller says the Kia is a Ford: High Mobility answers "The brand
	// is invalid" for that item.
	if err := e.conn.SetBrands(map[oem.VIN]string{k: "Ford"}); err != nil {
		t.Fatal(err)
	}

	res, err := e.conn.Activate(t.Context(), []oem.VIN{k, m, noBrand, lower, m})
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}

	if len(res) != 4 {
		t.Fatalf("%d results, want 4 (one per distinct VIN): %+v", len(res), res)
	}

	got := byVIN(res)
	if r := got[m]; r.Err != nil || r.Status != oem.StatusPending || r.Raw != "pending" {
		t.Errorf("Mercedes: %+v, want pending without error", r)
	}

	r := got[k]
	var ae *oem.APIError
	if !errors.Is(r.Err, oem.ErrInvalidInput) || !errors.As(r.Err, &ae) || r.Status != oem.StatusError ||
		r.Reason != "The brand is invalid" || ae.Message != "The brand is invalid" {
		t.Errorf("Kia with a wrong brand: %+v (%v), want an ErrInvalidInput *oem.APIError", r, r.Err)
	}

	if ve, ok := oem.AsVehicleError(r.Err); !ok || ve.VIN != k {
		t.Errorf("Kia error is not a *oem.VehicleError naming it: %v", r.Err)
	}

	for _, v := range []oem.VIN{noBrand, lower} {
		if r := got[v]; !errors.Is(r.Err, oem.ErrInvalidInput) {
			t.Errorf("%s: %+v, want oem.ErrInvalidInput", v, r)
		}
	}

	if n := e.count(createEndpoint); n != 1 {
		t.Errorf("%d clearance requests, want 1", n)
	}

	if st, _ := e.sim.State(string(k)); st != "" {
		t.Errorf("the Kia has clearance state %q at the simulator; it must have none", st)
	}
}

// The brand comes from the caller (any spelling) before the WMI.
func TestActivateBrandSources(t *testing.T) {
	t.Parallel()

	sandbox := testVIN(wmiUnknown, 5)
	e := newEnv(t, envOpt{cfg: func(c *hm.Config) {
		c.Brands = map[oem.VIN]string{sandbox: "sandbox"}
	}}, volvo(1, ""))

	res, err := e.conn.Activate(t.Context(), []oem.VIN{testVIN(wmiVolvo, 1), sandbox})
	if err != nil {
		t.Fatal(err)
	}

	for _, r := range res {
		if r.Err != nil || r.Status != oem.StatusPending {
			t.Errorf("%s: %+v, want pending", r.VIN, r)
		}
	}

	if err := e.conn.SetBrands(map[oem.VIN]string{sandbox: "Lada"}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("SetBrands with a brand HM does not take: %v, want oem.ErrInvalidInput", err)
	}
}

// Batches follow BatchSize.
func TestActivateBatches(t *testing.T) {
	t.Parallel()

	var specs []simkit.Spec
	var vins []oem.VIN
	for i := range 5 {
		specs = append(specs, kia(i, ""))
		vins = append(vins, testVIN(wmiKia, i))
	}

	e := newEnv(t, envOpt{cfg: func(c *hm.Config) { c.BatchSize = 2 }}, specs...)
	if e.conn.BatchSize() != 2 {
		t.Fatalf("BatchSize() = %d, want 2", e.conn.BatchSize())
	}

	res, err := e.conn.Activate(t.Context(), vins)
	if err != nil {
		t.Fatal(err)
	}

	if len(res) != 5 {
		t.Fatalf("%d results, want 5", len(res))
	}

	if n := e.count(createEndpoint); n != 3 {
		t.Errorf("%d clearance requests for 5 VINs in batches of 2, want 3", n)
	}
}

// Activation is slow: pending first, then approved or rejected after
// Spec.After on the clock. A second request is "already done".
func TestActivateSlowTransitions(t *testing.T) {
	t.Parallel()

	rej := ford(2, "")
	rej.Outcome, rej.After, rej.Reason = simkit.OutcomeReject, 10*24*time.Hour, "activation timeout: no data"
	inel := kia(3, "")
	inel.Outcome = simkit.OutcomeIneligible
	e := newEnv(t, envOpt{}, mercedes(1, ""), rej, inel)
	m, f, k := testVIN(wmiMercedes, 1), testVIN(wmiFord, 2), testVIN(wmiKia, 3)

	if _, err := e.conn.Activate(t.Context(), []oem.VIN{m, f, k}); err != nil {
		t.Fatal(err)
	}

	status := func() map[oem.VIN]oem.Observed {
		out := map[oem.VIN]oem.Observed{}
		for _, o := range drainFleet(t, e) {
			out[o.VIN] = o
		}

		return out
	}

	s := status()
	if s[m].Status != oem.StatusPending || s[f].Status != oem.StatusPending {
		t.Errorf("right after activation: %+v %+v, want pending", s[m], s[f])
	}

	if s[k].Status != oem.StatusRejected || s[k].Reason != "ineligible VIN" {
		t.Errorf("ineligible Kia: %+v, want rejected, ineligible VIN", s[k])
	}

	e.clock.Advance(time.Hour)
	s = status()
	if s[m].Status != oem.StatusActive || !s[m].ChangedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after an hour the Mercedes is %+v, want active since t0+1h", s[m])
	}

	res, err := e.conn.Activate(t.Context(), []oem.VIN{m})
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Status != oem.StatusActive {
		t.Errorf("second activation of an approved VIN: %+v, %v; want active, no error", res, err)
	}

	e.clock.Advance(10 * 24 * time.Hour)
	s = status()
	if s[f].Status != oem.StatusRejected || s[f].Reason != "activation timeout: no data" {
		t.Errorf("after ten days the Ford is %+v, want rejected with its reason", s[f])
	}
}

// The simulator validates the body like High Mobility: a VIN that is not
// 17 characters comes back as an error item in a 200.
func TestSimulatorRejectsShortVIN(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{})
	tok := simToken(t, e)
	body := `{"vehicles":[{"vin":"VIN0123456789012","brand":"bmw"},{"vin":"W1KABCDEFGH000001","brand":"mercedes-benz"}]}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.sim.URL()+"/v1/fleets/vehicles",
		bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)

	resp, err := (&http.Client{Transport: e.rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var got struct {
		Vehicles []struct{ VIN, Status, Description string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}

	if resp.StatusCode != http.StatusOK || len(got.Vehicles) != 2 ||
		got.Vehicles[0].Status != "error" || got.Vehicles[0].Description != "vin should be 17 character(s)" ||
		got.Vehicles[1].Status != "pending" {
		t.Errorf("answer %d %+v", resp.StatusCode, got)
	}
}

// simToken logs in to the simulator directly.
func simToken(t *testing.T, e *env) string {
	t.Helper()

	body := fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`,
		hmtest.FakeClientID, hmtest.FakeClientSecret)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.sim.URL()+"/v1/access_tokens",
		strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")

	resp, err := (&http.Client{Transport: e.rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" || tr.ExpiresIn != 300 {
		t.Fatalf("token answer %+v, %v", tr, err)
	}

	return tr.AccessToken
}
