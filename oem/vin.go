package oem

import (
	"fmt"
	"strings"
)

// VIN is a normalised vehicle identification number: 17 upper-case
// characters from A–H, J–N, P, R–Z and 0–9. Obtain one from ParseVIN; the
// zero value is the empty VIN and is never valid.
type VIN string

// VINError reports why a string is not a usable VIN. It never carries more of
// the input than the VIN itself.
type VINError struct {
	Input  string // the input after trimming and upper-casing
	Reason string // "length 16, want 17", "invalid character 'O' at 5", ...
}

func (e *VINError) Error() string {
	return fmt.Sprintf("vin %q: %s", e.Input, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidInput) true for every VINError.
func (e *VINError) Is(target error) bool { return target == ErrInvalidInput }

// ParseVIN trims s, upper-cases it and checks it is a well-formed VIN. It
// returns a *VINError for a wrong length or a character outside the VIN
// alphabet (I, O and Q are never allowed). A wrong check digit is not a
// parse error, because the check digit is only mandatory in North America:
// see VIN.CheckDigitError.
func ParseVIN(s string) (VIN, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if n := len([]rune(v)); n != 17 {
		return "", &VINError{Input: v, Reason: fmt.Sprintf("length %d, want 17", n)}
	}

	for i := 0; i < len(v); i++ {
		if vinValue(v[i]) < 0 {
			return "", &VINError{Input: v, Reason: fmt.Sprintf("invalid character %q at position %d", v[i], i+1)}
		}
	}

	return VIN(v), nil
}

// MustParseVIN is ParseVIN for constants in tests and examples; it panics on
// an invalid VIN.
func MustParseVIN(s string) VIN {
	v, err := ParseVIN(s)
	if err != nil {
		panic(err)
	}

	return v
}

func (v VIN) String() string { return string(v) }

// WMI returns the world manufacturer identifier: the first three characters.
func (v VIN) WMI() string {
	if len(v) < 3 {
		return ""
	}

	return string(v[:3])
}

// Make names the make that the VIN's WMI belongs to, or "" when the table
// does not know it. Some WMIs are shared by sister brands (Opel and Vauxhall
// build under the same codes); the table names the one that usually holds
// it, and a fleet entry's own make takes precedence over it.
func (v VIN) Make() string {
	return wmiMakes[v.WMI()]
}

// NorthAmerican reports whether the VIN was issued for North America, where
// the check digit is mandatory.
func (v VIN) NorthAmerican() bool {
	return len(v) > 0 && v[0] >= '1' && v[0] <= '5'
}

// CheckDigit computes the ISO 3779 / FMVSS 115 check digit for the VIN.
func (v VIN) CheckDigit() byte {
	weights := [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i := 0; i < len(v) && i < 17; i++ {
		sum += vinValue(v[i]) * weights[i]
	}

	if r := sum % 11; r < 10 {
		return byte('0' + r)
	}

	return 'X'
}

// CheckDigitError returns a *VINError when the ninth character is not the
// computed check digit, and nil when it is. Outside North America this is a
// warning to report, not a reason to reject the vehicle.
func (v VIN) CheckDigitError() error {
	if len(v) != 17 {
		return &VINError{Input: string(v), Reason: "not a parsed VIN"}
	}

	if want := v.CheckDigit(); v[8] != want {
		return &VINError{Input: string(v), Reason: fmt.Sprintf("check digit %q, want %q", v[8], want)}
	}

	return nil
}

// WithCheckDigit returns v with its ninth character replaced by the computed
// check digit. Simulators and tests use it to build valid VINs.
func (v VIN) WithCheckDigit() VIN {
	if len(v) != 17 {
		return v
	}

	b := []byte(v)
	b[8] = v.CheckDigit()

	return VIN(b)
}

// vinValue is the transliteration of a VIN character, or -1 when the
// character is not allowed in a VIN.
func vinValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 1
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 1
	case c == 'P':
		return 7
	case c == 'R':
		return 9
	case c >= 'S' && c <= 'Z':
		return int(c-'S') + 2
	}

	return -1
}

// Canonical make names, as connectors, the store and the fleet file use them.
const (
	MakeBMW          = "BMW"
	MakeMini         = "MINI"
	MakeTesla        = "Tesla"
	MakeRenault      = "Renault"
	MakeDacia        = "Dacia"
	MakePeugeot      = "Peugeot"
	MakeCitroen      = "Citroën"
	MakeDS           = "DS"
	MakeOpel         = "Opel"
	MakeVauxhall     = "Vauxhall"
	MakeFiat         = "Fiat"
	MakeJeep         = "Jeep"
	MakeAlfaRomeo    = "Alfa Romeo"
	MakeLancia       = "Lancia"
	MakeAbarth       = "Abarth"
	MakeMaserati     = "Maserati"
	MakeFord         = "Ford"
	MakeMercedesBenz = "Mercedes-Benz"
	MakeKia          = "Kia"
	MakeVolvo        = "Volvo"
	MakePolestar     = "Polestar"
	MakeToyota       = "Toyota"
	MakeLexus        = "Lexus"
	MakeVolkswagen   = "Volkswagen"
	MakeAudi         = "Audi"
	MakeSkoda        = "Škoda"
	MakeSeat         = "SEAT"
	MakeCupra        = "Cupra"
	MakePorsche      = "Porsche"
	MakeHyundai      = "Hyundai"
	MakeNissan       = "Nissan"
)

