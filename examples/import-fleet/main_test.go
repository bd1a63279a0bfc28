package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

func TestImportFleet(t *testing.T) {
	t.Parallel()

	dsn := filepath.Join(t.TempDir(), "v.db")
	var out, errs bytes.Buffer
	code := run(t.Context(), []string{"-db", dsn, "../../oem/testdata/fleet_spreadsheet.csv"}, &out, &errs,
		func(string) string { return "" })

	ff := readFixture(t)
	wantCode := 0
	if len(ff.Problems) > 0 {
		wantCode = 1
	}

	if code != wantCode {
		t.Fatalf("exit %d, want %d\n%s", code, wantCode, errs.String())
	}

	for _, p := range ff.Problems {
		if !strings.Contains(errs.String(), p.Error()) {
			t.Errorf("problem %q not reported", p)
		}
	}

	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	got, err := st.Fleet(context.Background(), oem.FleetFilter{})
	if err != nil {
		t.Fatal(err)
	}

	if len(got) != len(ff.Entries) || len(got) == 0 {
		t.Fatalf("store holds %d entries, the file has %d usable rows", len(got), len(ff.Entries))
	}

	ayvens, _ := st.Fleet(context.Background(), oem.FleetFilter{Owner: "ayvens"})
	for _, e := range ayvens {
		if !strings.EqualFold(e.Owner, "Ayvens") {
			t.Fatalf("owner filter let %q through", e.Owner)
		}
	}
}

func TestImportFleetUsage(t *testing.T) {
	t.Parallel()

	var out, errs bytes.Buffer
	if code := run(t.Context(), nil, &out, &errs, func(string) string { return "" }); code != 2 {
		t.Fatalf("exit %d without a file", code)
	}

	if code := run(t.Context(), []string{"-db", filepath.Join(t.TempDir(), "v.db"), "no-such.csv"}, &out, &errs,
		func(string) string { return "" }); code != 2 {
		t.Fatalf("exit %d for a missing file", code)
	}
}

func readFixture(t *testing.T) *oem.FleetFile {
	t.Helper()

	f, err := os.Open("../../oem/testdata/fleet_spreadsheet.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	ff, err := oem.ReadFleetCSV(f)
	if err != nil {
		t.Fatal(err)
	}

	return ff
}
