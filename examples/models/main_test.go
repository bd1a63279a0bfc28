package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

func TestModelsListsMetadataAndCleansUp(t *testing.T) {
	t.Parallel()

	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "v.db")
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}

	err = st.UpsertModels(ctx, []oem.Model{
		{Make: "BMW", Name: "i3", Type: "94", BatteryKWh: 33.2, WarrantyYears: 8},
		{Make: "Renault", Name: "ZOE", Type: "R135", ImageURL: "https://img.example/zoe.png"},
		{Make: "Kia", Name: "EV6"}, // no metadata, no vehicle: cleaned up
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	var out, errs bytes.Buffer
	if code := run(ctx, []string{"-db", dsn, "-cleanup"}, &out, &errs, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}

	if !strings.Contains(errs.String(), "deleted 1 unused models") {
		t.Fatalf("stderr: %s", errs.String())
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "BMW") || !strings.HasPrefix(lines[2], "Renault") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestModelsJSONOfEmptyStoreIsEmptyList(t *testing.T) {
	t.Parallel()

	dsn := filepath.Join(t.TempDir(), "v.db")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-db", dsn, "-json"}, &out, &errs,
		func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}

	if got := strings.TrimSpace(out.String()); got != "[]" {
		t.Errorf("-json on an empty store printed %q, want []", got)
	}
}
