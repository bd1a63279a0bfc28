package oem_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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

// Well-formed VINs with right check digits, for the tests below.
const (
	csvVIN1 = "WBA11111411111111"
	csvVIN2 = "VF1AAAAA400000001"
	csvVIN3 = "VR3BBBBB800000002"
	csvVIN4 = "WBA77777577777777"
)

// fleetWant is what a test expects of a fleet file: the entries (line, VIN,
// owner) and the lines of the problems and warnings, in order.
type fleetWant struct {
	entries            []fleetWantEntry
	problems, warnings []int
}

type fleetWantEntry struct {
	line       int
	vin, owner string
}

func checkFleet(t *testing.T, ff *oem.FleetFile, w fleetWant) {
	t.Helper()

	var got []fleetWantEntry
	for _, e := range ff.Entries {
		got = append(got, fleetWantEntry{e.Line, string(e.VIN), e.Owner})
		for _, s := range []string{e.Owner, e.Model, e.LicencePlate, e.Country} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Errorf("line %d: cell %q is not clean UTF-8", e.Line, s)
			}
		}
	}

	if len(got) != len(w.entries) {
		t.Errorf("entries = %+v\nwant      %+v\nproblems: %v", got, w.entries, ff.Problems)
	} else {
		for k := range got {
			if got[k] != w.entries[k] {
				t.Errorf("entry %d = %+v, want %+v", k, got[k], w.entries[k])
			}
		}
	}

	if g := linesOf(ff.Problems); !equalInts(g, w.problems) {
		t.Errorf("problem lines = %v, want %v: %v", g, w.problems, ff.Problems)
	}

	if g := linesOf(ff.Warnings); !equalInts(g, w.warnings) {
		t.Errorf("warning lines = %v, want %v: %v", g, w.warnings, ff.Warnings)
	}

	for _, p := range ff.Problems {
		if !errors.Is(p, oem.ErrInvalidInput) {
			t.Errorf("problem %v is not invalid input", p)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}

	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}

	return true
}

func readFleetString(t *testing.T, in string) *oem.FleetFile {
	t.Helper()

	ff, err := oem.ReadFleetCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ReadFleetCSV(%q): %v", in, err)
	}

	return ff
}

