package oem

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// FleetFile is a wanted fleet read from a CSV file.
type FleetFile struct {
	// Entries are the usable rows, in file order, one per VIN.
	Entries []FleetEntry
	// Problems are the rows skipped: a malformed VIN, a VIN already seen,
	// a wanted-active cell that is not a boolean, a bad check digit on a
	// North American VIN, a row the CSV reader could not split.
	Problems []*RowError
	// Warnings concern rows that were kept: a bad check digit outside
	// North America, a date or flag that could not be read (left unknown).
	Warnings []*RowError
}

// ErrDuplicateVIN is what a fleet file row repeating an earlier row's VIN
// wraps. errors.Is(err, ErrInvalidInput) holds for it too.
var ErrDuplicateVIN = fmt.Errorf("duplicate VIN in the fleet file: %w", ErrInvalidInput)

// fleetColumn names a field of the fleet file.
type fleetColumn int

const (
	colVIN fleetColumn = iota
	colMake
	colModel
	colType
	colConnector
	colOwner
	colCountry
	colPlate
	colStart
	colEnd
	colActivation
	colDisplayed
	colEligibility
	numColumns
)

// fleetHeaders maps normalised header names to columns. Where a field has
// several names the earlier one in this list wins when a file has both.
var fleetHeaders = []struct {
	name string
	col  fleetColumn
}{
	{"vin", colVIN},
	{"make", colMake}, {"brand", colMake},
	{"model", colModel},
	{"type", colType},
	{"oem", colConnector}, {"connector", colConnector},
	{"owner", colOwner}, {"ownership", colOwner}, {"fleet owner", colOwner}, {"fleet", colOwner},
	{"country", colCountry},
	{"licence plate", colPlate}, {"license plate", colPlate}, {"plate", colPlate},
	{"start date", colStart},
	{"end of contract", colEnd}, {"end date", colEnd}, {"contract end", colEnd},
	{"activation", colActivation},
	{"evalue", colDisplayed},
	{"eligibility", colEligibility},
}

// normalizeHeader lower-cases a header and turns underscores, dashes and
// runs of spaces into one space: " Fleet_Owner " is "fleet owner".
func normalizeHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	h = strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(h))

	return normalizeSpace(h)
}

// ReadFleetCSV reads a wanted fleet in the layout of the old spreadsheet:
// columns vin, make, model, type, oem (connector name), owner (or
// ownership, fleet_owner, fleet), country, licence plate (or license plate,
// plate), start date, end of contract (or end date, contract end),
// activation (wanted active), EValue (displayed) and eligibility. Headers
// may be in any case with stray spaces; other columns are ignored. The
// delimiter is a comma, or a semicolon or tab when the header line has more
// of those.
//
// Cells are tidied: VINs trimmed and upper-cased, then checked; makes
// normalised; licence plates trimmed and upper-cased, dashes kept. Booleans
// are TRUE/True/true/1/yes (and no, 0, false); an empty activation or EValue
// cell is false, an empty eligibility cell unknown. Dates are day first
// (03/04/2024, 03-04-2024 and 03.04.2024 are 3 April 2024) or ISO
// (2024-04-03). The first row for a VIN wins; later ones are Problems.
//
// ReadFleetCSV fails only when r cannot be read or has no vin column; every
// row-level issue is a Problem or a Warning with its line number.
func ReadFleetCSV(r io.Reader) (*FleetFile, error) {
	br := bufio.NewReader(r)
	delim, err := sniffDelimiter(br)
	if err != nil {
		return nil, err
	}

	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true

	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("oem: fleet file is empty: %w", ErrInvalidInput)
		}

		return nil, fmt.Errorf("oem: read fleet file header: %w", err)
	}

	cols := mapColumns(header)
	if cols[colVIN] < 0 {
		return nil, fmt.Errorf("oem: fleet file has no vin column (header: %q): %w",
			strings.Join(header, string(delim)), ErrInvalidInput)
	}

	ff := &FleetFile{}
	firstLine := make(map[VIN]int)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				ff.Problems = append(ff.Problems, &RowError{Line: pe.StartLine, Err: pe.Err})
				continue
			}

			return nil, fmt.Errorf("oem: read fleet file: %w", err)
		}

		line, _ := cr.FieldPos(0)
		row := fleetRow{cols: cols, rec: rec, line: line}
		if row.blank() {
			continue
		}

		e, problem, warns := row.entry()
		ff.Warnings = append(ff.Warnings, warns...)
		if problem != nil {
			ff.Problems = append(ff.Problems, problem)
			continue
		}

		if first, dup := firstLine[e.VIN]; dup {
			ff.Problems = append(ff.Problems, &RowError{Line: line, VIN: string(e.VIN),
				Err: fmt.Errorf("%w: first on line %d, which wins", ErrDuplicateVIN, first)})
			continue
		}

		firstLine[e.VIN] = line
		ff.Entries = append(ff.Entries, e)
	}

	return ff, nil
}

// sniffDelimiter looks at the header line and picks the delimiter that
// occurs most outside quotes: comma, semicolon or tab.
func sniffDelimiter(br *bufio.Reader) (rune, error) {
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, fmt.Errorf("oem: read fleet file: %w", err)
	}

	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}

	counts := map[rune]int{}
	quoted := false
	for _, c := range string(head) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}

	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}

	return best, nil
}

// mapColumns finds each field's column index, -1 when absent.
func mapColumns(header []string) [numColumns]int {
	var cols [numColumns]int
	rank := [numColumns]int{}
	for c := range cols {
		cols[c], rank[c] = -1, len(fleetHeaders)
	}

	for idx, h := range header {
		name := normalizeHeader(h)
		for r, fh := range fleetHeaders {
			if fh.name == name && r < rank[fh.col] {
				cols[fh.col], rank[fh.col] = idx, r
			}
		}
	}

	return cols
}

