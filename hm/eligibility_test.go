package hm_test

import (
	"errors"
	"testing"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

func TestEligibility(t *testing.T) {
	t.Parallel()

	inel := ford(2, "")
	inel.Outcome = simkit.OutcomeIneligible
	tesla := simkit.Spec{VIN: string(testVIN(wmiTesla, 3)), Make: oem.MakeTesla, Model: "Model Y"}
	e := newEnv(t, envOpt{}, mercedes(1, ""), inel, tesla)
	m, f, ts, unknown := testVIN(wmiMercedes, 1), testVIN(wmiFord, 2), testVIN(wmiTesla, 3), testVIN(wmiVolvo, 9)

	var checker oem.EligibilityChecker = e.conn
	res, err := checker.CheckEligibility(t.Context(), []oem.VIN{m, f, ts, unknown, "BAD"})
	if err != nil {
		t.Fatal(err)
	}

	got := map[oem.VIN]oem.Eligibility{}
	for _, r := range res {
		got[r.VIN] = r
	}

	if r := got[m]; r.Err != nil || !r.Eligible || r.Reason != "" {
		t.Errorf("Mercedes: %+v, want eligible", r)
	}

	if r := got[f]; r.Err != nil || r.Eligible || r.Reason != "not eligible: connectivity deactivated, no data delivery, no primary user assigned" {
		t.Errorf("ineligible Ford: %+v", r)
	}

	if r := got[unknown]; r.Err != nil || r.Eligible || r.Reason == "" {
		t.Errorf("unknown Volvo: %+v, want not eligible with a reason", r)
	}

	if r := got[ts]; !errors.Is(r.Err, oem.ErrNotSupported) {
		t.Errorf("Tesla (not in the eligibility API's brands): %+v, want oem.ErrNotSupported", r)
	}

	if r := got["BAD"]; !errors.Is(r.Err, oem.ErrInvalidInput) {
		t.Errorf("bad VIN: %+v, want oem.ErrInvalidInput", r)
	}

	if n := e.count("POST /v1/eligibility"); n != 3 {
		t.Errorf("%d eligibility requests, want 3", n)
	}
}