// A broken quote costs its own row, reported with its line, and no other.
func TestReadFleetCSVBrokenQuotes(t *testing.T) {
	t.Parallel()

	const head = "vin,owner,activation\n"
	tail := csvVIN2 + ",B,true\n" + csvVIN3 + ",C,true\n"
	blanks := strings.Repeat(",,\n", 11)
	tests := []struct {
		name, in string
		want     fleetWant
		msg      string // in the first problem or warning
	}{
		{"quote never closed", head + csvVIN1 + ",\"Ayvens,true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{3, csvVIN2, "B"}, {4, csvVIN3, "C"}},
				problems: []int{2}}, "opens cell 2 is not closed"},
		{"text after the closing quote", head + csvVIN1 + ",\"Ayvens\" NV,true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{3, csvVIN2, "B"}, {4, csvVIN3, "C"}},
				problems: []int{2}}, "cell 2 goes on after its closing quote"},
		{"quote never closed on the last row", head + tail + csvVIN1 + ",\"Ayvens,true\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN2, "B"}, {3, csvVIN3, "C"}},
				problems: []int{4}}, "not closed"},
		{"quote never closed and the row after it opens one", head + csvVIN1 +
			",\"Ayvens,true\n" + csvVIN2 + ",\"B\nand C\",true\n" + csvVIN3 + ",C,true\n",
			fleetWant{entries: []fleetWantEntry{{3, csvVIN2, "B and C"}, {5, csvVIN3, "C"}},
				problems: []int{2}}, "not closed"},
		{"quote closed beyond ten lines", head + csvVIN1 + ",\"Ayvens,true\n" + blanks +
			"NV\",true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{15, csvVIN2, "B"}, {16, csvVIN3, "C"}},
				problems: []int{2, 14}}, "not closed"},
		{"quote inside a cell taken as a character", head + csvVIN1 + ",O\"Brien,true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, `O"Brien`}, {3, csvVIN2, "B"},
				{4, csvVIN3, "C"}}, warnings: []int{2}}, "kept as a character"},
		{"space before a quoted cell", head + csvVIN1 + ", \"Ayvens, NV\",true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Ayvens, NV"}, {3, csvVIN2, "B"},
				{4, csvVIN3, "C"}}}, ""},
		{"doubled quotes", head + csvVIN1 + ",\"Ayvens \"\"NV\"\"\",true\n" + tail,
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, `Ayvens "NV"`}, {3, csvVIN2, "B"},
				{4, csvVIN3, "C"}}}, ""},
		{"tabs with empty cells", "vin\towner\tactivation\n" + csvVIN1 + "\t\ttrue\n" +
			csvVIN2 + "\t \"B\"\t\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, ""}, {3, csvVIN2, `"B"`}},
				warnings: []int{3}}, "kept as a character"},
		{"header cell on two lines", "vin,\"fleet\nowner\",activation\n" + csvVIN1 + ",A,true\n",
			fleetWant{entries: []fleetWantEntry{{3, csvVIN1, "A"}}}, ""},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			ff := readFleetString(t, tc.in)
			checkFleet(t, ff, tc.want)
			if tc.msg == "" {
				return
			}

			first := append(append([]*oem.RowError{}, ff.Problems...), ff.Warnings...)
			if len(first) == 0 || !strings.Contains(first[0].Error(), tc.msg) {
				t.Errorf("first report %v, want it to say %q", first, tc.msg)
			}
		})
	}

	// The row that cannot be split is reported with its VIN as written.
	ff := readFleetString(t, head+" wba11111411111111 ,\"Ayvens,true\n")
	if len(ff.Problems) != 1 || ff.Problems[0].VIN != "wba11111411111111" {
		t.Errorf("problems = %v, want one naming the VIN", ff.Problems)
	}

	// Rows after a broken quote are active as written: the broken one
	// does not take their activation cells.
	ff = readFleetString(t, head+csvVIN1+",\"Ayvens,true\n"+csvVIN2+",B,FALSE\n")
	if len(ff.Entries) != 1 || ff.Entries[0].WantActive {
		t.Errorf("entries = %+v", ff.Entries)
	}

	if _, err := oem.ReadFleetCSV(strings.NewReader("vin,\"owner\n" + blanks)); !errors.Is(err,
		oem.ErrInvalidInput) || !strings.Contains(err.Error(), "header (line 1)") {
		t.Errorf("header with a quote never closed: %v", err)
	}
}

// Quoted cells may hold line breaks; the rows after them keep their line
// numbers, whatever the line ends.
func TestReadFleetCSVMultilineCells(t *testing.T) {
	t.Parallel()

	rows := []string{
		"vin,owner,activation,notes",
		csvVIN1 + ",A,TRUE,\"two\nlines\"",
		csvVIN2 + ",B,TRUE,\"three\n\nlines, one blank\"",
		csvVIN3 + ",C,,\"a line that is\nWBA-not a VIN, really\"",
		csvVIN4 + ",\"D\nand E\",TRUE,plain",
	}
	want := fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "A"}, {4, csvVIN2, "B"},
		{7, csvVIN3, "C"}, {9, csvVIN4, "D and E"}}}

	for name, ends := range map[string][2]string{
		"LF": {"\n", "\n"}, "CRLF between rows": {"\r\n", "\n"}, "CRLF": {"\r\n", "\r\n"},
		"CR": {"\r", "\r"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			var b strings.Builder
			for _, r := range rows {
				b.WriteString(strings.ReplaceAll(r, "\n", ends[1]) + ends[0])
			}

			ff := readFleetString(t, b.String())
			checkFleet(t, ff, want)
			if len(ff.Entries) == 4 && (!ff.Entries[0].WantActive || ff.Entries[2].WantActive) {
				t.Errorf("activation cells misread: %+v", ff.Entries)
			}
		})
	}
}

// CASES 3: Excel for Mac's "CSV (Macintosh)" ends lines in a lone CR.
func TestReadFleetCSVCarriageReturns(t *testing.T) {
	t.Parallel()

	ff := readFleetString(t, "vin,owner,activation\r"+csvVIN1+",A,TRUE\r\r"+csvVIN2+",B,")
	checkFleet(t, ff, fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "A"}, {4, csvVIN2, "B"}}})

	// Not UTF-8 and CR line ends: Mac Roman, where é is 0x8E.
	ff = readFleetString(t, "vin,owner\r"+csvVIN1+",Soci\x8et\x8e G\x8en\x8erale\r")
	checkFleet(t, ff, fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société Générale"}},
		warnings: []int{0}})
	if len(ff.Warnings) == 1 && !strings.Contains(ff.Warnings[0].Error(), "Mac Roman") {
		t.Errorf("warning = %v, want it to name Mac Roman", ff.Warnings[0])
	}
}

// CASES 3: Excel's "sep=" first line names the delimiter.
func TestReadFleetCSVSepLine(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		in, owner string
	}{
		"semicolon":             {"sep=;\nvin;owner;activation\n" + csvVIN1 + ";A,B;TRUE\n", "A,B"},
		"comma against a sniff": {"sep=,\nvin,x;y;z;w,owner\n" + csvVIN1 + ",;;;,A\n", "A"},
		"BOM, upper case, CRLF": {"\ufeffSEP=;\r\nvin;owner\r\n" + csvVIN1 + ";A\r\n", "A"},
		"quoted":                {"\"sep=;\"\nvin;owner\n" + csvVIN1 + ";A\n", "A"},
		"padded":                {"sep=;;;\nvin;owner;x;y\n" + csvVIN1 + ";A;;\n", "A"},
		"tab":                   {"sep=\t\nvin\towner\n" + csvVIN1 + "\tA, B\n", "A, B"},
		"pipe":                  {"sep=|\nvin|owner\n" + csvVIN1 + "|A;B\n", "A;B"},
		"not a usable one":      {"sep=\"\nvin,owner\n" + csvVIN1 + ",A\n", "A"},
	}

	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			ff := readFleetString(t, tc.in)
			line := 3
			checkFleet(t, ff, fleetWant{entries: []fleetWantEntry{{line, csvVIN1, tc.owner}}})
		})
	}

	if _, err := oem.ReadFleetCSV(strings.NewReader("sep=;\r\n")); !errors.Is(err,
		oem.ErrInvalidInput) || !strings.Contains(err.Error(), "empty") {
		t.Errorf("a sep line alone: %v, want an empty file", err)
	}
}

// CASES 3: files that are not UTF-8 are read in the encoding they are in;
// what reaches the store is always clean UTF-8.
func TestReadFleetCSVEncodings(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want fleetWant
		msg  string // in the first warning
	}{
		{"Windows-1252", "vin,owner,activation\r\n" + csvVIN1 + ",Soci\xe9t\xe9 G\xe9n\xe9rale," +
			"TRUE\r\n" + csvVIN2 + ",\x80 fleet,TRUE\r\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société Générale"},
				{3, csvVIN2, "€ fleet"}}, warnings: []int{0}},
			"not UTF-8 (first on line 2); it was read as Windows-1252"},
		{"Windows-1252 from line 3", "vin,owner\n" + csvVIN1 + ",A\n" + csvVIN2 + ",M\xfcller\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "A"}, {3, csvVIN2, "Müller"}},
				warnings: []int{0}}, "first on line 3"},
		{"partly UTF-8", "vin,owner\n" + csvVIN1 + ",Société\n" + csvVIN2 + ",Soci\xe9t\xe9\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société"}, {3, csvVIN2, "Société"}},
				warnings: []int{0}}, "partly UTF-8"},
		{"UTF-8 with a BOM and a quoted header", "\ufeff\"vin\",\"owner\"\n" + csvVIN1 + ",Société\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société"}}}, ""},
		{"UTF-16LE", utf16Bytes("\ufeffvin;owner\r\n"+csvVIN1+";Société\r\n", false),
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société"}}}, ""},
		{"UTF-16BE", utf16Bytes("\ufeffvin\towner\r\n"+csvVIN1+"\tSociété\r\n", true),
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société"}}}, ""},
		{"UTF-16LE without a BOM", utf16Bytes("vin,owner\n"+csvVIN1+",Société\n", false),
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Société"}}, warnings: []int{0}},
			"looks like UTF-16"},
		{"NUL bytes", "vin,owner,notes\n" + csvVIN1 + "\x00,Ayv\x00ens,\"a\n\x00b\"\n" +
			csvVIN2 + ",B\n\x00\n" + csvVIN3 + ",C\n",
			fleetWant{entries: []fleetWantEntry{{2, csvVIN1, "Ayvens"}, {4, csvVIN2, "B"},
				{6, csvVIN3, "C"}}, warnings: []int{2, 3, 5}}, "NUL bytes removed"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			ff := readFleetString(t, tc.in)
			checkFleet(t, ff, tc.want)
			if tc.msg != "" && (len(ff.Warnings) == 0 ||
				!strings.Contains(ff.Warnings[0].Error(), tc.msg)) {
				t.Errorf("warnings %v, want the first to say %q", ff.Warnings, tc.msg)
			}
		})
	}

	for name, in := range map[string]string{
		"xlsx": "PK\x03\x04\x14\x00\x06\x00", "xls": "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
	} {
		_, err := oem.ReadFleetCSV(strings.NewReader(in))
		if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), "Excel workbook") {
			t.Errorf("%s: err = %v, want an Excel workbook named", name, err)
		}
	}
}

// utf16Bytes encodes s as UTF-16, little or big endian.
func utf16Bytes(s string, bigEndian bool) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}

	return string(b)
}

// An Excel export on Windows in French: sep line, CRLF, Windows-1252, a
// notes cell on two lines, two rows with broken quotes.
func TestReadFleetCSVExcelWindows1252(t *testing.T) {
	t.Parallel()

	ff := readFleetFile(t, "testdata/fleet_excel_windows1252.csv")
	checkFleet(t, ff, fleetWant{entries: []fleetWantEntry{
		{3, "WBA11111411111111", "Société Générale"},
		{6, "VR3BBBBB800000002", "Crédit Agricole Leasing"},
		{8, "1FADP3F2300000006", "Arval"},
	}, problems: []int{5, 7}, warnings: []int{0}})

	if len(ff.Entries) == 3 {
		if e := ff.Entries[0]; !e.WantActive || e.LicencePlate != "AB-123-CD" {
			t.Errorf("first entry = %+v", e)
		}

		if ff.Entries[2].WantActive {
			t.Errorf("last entry = %+v, want not active", ff.Entries[2])
		}
	}

	if len(ff.Problems) == 2 && (ff.Problems[0].VIN != "VF1AAAAA400000001" ||
		ff.Problems[1].VIN != "WBA77777577777777") {
		t.Errorf("problems = %v", ff.Problems)
	}
}