// fleetRow is one record of the fleet file.
type fleetRow struct {
	cols [numColumns]int
	rec  []string
	line int
}

func (r fleetRow) cell(c fleetColumn) string {
	i := r.cols[c]
	if i < 0 || i >= len(r.rec) {
		return ""
	}

	return normalizeSpace(r.rec[i])
}

func (r fleetRow) blank() bool {
	for _, c := range r.rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}

	return true
}

// entry turns the row into an entry. A non-nil problem means the row is
// skipped; warnings concern a row that is kept.
func (r fleetRow) entry() (e FleetEntry, problem *RowError, warns []*RowError) {
	raw := r.cell(colVIN)
	rowErr := func(err error) *RowError { return &RowError{Line: r.line, VIN: raw, Err: err} }

	vin, err := ParseVIN(raw)
	if err != nil {
		return e, rowErr(err), nil
	}

	if cd := vin.CheckDigitError(); cd != nil {
		if vin.NorthAmerican() {
			return e, rowErr(fmt.Errorf("%w (mandatory for North American VINs)", cd)), nil
		}

		warns = append(warns, rowErr(cd))
	}

	want, err := parseBool(r.cell(colActivation))
	if err != nil {
		return e, rowErr(fmt.Errorf("activation: %w", err)), warns
	}

	e = FleetEntry{
		VIN:          vin,
		Owner:        r.cell(colOwner),
		Make:         NormalizeMake(r.cell(colMake)),
		Model:        r.cell(colModel),
		Type:         r.cell(colType),
		Connector:    normalizeConnector(r.cell(colConnector)),
		LicencePlate: strings.ToUpper(r.cell(colPlate)),
		Country:      normalizeCountry(r.cell(colCountry)),
		WantActive:   want,
		Line:         r.line,
	}

	if d, err := parseBool(r.cell(colDisplayed)); err != nil {
		warns = append(warns, rowErr(fmt.Errorf("EValue: %w; taken as false", err)))
	} else {
		e.Displayed = d
	}

	if s := r.cell(colEligibility); s != "" {
		if el, err := parseBool(s); err != nil {
			warns = append(warns, rowErr(fmt.Errorf("eligibility: %w; left unknown", err)))
		} else {
			e.Eligible = &el
		}
	}

	for _, d := range []struct {
		col  fleetColumn
		name string
		dst  *time.Time
	}{{colStart, "start date", &e.StartDate}, {colEnd, "end of contract", &e.EndDate}} {
		t, err := parseFleetDate(r.cell(d.col))
		if err != nil {
			warns = append(warns, rowErr(fmt.Errorf("%s: %w; left unknown", d.name, err)))
			continue
		}

		*d.dst = t
	}

	return e, nil, warns
}

// parseBool reads a spreadsheet boolean; empty is false.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no", "n", "non", "faux":
		return false, nil
	case "true", "1", "yes", "y", "oui", "vrai":
		return true, nil
	}

	return false, fmt.Errorf("%q is not a boolean (use TRUE or FALSE): %w", s, ErrInvalidInput)
}

// parseFleetDate reads a day-first date (02/01/2006, with '/', '-' or '.'
// and one- or two-digit day and month) or an ISO date, optionally followed
// by a time. Empty gives the zero time.
func parseFleetDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}

	if len(s) >= 10 && s[4] == '-' {
		if t, err := time.Parse(time.DateOnly, s[:10]); err == nil {
			return t, nil
		}
	}

	day := s
	if i := strings.IndexAny(s, " T"); i > 0 {
		day = s[:i]
	}

	norm := strings.NewReplacer("-", "/", ".", "/").Replace(day)
	if t, err := time.Parse("2/1/2006", norm); err == nil {
		return t, nil
	}

	return time.Time{}, fmt.Errorf("date %q is neither day first (03/04/2024) nor ISO "+
		"(2024-04-03): %w", s, ErrInvalidInput)
}

// countryCodes maps country names seen in fleet files to ISO 3166 alpha-2.
var countryCodes = map[string]string{
	"france": "FR", "belgium": "BE", "belgique": "BE", "belgië": "BE", "netherlands": "NL",
	"the netherlands": "NL", "nederland": "NL", "germany": "DE", "deutschland": "DE",
	"allemagne": "DE", "spain": "ES", "españa": "ES", "espagne": "ES", "italy": "IT",
	"italia": "IT", "italie": "IT", "portugal": "PT", "luxembourg": "LU",
	"united kingdom": "GB", "uk": "GB", "great britain": "GB", "royaume-uni": "GB",
	"switzerland": "CH", "suisse": "CH", "austria": "AT", "poland": "PL", "ireland": "IE",
	"denmark": "DK", "sweden": "SE", "norway": "NO", "finland": "FI",
}

// normalizeCountry gives an ISO 3166 alpha-2 code for a two-letter code or a
// known country name, and the name as written otherwise.
func normalizeCountry(s string) string {
	if strings.EqualFold(s, "uk") {
		return "GB"
	}

	if len(s) == 2 {
		return strings.ToUpper(s)
	}

	if c, ok := countryCodes[strings.ToLower(s)]; ok {
		return c
	}

	return s
}

// connectorAliases maps spellings of connector names seen in the old
// spreadsheet's oem column to registered names.
var connectorAliases = map[string]string{
	"high mobility": ConnectorHM, "highmobility": ConnectorHM, "high_mobility": ConnectorHM,
	"high-mobility": ConnectorHM,
}

// normalizeConnector lower-cases a connector name and resolves aliases.
func normalizeConnector(s string) string {
	s = strings.ToLower(s)
	if c, ok := connectorAliases[s]; ok {
		return c
	}

	return s
}