// wmiMakes maps world manufacturer identifiers to canonical makes.
var wmiMakes = map[string]string{
	// BMW group
	"WBA": MakeBMW, "WBS": MakeBMW, "WBY": MakeBMW, "WBX": MakeBMW, "5UX": MakeBMW, "5YM": MakeBMW,
	"4US": MakeBMW, "LBV": MakeBMW, "X4X": MakeBMW,
	"WMW": MakeMini, "WMZ": MakeMini,
	// Tesla
	"5YJ": MakeTesla, "7SA": MakeTesla, "7G2": MakeTesla, "LRW": MakeTesla, "XP7": MakeTesla, "SFZ": MakeTesla,
	// Renault group
	"VF1": MakeRenault, "VF2": MakeRenault, "VF6": MakeRenault, "VF8": MakeRenault, "VNV": MakeRenault,
	"UU1": MakeDacia, "UU2": MakeDacia, "UU3": MakeDacia, "UU5": MakeDacia, "UU6": MakeDacia, "VGA": MakeDacia,
	// Stellantis
	"VF3": MakePeugeot, "VR3": MakePeugeot, "VSA": MakePeugeot,
	"VF7": MakeCitroen, "VR7": MakeCitroen,
	"VR1": MakeDS,
	"W0L": MakeOpel, "W0V": MakeOpel, "VXK": MakeOpel,
	"SED": MakeVauxhall, "VXV": MakeVauxhall,
	"ZFA": MakeFiat, "ZFB": MakeFiat, "ZFC": MakeFiat, "VXF": MakeFiat, "3C3": MakeFiat,
	"ZAC": MakeJeep, "1C4": MakeJeep, "1J4": MakeJeep, "1J8": MakeJeep, "3C4": MakeJeep,
	"ZAR": MakeAlfaRomeo, "ZAS": MakeAlfaRomeo,
	"ZLA": MakeLancia,
	"ZAM": MakeMaserati,
	// Ford
	"WF0": MakeFord, "WF1": MakeFord, "1FA": MakeFord, "1FM": MakeFord, "1FT": MakeFord, "3FA": MakeFord,
	"3FM": MakeFord, "SFA": MakeFord, "NM0": MakeFord, "MAJ": MakeFord,
	// Mercedes-Benz
	"WDB": MakeMercedesBenz, "WDC": MakeMercedesBenz, "WDD": MakeMercedesBenz, "WDF": MakeMercedesBenz,
	"W1K": MakeMercedesBenz, "W1N": MakeMercedesBenz, "W1V": MakeMercedesBenz, "W1T": MakeMercedesBenz,
	"4JG": MakeMercedesBenz, "55S": MakeMercedesBenz,
	// Kia and Hyundai
	"KNA": MakeKia, "KNC": MakeKia, "KND": MakeKia, "KNE": MakeKia, "U5Y": MakeKia, "U6Y": MakeKia, "5XY": MakeKia,
	"KMH": MakeHyundai, "TMA": MakeHyundai, "5NP": MakeHyundai,
	// Volvo and Polestar
	"YV1": MakeVolvo, "YV4": MakeVolvo, "LVY": MakeVolvo, "7JR": MakeVolvo, "7JD": MakeVolvo,
	"LPS": MakePolestar, "YSM": MakePolestar,
	// others High Mobility serves
	"JTD": MakeToyota, "JTE": MakeToyota, "SB1": MakeToyota, "VNK": MakeToyota, "NMT": MakeToyota,
	"JTH": MakeLexus,
	"WVW": MakeVolkswagen, "WVG": MakeVolkswagen, "WV1": MakeVolkswagen, "WV2": MakeVolkswagen,
	"WAU": MakeAudi, "WUA": MakeAudi, "TRU": MakeAudi,
	"TMB": MakeSkoda,
	"VSS": MakeSeat,
	"WP0": MakePorsche, "WP1": MakePorsche,
	"SJN": MakeNissan, "VSK": MakeNissan, "JN1": MakeNissan,
}

// makeAliases maps lower-case spellings seen in fleet files and OEM answers
// to canonical makes.
var makeAliases = map[string]string{
	"citroen": MakeCitroen, "citroën": MakeCitroen, "ds automobiles": MakeDS, "ds": MakeDS,
	"mercedes": MakeMercedesBenz, "mercedes-benz": MakeMercedesBenz, "mercedes benz": MakeMercedesBenz,
	"mercedes_benz": MakeMercedesBenz, "alfa romeo": MakeAlfaRomeo, "alfaromeo": MakeAlfaRomeo,
	"alfa_romeo": MakeAlfaRomeo, "alfa-romeo": MakeAlfaRomeo, "volvo": MakeVolvo, "volvo cars": MakeVolvo,
	"volvo-cars": MakeVolvo, "volvo_cars": MakeVolvo, "vw": MakeVolkswagen, "skoda": MakeSkoda,
	"škoda": MakeSkoda, "mini": MakeMini, "bmw": MakeBMW, "seat": MakeSeat,
}

// NormalizeMake returns the canonical spelling of a make name ("citroen",
// "CITROËN" and "Citroën" all give "Citroën"). A name it does not know comes
// back trimmed, with its case unchanged; an empty name stays empty.
func NormalizeMake(name string) string {
	n := strings.Join(strings.Fields(name), " ")
	if n == "" {
		return ""
	}

	low := strings.ToLower(n)
	if m, ok := makeAliases[low]; ok {
		return m
	}

	for _, m := range wmiMakes {
		if strings.EqualFold(m, n) {
			return m
		}
	}

	return n
}
