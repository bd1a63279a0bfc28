package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

func TestPrintModels(t *testing.T) {
	t.Parallel()

	models := []oem.Model{
		{Make: "BMW", Name: "i3", Type: "94", BatteryKWh: 33.2, WarrantyKm: 100000, WarrantyYears: 8},
		{Make: "Renault", Name: "ZOE", Type: "R135", ImageURL: "https://img.example/zoe.png"},
	}

	var b bytes.Buffer
	if err := PrintModels(&b, models, false); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}

	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "BMW i3 94 - 100000 8 33.2" {
		t.Fatalf("row = %q", lines[1])
	}

	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "Renault ZOE R135 https://img.example/zoe.png - - -" {
		t.Fatalf("row = %q", lines[2])
	}

	b.Reset()
	if err := PrintModels(&b, models, true); err != nil {
		t.Fatal(err)
	}

	var back []oem.Model
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 2 || back[0].WarrantyKm != 100000 {
		t.Fatalf("json = %v %v", back, err)
	}
}
