package store

import (
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// The store writes times as text in one fixed, sortable layout that both
// PostgreSQL (timestamptz) and SQLite (TEXT) read, and dates as
// 2006-01-02.
const (
	timeLayout = "2006-01-02T15:04:05.000000Z07:00"
	dateLayout = "2006-01-02"
)

// nstr is a string for a nullable column: "" is unknown, NULL.
func nstr(s string) any {
	if s == "" {
		return nil
	}

	return s
}

// nint is an integer for a nullable column: 0 (or less) is unknown.
func nint(i int) any {
	if i <= 0 {
		return nil
	}

	return int64(i)
}

func nid(id int64) any {
	if id <= 0 {
		return nil
	}

	return id
}

// nfloat is a float for a nullable column: 0 (or less, or NaN) is unknown.
func nfloat(f float64) any {
	if !(f > 0) || math.IsInf(f, 0) {
		return nil
	}

	return f
}

func nbool(b *bool) any {
	if b == nil {
		return nil
	}

	return *b
}

// ntime is a time for a nullable column: the zero time is unknown.
func ntime(t time.Time) any {
	if t.IsZero() {
		return nil
	}

	return t.UTC().Truncate(time.Microsecond).Format(timeLayout)
}

// ndate is the calendar day of t, in t's own location.
func ndate(t time.Time) any {
	if t.IsZero() {
		return nil
	}

	return t.Format(dateLayout)
}

// dbTime scans a nullable time or date from either database: PostgreSQL
// gives time.Time, SQLite the text the store wrote.
type dbTime struct{ T time.Time }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.T = time.Time{}
	case time.Time:
		t.T = v.UTC()
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T as a time", src)
	}

	return nil
}

func (t *dbTime) parse(s string) error {
	for _, layout := range []string{timeLayout, time.RFC3339Nano, dateLayout,
		"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.T = v.UTC()

			return nil
		}
	}

	return fmt.Errorf("store: cannot parse time %q", s)
}

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"

	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// nullString and friends are scanned and turned into Go zero values.
type (
	nullString = sql.NullString
	nullInt    = sql.NullInt64
	nullFloat  = sql.NullFloat64
	nullBool   = sql.NullBool
)

// ownerKey is the owner as the owner filter compares it: trimmed, inner
// spaces collapsed, lower case.
func ownerKey(owner string) string {
	return strings.ToLower(strings.Join(strings.Fields(owner), " "))
}
