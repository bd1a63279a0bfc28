package oem

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
)

// FleetFile is a wanted fleet read from a CSV file.
type FleetFile struct {
	// Entries are the usable rows, in file order, one per VIN.
	Entries []FleetEntry
	// Problems are the rows skipped: a malformed VIN, a VIN already seen,
	// a wanted-active cell that is not a boolean, a bad check digit on a
	// North American VIN, a row that could not be split (a quote not
	// closed, text after a closing quote).
	Problems []*RowError
	// Warnings concern rows that were kept: a bad check digit outside
	// North America, a date or flag that could not be read (left unknown),
	// NUL bytes removed, a quote taken as a character. A warning on line 0
	// concerns the whole file: its encoding had to be guessed.
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
// delimiter is the one an Excel "sep=;" first line names; without that line
// it is a comma, or a semicolon or tab when the header line has more of
// those.
//
// The file may be UTF-8 (with or without a byte order mark) or UTF-16 with a
// byte order mark. Bytes that are not UTF-8 are read as Windows-1252 (Excel's
// "CSV" export; Mac Roman when lines end in a lone CR, Excel's "CSV
// (Macintosh)"), with one warning on line 0. NUL bytes are removed, with a
// warning naming the line. Lines may end in LF, CRLF or a lone CR.
//
// Quoting is strict. A quoted cell may span lines (a notes column), up to
// ten lines and not past a line that reads as a row with a well-formed VIN
// of its own; a quote that is not closed within that is a Problem on the
// line where it opened, and the next line is read as the next row. A cell
// that closes its quote and goes on ("Ayvens" NV) is a Problem; a quote
// inside a cell that does not start with one (12" wheels) is kept as a
// character, with a Warning.
//
// Cells are tidied: VINs trimmed and upper-cased, then checked; makes
// normalised; licence plates trimmed and upper-cased, dashes kept. Booleans
// are TRUE/True/true/1/yes (and no, 0, false); an empty activation or EValue
// cell is false, an empty eligibility cell unknown. Dates are day first
// (03/04/2024, 03-04-2024 and 03.04.2024 are 3 April 2024) or ISO
// (2024-04-03). The first row for a VIN wins; later ones are Problems.
//
// ReadFleetCSV fails only when r cannot be read, is not text (an Excel
// workbook rather than a CSV export) or has no vin column; every row-level
// issue is a Problem or a Warning with its line number.
func ReadFleetCSV(r io.Reader) (*FleetFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("oem: read fleet file: %w", err)
	}

	text, warn, err := decodeFleetFile(data)
	if err != nil {
		return nil, err
	}

	ff := &FleetFile{}
	if warn != nil {
		ff.Warnings = append(ff.Warnings, warn)
	}

	src := splitFleetLines(text)
	header, p, i, err := src.header(ff)
	if err != nil {
		return nil, err
	}

	cols := mapColumns(header.fields)
	if cols[colVIN] < 0 {
		return nil, fmt.Errorf("oem: fleet file has no vin column (header: %q): %w",
			strings.Join(header.fields, string(p.delim)), ErrInvalidInput)
	}

	startsRow := p.startsRow(cols[colVIN])
	firstLine := make(map[VIN]int)
	for i < len(src.lines) {
		if strings.TrimSpace(src.lines[i]) == "" {
			i++
			ff.Warnings = src.nulWarnings(ff.Warnings, i)

			continue
		}

		rr := p.record(src.lines, i, startsRow)
		i = rr.next
		ff.Warnings = src.nulWarnings(ff.Warnings, i)
		if rr.err != nil {
			ff.Problems = append(ff.Problems, &RowError{Line: rr.line,
				VIN: p.vinCell(src.lines[rr.line-1], cols[colVIN]), Err: rr.err})
			continue
		}

		row := fleetRow{cols: cols, rec: rr.fields, line: rr.line}
		if row.blank() {
			continue
		}

		e, problem, warns := row.entry()
		if rr.warn != nil && problem == nil {
			ff.Warnings = append(ff.Warnings,
				&RowError{Line: rr.line, VIN: row.cell(colVIN), Err: rr.warn})
		}

		ff.Warnings = append(ff.Warnings, warns...)
		if problem != nil {
			ff.Problems = append(ff.Problems, problem)
			continue
		}

		if first, dup := firstLine[e.VIN]; dup {
			ff.Problems = append(ff.Problems, &RowError{Line: rr.line, VIN: string(e.VIN),
				Err: fmt.Errorf("%w: first on line %d, which wins", ErrDuplicateVIN, first)})
			continue
		}

		firstLine[e.VIN] = rr.line
		ff.Entries = append(ff.Entries, e)
	}

	return ff, nil
}

