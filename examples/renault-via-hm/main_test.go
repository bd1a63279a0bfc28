package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

func TestSandbox(t *testing.T) {
	t.Parallel()

	bmw := oem.VIN("WBY8P210064000009").WithCheckDigit()
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"-sandbox", "-poll", "50ms", "-wait", "20s", "-log", "error",
		"VF1AG000064000001,VF1RCB00164000003", "UU1DBA00464000004", string(bmw)},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("run -sandbox: %v\nstderr:\n%s", err, errOut.String())
	}

	got := out.String()
	for _, want := range []string{
		`skip +` + string(bmw) + ` +- +make "BMW" is not served`,
		`activate +VF1AG000064000001 +hm +pending`,
		`activate +VF1RCB00164000003 +hm +pending`,
		`activate +UU1DBA00464000004 +hm +pending`,
		`status +VF1AG000064000001 +hm +active`,
		`status +VF1RCB00164000003 +hm +active`,
		`status +UU1DBA00464000004 +hm +rejected \(driver declined\)`,
		`describe +VF1AG000064000001 +renault +Renault ZOE, version ZE50, type R135, range 395 km, ` +
			`battery 52 kWh, first registration 2021-03-15`,
		`describe +VF1RCB00164000003 +renault +Renault MEGANE E-TECH, version EV60, ` +
			`type 220hp optimum charge, range 470 km`,
		`describe +UU1DBA00464000004 +renault +Dacia Spring, range 230 km, battery 26.8 kWh`,
	} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(got) {
			t.Errorf("output lacks a line matching %q:\n%s", want, got)
		}
	}

	if n := strings.Count(got, "\n"); n != 10 {
		t.Errorf("%d output lines, want 10:\n%s", n, got)
	}

	if strings.Contains(got+errOut.String(), "fake-") {
		t.Errorf("a credential shows in the output:\n%s%s", got, errOut.String())
	}
}

func TestNeedsSettingsOrSandbox(t *testing.T) {
	t.Parallel()

	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"VF1AG000064000001"}, func(string) string { return "" }, &out, &errOut)

	var se *oem.SettingsError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "HM_CLIENT_ID") {
		t.Errorf("run without settings = %v, want a settings error naming HM_CLIENT_ID", err)
	}

	err = run(t.Context(), nil, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no VINs") {
		t.Errorf("run without VINs = %v", err)
	}

	err = run(t.Context(), []string{"VF1AG00006400000O"}, func(string) string { return "" }, &out, &errOut)
	if !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("run with a bad VIN = %v, want ErrInvalidInput", err)
	}

	if out.Len() != 0 {
		t.Errorf("output from failed runs: %s", out.String())
	}
}
