package oem_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func readFleetFile(t *testing.T, name string) *oem.FleetFile {
	t.Helper()

	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	ff, err := oem.ReadFleetCSV(f)
	if err != nil {
		t.Fatalf("ReadFleetCSV(%s): %v", name, err)
	}

	return ff
}

func linesOf(errs []*oem.RowError) []int {
	var out []int
	for _, e := range errs {
		out = append(out, e.Line)
	}

	return out
}

func TestReadFleetCSVSpreadsheet(t *testing.T) {
	t.Parallel()

	ff := readFleetFile(t, "testdata/fleet_spreadsheet.csv")

	yes, no := true, false
	want := []oem.FleetEntry{
		{VIN: "WBA11111411111111", Owner: "Ayvens", Make: "BMW", Model: "i3", Type: "94",
			Country: "FR", LicencePlate: "AB-123-CD", StartDate: date(2024, 4, 3),
			EndDate: date(2027, 4, 3), WantActive: true, Displayed: true, Line: 2},
		{VIN: "VF1AAAAA400000001", Owner: "ayvens NV", Make: "Renault", Model: "Zoe",
			Type: "R135", Connector: "renault", Country: "FR", LicencePlate: "AB123CD",
			StartDate: date(2024, 4, 3), EndDate: date(2027, 4, 3), WantActive: true,
			Eligible: &yes, Line: 3},
		{VIN: "VR3BBBBB800000002", Owner: "Leasys", Make: "Peugeot", Model: "e-208",
			WantActive: true, Eligible: &yes, Line: 4},
		{VIN: "WMW22222022222224", Owner: "Ayvens", Make: "MINI", Model: "Cooper SE",
			Country: "GB", WantActive: true, Line: 9},
		{VIN: "1FADP3F2300000006", Owner: "Ayvens", Make: "Ford", Model: "Mustang Mach-E",
			Connector: "hm", Country: "US", StartDate: date(2024, 4, 3), Eligible: &no,
			Line: 12},
		{VIN: "WBA77777577777777", Owner: "Ayvens", Make: "BMW", Model: "iX", Country: "DE",
			LicencePlate: "M-AB 123", StartDate: date(2025, 2, 1), WantActive: true,
			Displayed: true, Line: 13},
	}

	if len(ff.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(ff.Entries), len(want), ff.Entries)
	}

	for k, w := range want {
		g := ff.Entries[k]
		if (g.Eligible == nil) != (w.Eligible == nil) ||
			(g.Eligible != nil && *g.Eligible != *w.Eligible) {
			t.Errorf("entry %d (%s): Eligible = %v, want %v", k, g.VIN, g.Eligible, w.Eligible)
		}

		g.Eligible, w.Eligible = nil, nil
		if g != w {
			t.Errorf("entry %d:\n got %+v\nwant %+v", k, g, w)
		}
	}

	// Skipped rows, with their line numbers and why.
	problems := map[int]error{
		5:  oem.ErrInvalidInput, // a dash in the VIN
		6:  oem.ErrInvalidInput, // the letter O for a zero
		7:  oem.ErrDuplicateVIN, // the first row for the VIN wins
		8:  oem.ErrInvalidInput, // bad check digit, North American
		10: oem.ErrInvalidInput, // activation "maybe"
		15: oem.ErrInvalidInput, // 16 characters
	}
	if got := linesOf(ff.Problems); len(got) != len(problems) {
		t.Errorf("problem lines = %v, want %d problems", got, len(problems))
	}

	for _, p := range ff.Problems {
		if w, ok := problems[p.Line]; !ok || !errors.Is(p, w) {
			t.Errorf("problem %v: unexpected, or not %v", p, w)
		}
	}

	for _, p := range ff.Problems {
		switch p.Line {
		case 7:
			if !strings.Contains(p.Error(), "first on line 2") || p.VIN != "WBA11111411111111" {
				t.Errorf("duplicate reported as %q", p)
			}
		case 8:
			if !strings.Contains(p.Error(), "check digit") {
				t.Errorf("North American check digit reported as %q", p)
			}
		case 5:
			if p.VIN != "WBA-11111411111111" {
				t.Errorf("problem VIN = %q, want it as written", p.VIN)
			}
		}
	}

	// Kept rows with a warning: the European bad check digit, an
	// impossible end date.
	if got := linesOf(ff.Warnings); len(got) != 2 || got[0] != 9 || got[1] != 13 {
		t.Errorf("warning lines = %v, want [9 13]: %v", got, ff.Warnings)
	}

	if len(ff.Warnings) == 2 && !strings.Contains(ff.Warnings[1].Error(), "end of contract") {
		t.Errorf("date warning = %q", ff.Warnings[1])
	}
}

func TestReadFleetCSVSemicolons(t *testing.T) {
	t.Parallel()

	ff := readFleetFile(t, "testdata/fleet_semicolon.csv")
	if len(ff.Problems)+len(ff.Warnings) != 0 {
		t.Errorf("problems %v, warnings %v", ff.Problems, ff.Warnings)
	}

	if len(ff.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(ff.Entries))
	}

	a, b := ff.Entries[0], ff.Entries[1]
	if a.Owner != "Ayvens" || a.LicencePlate != "AB-123-CD" || !a.EndDate.Equal(date(2026, 2, 28)) ||
		!a.WantActive || a.Eligible != nil {
		t.Errorf("first entry = %+v", a)
	}

	if b.Owner != "Leasys; Italy" || b.Make != "Dacia" || b.WantActive ||
		!b.EndDate.Equal(date(2026, 2, 28)) || b.Eligible == nil || !*b.Eligible {
		t.Errorf("second entry = %+v", b)
	}
}