// maxRecordLines is how many physical lines one record may span: a quoted
// cell with line breaks in it (a notes column) may not be longer.
const maxRecordLines = 10

// decodeFleetFile turns the bytes of a fleet file into text. It returns a
// warning when it had to guess the encoding, and an error when the bytes are
// not a text file at all.
func decodeFleetFile(data []byte) (string, *RowError, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")),
		bytes.HasPrefix(data, []byte{0xd0, 0xcf, 0x11, 0xe0}):
		return "", nil, fmt.Errorf("oem: the fleet file is an Excel workbook, not CSV "+
			"(save it as CSV UTF-8): %w", ErrInvalidInput)
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		text, err := decodeUTF16(data, xunicode.LittleEndian, xunicode.ExpectBOM)
		return text, nil, err
	case len(data) >= 4 && data[0] != 0 && data[0] < utf8.RuneSelf && data[1] == 0 &&
		data[2] != 0 && data[2] < utf8.RuneSelf && data[3] == 0:
		text, err := decodeUTF16(data, xunicode.LittleEndian, xunicode.IgnoreBOM)
		return text, &RowError{Err: errors.New("the file has no byte order mark but " +
			"looks like UTF-16 (little endian), and was read as such")}, err
	case len(data) >= 4 && data[0] == 0 && data[1] != 0 && data[1] < utf8.RuneSelf &&
		data[2] == 0 && data[3] != 0 && data[3] < utf8.RuneSelf:
		text, err := decodeUTF16(data, xunicode.BigEndian, xunicode.IgnoreBOM)
		return text, &RowError{Err: errors.New("the file has no byte order mark but " +
			"looks like UTF-16 (big endian), and was read as such")}, err
	}

	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if utf8.Valid(data) {
		return string(data), nil, nil
	}

	// Excel for Mac's "CSV (Macintosh)" ends lines in a lone CR and is Mac
	// Roman; every other spreadsheet export that is not UTF-8 is Windows-1252
	// (of which Latin-1 is nearly a subset).
	cm, name := charmap.Windows1252, "Windows-1252"
	if bytes.IndexByte(data, '\r') >= 0 && bytes.IndexByte(data, '\n') < 0 {
		cm, name = charmap.Macintosh, "Mac Roman"
	}

	var b strings.Builder
	b.Grow(len(data) + len(data)/8)
	firstBad, utf8Seen := -1, false
	for k := 0; k < len(data); {
		c, size := utf8.DecodeRune(data[k:])
		switch {
		case c == utf8.RuneError && size == 1:
			if firstBad < 0 {
				firstBad = k
			}

			c = cm.DecodeByte(data[k])
		case size > 1:
			utf8Seen = true
		}

		b.WriteRune(c)
		k += size
	}

	line := 1 + countLineEnds(data[:firstBad])
	msg := fmt.Sprintf("the file is not UTF-8 (first on line %d); it was read as %s, "+
		"the encoding of a spreadsheet's plain CSV export (save as CSV UTF-8 to avoid "+
		"the guess)", line, name)
	if utf8Seen {
		msg = fmt.Sprintf("the file is partly UTF-8 and partly not (first on line %d); "+
			"the bytes that are not UTF-8 were read as %s", line, name)
	}

	return b.String(), &RowError{Err: errors.New(msg)}, nil
}

// decodeUTF16 decodes a UTF-16 file to UTF-8, dropping its byte order mark.
func decodeUTF16(data []byte, e xunicode.Endianness, bom xunicode.BOMPolicy) (string, error) {
	out, err := xunicode.UTF16(e, bom).NewDecoder().Bytes(data)
	if err != nil {
		return "", fmt.Errorf("oem: read the fleet file as UTF-16: %w: %w", err, ErrInvalidInput)
	}

	return strings.TrimPrefix(string(out), "\ufeff"), nil
}

// countLineEnds counts the line ends in b: LF, CRLF or a lone CR.
func countLineEnds(b []byte) int {
	n := 0
	for k, c := range b {
		if c == '\n' || (c == '\r' && (k+1 == len(b) || b[k+1] != '\n')) {
			n++
		}
	}

	return n
}

