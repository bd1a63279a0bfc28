package oem

import (
	"errors"
	"strings"
	"testing"
)

func TestParseVIN(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    VIN
		wantErr string
	}{
		{"  wba8e9g50gnt12345 ", "WBA8E9G50GNT12345", ""},
		{"WBA8E9G50GNT12345\t", "WBA8E9G50GNT12345", ""},
		{"WBA8E9G50GNT1234", "", "length 16, want 17"},
		{"WBA8E9G50GNT123456", "", "length 18, want 17"},
		{"WBA8E9G50GNTO2345", "", `invalid character 'O' at position 13`},
		{"WBA8E9G50GNT-2345", "", `invalid character '-' at position 13`},
		{"WBA8E9G50GNTI2345", "", "invalid character 'I'"},
		{"WBA8E9G50GNTQ2345", "", "invalid character 'Q'"},
		{"", "", "length 0, want 17"},
		{"WBA8E9G50GNT1234é", "", "length 17"}, // 17 runes but not ASCII
	}

	for _, tt := range tests {
		got, err := ParseVIN(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseVIN(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}

			continue
		}

		var ve *VINError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseVIN(%q) error = %v; want a *VINError", tt.in, err)
			continue
		}

		if tt.wantErr != "length 17" && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseVIN(%q) error = %q; want it to say %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestCheckDigit(t *testing.T) {
	t.Parallel()

	// 1M8GDM9AXKP042788 is the textbook example with check digit X.
	v := MustParseVIN("1M8GDM9AXKP042788")
	if v.CheckDigit() != 'X' || v.CheckDigitError() != nil {
		t.Fatalf("check digit = %c, err %v", v.CheckDigit(), v.CheckDigitError())
	}

	if !v.NorthAmerican() {
		t.Fatal("1M8 is North American")
	}

	bad := MustParseVIN("1M8GDM9A1KP042788")
	if err := bad.CheckDigitError(); err == nil || !strings.Contains(err.Error(), "want 'X'") {
		t.Fatalf("bad check digit error = %v", err)
	}

	eu := MustParseVIN("WBA8E9G50GNT12345").WithCheckDigit()
	if eu.CheckDigitError() != nil || eu.NorthAmerican() {
		t.Fatalf("WithCheckDigit gave %s", eu)
	}
}

func TestWMIMakes(t *testing.T) {
	t.Parallel()

	want := map[string]string{
		"WBA": MakeBMW, "WMW": MakeMini, "5YJ": MakeTesla, "XP7": MakeTesla, "VF1": MakeRenault,
		"UU1": MakeDacia, "VF3": MakePeugeot, "VF7": MakeCitroen, "VR1": MakeDS, "W0L": MakeOpel,
		"SED": MakeVauxhall, "ZFA": MakeFiat, "1C4": MakeJeep, "ZAR": MakeAlfaRomeo, "WF0": MakeFord,
		"W1K": MakeMercedesBenz, "KNA": MakeKia, "YV1": MakeVolvo, "ZZZ": "",
	}

	for wmi, make := range want {
		v := VIN(wmi + "00000000000000")
		if got := v.Make(); got != make {
			t.Errorf("Make(%s) = %q, want %q", wmi, got, make)
		}
	}
}

func TestNormalizeMake(t *testing.T) {
	t.Parallel()

	tests := map[string]string{
		"citroen": MakeCitroen, " CITROËN ": MakeCitroen, "Mercedes": MakeMercedesBenz,
		"mercedes_benz": MakeMercedesBenz, "volvo-cars": MakeVolvo, "bmw": MakeBMW, "TESLA": MakeTesla,
		"alfa  romeo": MakeAlfaRomeo, "Lynk & Co": "Lynk & Co", "": "",
	}

	for in, want := range tests {
		if got := NormalizeMake(in); got != want {
			t.Errorf("NormalizeMake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnerMatches(t *testing.T) {
	t.Parallel()

	tests := []struct {
		filter, owner string
		want          bool
	}{
		{"ayvens", "Ayvens", true},
		{" Ayvens ", "AYVENS", true},
		{"ayvens", "Ayvens NV", false},
		{"", "anyone", true},
		{"ayvens", "", false},
	}

	for _, tt := range tests {
		if got := OwnerMatches(tt.filter, tt.owner); got != tt.want {
			t.Errorf("OwnerMatches(%q, %q) = %v", tt.filter, tt.owner, got)
		}
	}
}