func TestReadFleetCSVHeaders(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, header, owner string
	}{
		{"owner", "VIN,Owner,activation", "A"},
		{"ownership with stray spaces", "  vin , OWNERSHIP  ,activation", "A"},
		{"fleet_owner", "vin,Fleet_Owner,activation", "A"},
		{"fleet owner with a space", "vin,fleet owner,activation", "A"},
		{"fleet", "vin,FLEET,activation", "A"},
		{"byte order mark", "\ufeffvin,owner,activation", "A"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			ff, err := oem.ReadFleetCSV(strings.NewReader(tc.header + "\nWBA11111411111111,A,TRUE\n"))
			if err != nil {
				t.Fatal(err)
			}

			if len(ff.Entries) != 1 || ff.Entries[0].Owner != tc.owner ||
				!ff.Entries[0].WantActive {
				t.Errorf("entries = %+v, problems %v", ff.Entries, ff.Problems)
			}
		})
	}

	// With several owner columns, "owner" wins over "fleet".
	ff, err := oem.ReadFleetCSV(strings.NewReader(
		"fleet,vin,owner\nFleet 7,WBA11111411111111,Ayvens\n"))
	if err != nil || len(ff.Entries) != 1 || ff.Entries[0].Owner != "Ayvens" {
		t.Errorf("owner and fleet columns: %+v, %v", ff, err)
	}
}

func TestReadFleetCSVValues(t *testing.T) {
	t.Parallel()

	bools := map[string]bool{"TRUE": true, "True": true, "true": true, "1": true, "yes": true,
		"": false, "FALSE": false, "false": false, "0": false, "no": false}
	for cell, want := range bools {
		ff, err := oem.ReadFleetCSV(strings.NewReader(
			"vin,activation,evalue\nWBA11111411111111," + cell + "," + cell + "\n"))
		if err != nil || len(ff.Entries) != 1 {
			t.Fatalf("%q: %+v, %v", cell, ff, err)
		}

		if e := ff.Entries[0]; e.WantActive != want || e.Displayed != want {
			t.Errorf("boolean %q read as %v/%v, want %v", cell, e.WantActive, e.Displayed, want)
		}
	}

	dates := map[string]time.Time{
		"03/04/2024": date(2024, 4, 3), "03-04-2024": date(2024, 4, 3),
		"03.04.2024": date(2024, 4, 3), "2024-04-03": date(2024, 4, 3),
		"3/4/2024": date(2024, 4, 3), "31/12/2024": date(2024, 12, 31),
		"2024-04-03 10:00:00": date(2024, 4, 3), "03/04/2024 00:00": date(2024, 4, 3),
		"": {},
	}
	for cell, want := range dates {
		ff, err := oem.ReadFleetCSV(strings.NewReader(
			"vin,start date,contract end\nWBA11111411111111," + cell + "," + cell + "\n"))
		if err != nil || len(ff.Entries) != 1 {
			t.Fatalf("%q: %+v, %v", cell, ff, err)
		}

		if e := ff.Entries[0]; !e.StartDate.Equal(want) || !e.EndDate.Equal(want) {
			t.Errorf("date %q read as %s/%s, want %s", cell, e.StartDate, e.EndDate, want)
		}

		if len(ff.Warnings) != 0 {
			t.Errorf("date %q: warnings %v", cell, ff.Warnings)
		}
	}

	for _, bad := range []string{"04/2024", "2024/04/03x", "13/13/2024", "tomorrow"} {
		ff, _ := oem.ReadFleetCSV(strings.NewReader(
			"vin,end date\nWBA11111411111111," + bad + "\n"))
		if len(ff.Entries) != 1 || len(ff.Warnings) != 1 || !ff.Entries[0].EndDate.IsZero() {
			t.Errorf("bad date %q: entries %+v, warnings %v; want the row kept, date unknown,"+
				" one warning", bad, ff.Entries, ff.Warnings)
		}
	}
}

func TestReadFleetCSVUnreadable(t *testing.T) {
	t.Parallel()

	for name, in := range map[string]string{
		"empty":        "",
		"no vin":       "make,owner\nBMW,Ayvens\n",
		"plate as vin": "licence plate,owner\nAB-123-CD,Ayvens\n",
	} {
		if _, err := oem.ReadFleetCSV(strings.NewReader(in)); !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want invalid input", name, err)
		}
	}

	if _, err := oem.ReadFleetCSV(iotestErr{}); err == nil {
		t.Error("a failing reader gave no error")
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// CASES 4: the owner filter is trimmed, case-insensitive and exact.
func TestOwnerFilterOnFleetFile(t *testing.T) {
	t.Parallel()

	ff := readFleetFile(t, "testdata/fleet_spreadsheet.csv")
	var got []string
	for _, e := range ff.Entries {
		if oem.OwnerMatches("  ayvens ", e.Owner) {
			got = append(got, string(e.VIN))
		}
	}

	want := "WBA11111411111111 WMW22222022222224 1FADP3F2300000006 WBA77777577777777"
	if strings.Join(got, " ") != want {
		t.Errorf("owner ayvens selects %v, want %s (not \"ayvens NV\")", got, want)
	}
}

func TestReadFleetCSVConnectorNames(t *testing.T) {
	t.Parallel()

	for cell, want := range map[string]string{"BMW": "bmw", " HM ": "hm",
		"High Mobility": "hm", "high_mobility": "hm", "Stellantis": "stellantis", "": ""} {
		ff, err := oem.ReadFleetCSV(strings.NewReader("vin,oem\nWBA11111411111111," + cell + "\n"))
		if err != nil || len(ff.Entries) != 1 || ff.Entries[0].Connector != want {
			t.Errorf("oem cell %q: %+v, %v; want connector %q", cell, ff, err, want)
		}
	}
}