// fleetLines are the physical lines of a fleet file, NUL bytes removed.
type fleetLines struct {
	lines []string
	nul   []int // indexes of the lines that had NUL bytes, ascending
	// nulDone is how many of nul have been reported.
	nulDone int
}

// splitFleetLines splits text at LF, CRLF and lone CR.
func splitFleetLines(text string) *fleetLines {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	src := &fleetLines{}
	if text == "" {
		return src
	}

	src.lines = strings.Split(text, "\n")
	for k, l := range src.lines {
		if strings.IndexByte(l, 0) >= 0 {
			src.lines[k] = strings.ReplaceAll(l, "\x00", "")
			src.nul = append(src.nul, k)
		}
	}

	return src
}

// nulWarnings appends to warns a warning for each line before index upTo
// that had NUL bytes and has not been reported yet.
func (src *fleetLines) nulWarnings(warns []*RowError, upTo int) []*RowError {
	for ; src.nulDone < len(src.nul) && src.nul[src.nulDone] < upTo; src.nulDone++ {
		warns = append(warns, &RowError{Line: src.nul[src.nulDone] + 1,
			Err: errors.New("NUL bytes removed from the line")})
	}

	return warns
}

// header finds the delimiter and reads the header record. It returns the
// index of the line after the header.
func (src *fleetLines) header(ff *FleetFile) (rawRecord, recordParser, int, error) {
	i := 0
	next := func() {
		for i < len(src.lines) && strings.TrimSpace(src.lines[i]) == "" {
			i++
		}
	}

	next()
	var (
		delim rune
		sep   bool
	)

	if i < len(src.lines) {
		delim, sep = sepLine(src.lines[i])
	}

	if sep {
		i++
		next()
	}

	if i >= len(src.lines) {
		ff.Warnings = src.nulWarnings(ff.Warnings, len(src.lines))
		return rawRecord{}, recordParser{}, 0, fmt.Errorf("oem: fleet file is empty: %w",
			ErrInvalidInput)
	}

	if delim == 0 {
		delim = sniffDelimiter(src.lines[i])
	}

	p := recordParser{delim: delim, trim: !unicode.IsSpace(delim)}
	for {
		rr := p.record(src.lines, i, p.startsRow(-1))
		ff.Warnings = src.nulWarnings(ff.Warnings, rr.next)
		if rr.err != nil {
			return rr, p, 0, fmt.Errorf("oem: read fleet file header (line %d): %w",
				rr.line, rr.err)
		}

		i = rr.next
		if !(fleetRow{rec: rr.fields}).blank() {
			return rr, p, i, nil
		}

		next()
		if i >= len(src.lines) {
			return rr, p, 0, fmt.Errorf("oem: fleet file is empty: %w", ErrInvalidInput)
		}
	}
}

// sepLine reads Excel's "sep=;" first line. It reports whether line is one,
// and the delimiter it names, 0 when that is not a usable delimiter.
func sepLine(line string) (rune, bool) {
	s := strings.TrimLeftFunc(line, unicode.IsSpace)
	s = strings.TrimPrefix(s, `"`)
	if len(s) < 4 || !strings.EqualFold(s[:4], "sep=") {
		return 0, false
	}

	d, size := utf8.DecodeRuneInString(s[4:])
	if size == 0 || d == utf8.RuneError || d == '"' || d == '\n' || d == '\r' || d == 0 {
		return 0, true
	}

	// Some writers pad the line with delimiters to the width of the table.
	if strings.Trim(s[4+size:], string(d)+`" `) != "" {
		return 0, true
	}

	return d, true
}

// sniffDelimiter picks the delimiter that occurs most outside quotes in the
// header line: comma, semicolon or tab.
func sniffDelimiter(head string) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range head {
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

	return best
}

// recordParser assembles and splits the records of a fleet file.
type recordParser struct {
	delim rune
	// trim drops white space before a cell, so that `, "Ayvens NV"` is a
	// quoted cell. It is off when the delimiter is itself white space.
	trim bool
}

// rawRecord is one record of a fleet file, or why it could not be read.
type rawRecord struct {
	fields []string
	line   int   // 1-based line where the record starts
	next   int   // index of the line after the record
	warn   error // the record is kept, with this warning
	err    error // the record cannot be used
}

