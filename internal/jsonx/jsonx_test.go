package jsonx

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestTolerantNumbers(t *testing.T) {
	t.Parallel()

	var doc struct {
		A, B, C, D, E, F Int
		P, Q, R, S       Float
	}
	in := `{"A":6,"B":6.0,"C":"6","D":"","E":null,"F":"six","P":"81.5","Q":0.815,"R":"81,5","S":{}}`
	if err := json.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatalf("one odd field failed the document: %v", err)
	}

	for name, got := range map[string]Int{"A": doc.A, "B": doc.B, "C": doc.C} {
		if !got.Set || got.V != 6 {
			t.Errorf("%s = %+v, want 6", name, got)
		}
	}

	if doc.D.Set || doc.E.Set || doc.D.Odd != "" || doc.E.Odd != "" {
		t.Errorf("empty and null must be unset without a warning: %+v %+v", doc.D, doc.E)
	}

	if doc.F.Set || doc.F.Odd != `"six"` {
		t.Errorf("F = %+v, want unset with Odd", doc.F)
	}

	if !doc.P.Set || doc.P.V != 81.5 || doc.Q.V != 0.815 || doc.R.V != 81.5 {
		t.Errorf("floats = %+v %+v %+v", doc.P, doc.Q, doc.R)
	}

	if doc.S.Set || doc.S.Odd != "{}" {
		t.Errorf("S = %+v", doc.S)
	}

	var missing struct{ X Int }
	_ = json.Unmarshal([]byte(`{}`), &missing)
	if missing.X.Set || missing.X.Odd != "" {
		t.Errorf("missing member = %+v", missing.X)
	}
}

func TestBigIDsSurvive(t *testing.T) {
	t.Parallel()

	var doc struct {
		ID  ID `json:"id"`
		IDS ID `json:"id_s"`
	}
	if err := json.Unmarshal([]byte(`{"id":1493021234567890123,"id_s":"1493021234567890123"}`), &doc); err != nil {
		t.Fatal(err)
	}

	if doc.ID != "1493021234567890123" || doc.IDS != "1493021234567890123" {
		t.Fatalf("ids = %q %q", doc.ID, doc.IDS)
	}
}

func TestStringCollapses(t *testing.T) {
	t.Parallel()

	var doc struct{ A, B, C, D String }
	_ = json.Unmarshal([]byte(`{"A":"  R135\n  ZE50 ","B":"","C":42,"D":null}`), &doc)
	if doc.A.V != "R135 ZE50" || !doc.A.Set || doc.B.Set || doc.C.V != "42" || doc.D.Set {
		t.Fatalf("strings = %+v", doc)
	}
}

func TestBool(t *testing.T) {
	t.Parallel()

	var doc struct{ A, B, C, D, E Bool }
	_ = json.Unmarshal([]byte(`{"A":true,"B":"TRUE","C":0,"D":"","E":"maybe"}`), &doc)
	if !doc.A.V || !doc.B.V || doc.C.V || !doc.C.Set || doc.D.Set || doc.E.Set || doc.E.Odd == "" {
		t.Fatalf("bools = %+v", doc)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()

	want := time.Date(2017, 8, 10, 13, 46, 39, 652000000, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2017-08-10T13:46:39.652+0000", want},
		{"2017-08-10T15:46:39.652+02:00", want},
		{"2017-08-10T13:46:39.652Z", want},
		{"2017-08-10T13:46:39.652", want},
		{"2022-03-22T09:36:51", time.Date(2022, 3, 22, 9, 36, 51, 0, time.UTC)},
		{"Mon Jun 03 08:35:36 GMT 2019", time.Date(2019, 6, 3, 8, 35, 36, 0, time.UTC)},
		{"2024-05-01T10:00:00.000+0000", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"1502372799652", want},
		{"1502372799", want.Truncate(time.Second)},
	}

	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}

	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("accepted garbage")
	}

	var doc struct{ T, U Time }
	_ = json.Unmarshal([]byte(`{"T":"2022-03-22T09:36:51","U":"not a time"}`), &doc)
	if !doc.T.Set || doc.U.Set || doc.U.Odd == "" {
		t.Errorf("Time fields = %+v", doc)
	}
}

func TestWordsLogsOncePerWord(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	w := &Words{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	for range 100 {
		w.Unknown("status", "suspended")
	}
	w.Unknown("status", "archived")

	if n := strings.Count(buf.String(), "unknown word"); n != 2 {
		t.Fatalf("logged %d times, want 2: %s", n, buf.String())
	}
}
