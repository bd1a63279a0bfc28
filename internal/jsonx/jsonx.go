// Package jsonx decodes the JSON that OEMs actually send, not the JSON their
// schemas promise: numbers as strings or as floats with a zero fraction,
// empty strings for absent values, null versus missing, identifiers beyond
// 2^53, times in half a dozen forms, and padded or multi-line codes. An odd
// value never fails the decode of the document around it: the field stays
// unset and keeps the raw text in Odd, so the caller can warn about that
// one field and go on.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Int is a tolerant integer: 6, 6.0 and "6" are 6; "", null and a missing
// member are unset.
type Int struct {
	V   int64
	Set bool
	Odd string // the raw value when it was present but not an integer
}

// UnmarshalJSON never fails.
func (i *Int) UnmarshalJSON(b []byte) error {
	*i = Int{}
	s, ok := scalar(b)
	if !ok || s == "" {
		if !ok {
			i.Odd = shortRaw(b)
		}

		return nil
	}

	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		i.V, i.Set = n, true
		return nil
	}

	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		i.V, i.Set = int64(f), true
		return nil
	}

	i.Odd = shortRaw(b)

	return nil
}

// Float is a tolerant number: 81.5, "81.5" and "81,5" are 81.5; "", null and
// a missing member are unset.
type Float struct {
	V   float64
	Set bool
	Odd string
}

// UnmarshalJSON never fails.
func (f *Float) UnmarshalJSON(b []byte) error {
	*f = Float{}
	s, ok := scalar(b)
	if !ok || s == "" {
		if !ok {
			f.Odd = shortRaw(b)
		}

		return nil
	}

	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}

	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		f.Odd = shortRaw(b)
		return nil
	}

	f.V, f.Set = v, true

	return nil
}

// String is tolerant text: a string, or a number or boolean written as
// text. It is trimmed and inner runs of white space (newlines included) are
// collapsed to one space. null and "" are unset.
type String struct {
	V   string
	Set bool
}

// UnmarshalJSON never fails.
func (s *String) UnmarshalJSON(b []byte) error {
	*s = String{}
	v, ok := scalar(b)
	if !ok {
		return nil
	}

	v = Collapse(v)
	s.V, s.Set = v, v != ""

	return nil
}

// Bool is a tolerant boolean: true, "true", "TRUE", "1", 1, "yes" are true;
// their opposites false; anything else unset with Odd.
type Bool struct {
	V   bool
	Set bool
	Odd string
}

// UnmarshalJSON never fails.
func (v *Bool) UnmarshalJSON(b []byte) error {
	*v = Bool{}
	s, ok := scalar(b)
	if !ok || s == "" {
		if !ok {
			v.Odd = shortRaw(b)
		}

		return nil
	}

	if t, ok := ParseBool(s); ok {
		v.V, v.Set = t, true
		return nil
	}

	v.Odd = shortRaw(b)

	return nil
}

// ParseBool reads the boolean spellings seen in OEM answers and fleet
// files. The empty string is not a boolean here.
func ParseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "1", "yes", "y", "on", "x":
		return true, true
	case "false", "f", "0", "no", "n", "off":
		return false, true
	}

	return false, false
}

// ID is an identifier that may be a JSON number beyond 2^53 or a string;
// its text is kept exactly.
type ID string

// UnmarshalJSON never loses digits.
func (id *ID) UnmarshalJSON(b []byte) error {
	s, _ := scalar(b)
	*id = ID(s)

	return nil
}

// Time is a tolerant timestamp; see ParseTime for the forms.
type Time struct {
	V   time.Time
	Set bool
	Odd string
}

// UnmarshalJSON never fails.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	s, ok := scalar(b)
	if !ok || s == "" {
		if !ok {
			t.Odd = shortRaw(b)
		}

		return nil
	}

	v, err := ParseTime(s)
	if err != nil {
		t.Odd = shortRaw(b)
		return nil
	}

	t.V, t.Set = v, true

	return nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",  // +0000 without a colon
	"2006-01-02T15:04:05.999999999Z07",    // +00
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00", // space instead of T
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"Mon Jan 02 15:04:05 MST 2006", // Java's Date.toString
	"Mon Jan 2 15:04:05 MST 2006",
	time.RFC1123,
	time.RFC1123Z,
	"2006-01-02",
}

// ParseTime reads a timestamp in the forms OEMs send: RFC 3339 with or
// without fractional seconds, an offset without a colon ("+0000"), no zone
// at all (taken as UTC), a space for the T, Java's "Mon Jun 03 08:35:36 GMT
// 2019", RFC 1123, a bare date, and Unix seconds or milliseconds. The
// result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}

	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}

	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e11 { // milliseconds
			return time.UnixMilli(n).UTC(), nil
		}

		return time.Unix(n, 0).UTC(), nil
	}

	return time.Time{}, fmt.Errorf("unrecognised time %q", truncate(s, 64))
}

// Collapse trims s and folds every run of white space, newlines included,
// into one space.
func Collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// scalar returns the text of a JSON scalar (a string's contents, a number's
// digits, true/false), "" for null, and false for an object, an array or
// invalid JSON.
func scalar(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return "", true
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false
		}

		return strings.TrimSpace(s), true
	case b[0] == '{' || b[0] == '[':
		return "", false
	}

	return string(b), true
}

func shortRaw(b []byte) string { return truncate(string(bytes.TrimSpace(b)), 64) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	return s[:n] + "…"
}

// Words logs an unknown enum word once per (field, word), however many
// vehicles carry it. The zero value is ready; a nil Logger discards.
type Words struct {
	Logger *slog.Logger
	seen   sync.Map
}

// Unknown reports an unknown word for field, logging it the first time.
// It returns true the first time the word is seen.
func (w *Words) Unknown(field, word string) bool {
	if _, loaded := w.seen.LoadOrStore(field+"\x00"+word, struct{}{}); loaded {
		return false
	}

	if w.Logger != nil {
		w.Logger.Warn("unknown word from OEM", slog.String("field", field), slog.String("word", truncate(word, 64)))
	}

	return true
}