// record assembles the record that starts at lines[i], joining the lines
// after it while a quoted cell is open, and splits it strictly. A cell
// still open after maxRecordLines lines, at the end of the file, or before
// a line for which startsRow holds is an error on line i, and the record
// ends there: the next one starts on the next line.
func (p recordParser) record(lines []string, i int, startsRow func(string) bool) rawRecord {
	s := quoteScan{delim: p.delim, trim: p.trim}
	s.feed(lines[i])
	j := i + 1
	for s.state == inQuotes {
		if j-i >= maxRecordLines || j >= len(lines) || startsRow(lines[j]) {
			return rawRecord{line: i + 1, next: i + 1, err: fmt.Errorf("the quote that "+
				"opens cell %d is not closed on this line nor on the lines that belong "+
				"to the row; the row is skipped: %w", s.openCell, ErrInvalidInput)}
		}

		s.feed("\n")
		s.feed(lines[j])
		j++
	}

	rr := rawRecord{line: i + 1, next: j}
	text := strings.Join(lines[i:j], "\n")
	fields, err := p.split(text, false)
	switch {
	case err == nil:
		rr.fields = fields
	case s.extraCell > 0:
		rr.err = fmt.Errorf("cell %d goes on after its closing quote (a quote inside "+
			"a quoted cell must be doubled): %w: %w", s.extraCell, err, ErrInvalidInput)
	case s.bareCell > 0:
		// Only quotes inside cells that do not start with one: taken as
		// characters, which is what such a cell can only mean.
		if fields, lerr := p.split(text, true); lerr == nil {
			rr.fields = fields
			rr.warn = fmt.Errorf("cell %d has a quote in it but does not start with "+
				"one; the quote is kept as a character: %w", s.bareCell, ErrInvalidInput)
		} else {
			rr.err = fmt.Errorf("cannot split the row: %w: %w", lerr, ErrInvalidInput)
		}
	default:
		rr.err = fmt.Errorf("cannot split the row: %w: %w", err, ErrInvalidInput)
	}

	return rr
}

// split splits one record with encoding/csv.
func (p recordParser) split(text string, lazy bool) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = p.delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = lazy
	cr.TrimLeadingSpace = p.trim
	rec, err := cr.Read()
	if err != nil {
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			return nil, pe.Err
		}

		return nil, err
	}

	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the line holds more than one row")
	}

	return rec, nil
}

// startsRow reports whether a line reads, on its own, as a row whose cell
// in column vinCol (in any column when vinCol is negative) is a well-formed
// VIN: such a line is not the continuation of a quoted cell.
func (p recordParser) startsRow(vinCol int) func(string) bool {
	return func(line string) bool {
		fields, err := p.split(line, true)
		if err != nil {
			return false
		}

		for k, f := range fields {
			if vinCol >= 0 && k != vinCol {
				continue
			}

			if _, err := ParseVIN(f); err == nil {
				return true
			}
		}

		return false
	}
}

// vinCell gives the VIN cell of a line that could not be split, as well as
// it can be read, for the report.
func (p recordParser) vinCell(line string, vinCol int) string {
	fields, err := p.split(line, true)
	if err != nil || vinCol >= len(fields) {
		return ""
	}

	return normalizeSpace(fields[vinCol])
}

// quoteScan follows the quoting of a record the way a strict CSV reader
// does, to tell where a record ends and what is wrong with its quotes.
type quoteScan struct {
	delim rune
	trim  bool
	state quoteState
	cell  int // 1-based number of the current cell
	// openCell is the cell whose quote was opened last; bareCell the first
	// cell with a quote inside it that does not start with one; extraCell
	// the first with text after its closing quote. Zero for none.
	openCell, bareCell, extraCell int
}

type quoteState int

const (
	cellStart quoteState = iota
	inCell
	inQuotes
	afterQuote
)

func (s *quoteScan) feed(text string) {
	if s.cell == 0 {
		s.cell = 1
	}

	for _, c := range text {
		switch s.state {
		case cellStart:
			switch {
			case c == s.delim:
				s.cell++
			case c == '"':
				s.state, s.openCell = inQuotes, s.cell
			case s.trim && unicode.IsSpace(c):
			default:
				s.state = inCell
			}
		case inCell:
			switch {
			case c == s.delim:
				s.state = cellStart
				s.cell++
			case c == '"' && s.bareCell == 0:
				s.bareCell = s.cell
			}
		case inQuotes:
			if c == '"' {
				s.state = afterQuote
			}
		case afterQuote:
			switch {
			case c == '"':
				s.state = inQuotes
			case c == s.delim:
				s.state = cellStart
				s.cell++
			default:
				s.state = inCell
				if s.extraCell == 0 {
					s.extraCell = s.cell
				}
			}
		}
	}
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
