package oem_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

func TestCheckVehicleNamesVehicleAndField(t *testing.T) {
	t.Parallel()

	vin := oem.MustParseVIN("WBA00000000000001")
	good := oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: vin, Owner: "Ayvens", Line: 3},
		Model: "i3", SeenAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	if err := oem.CheckVehicle(good); err != nil {
		t.Fatalf("CheckVehicle(good) = %v", err)
	}

	for _, c := range []struct {
		field string
		bad   func(v *oem.Vehicle)
	}{
		{"seen at in year 10025", func(v *oem.Vehicle) { v.SeenAt = v.SeenAt.AddDate(8000, 0, 0) }},
		{"licence plate is not UTF-8", func(v *oem.Vehicle) { v.LicencePlate = "A\x00" }},
		{"owner is 513 bytes", func(v *oem.Vehicle) { v.Owner = strings.Repeat("o", 513) }},
		{"line 2147483648 out of range", func(v *oem.Vehicle) { v.Line = 1 << 31 }},
		{`powertrain "steam"`, func(v *oem.Vehicle) { v.Powertrain = "steam" }},
		{`status "sleeping"`, func(v *oem.Vehicle) { v.Status = "sleeping" }},
		{"source of model is not UTF-8", func(v *oem.Vehicle) {
			v.Sources = map[oem.Field]string{oem.FieldModel: "\xff"}
		}},
	} {
		v := good
		c.bad(&v)

		err := oem.CheckVehicle(v)
		ve, ok := oem.AsVehicleError(err)
		if !ok || ve.VIN != vin || !errors.Is(err, oem.ErrInvalidInput) ||
			!strings.Contains(err.Error(), c.field) {
			t.Errorf("CheckVehicle with %s = %v; want a *VehicleError for %s naming %q",
				c.field, err, vin, c.field)
		}
	}

	if err := oem.CheckVehicle(oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: "not a vin"}}); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("CheckVehicle(bad VIN) = %v, want oem.ErrInvalidInput", err)
	}
}

func TestCheckStatusChangeAndModel(t *testing.T) {
	t.Parallel()

	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	h := oem.StatusChange{VIN: "WBA00000000000001", To: oem.StatusActive, At: at}
	if err := oem.CheckStatusChange(h); err != nil {
		t.Fatalf("CheckStatusChange(good) = %v", err)
	}

	for name, bad := range map[string]oem.StatusChange{
		"no time":       {VIN: h.VIN, To: oem.StatusActive},
		"year 0":        {VIN: h.VIN, To: oem.StatusActive, At: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		"bad status":    {VIN: h.VIN, To: "gone", At: at},
		"NUL reason":    {VIN: h.VIN, To: oem.StatusActive, At: at, Reason: "a\x00"},
		"VIN too short": {VIN: "WBA1", To: oem.StatusActive, At: at},
	} {
		if err := oem.CheckStatusChange(bad); !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("CheckStatusChange with %s = %v, want oem.ErrInvalidInput", name, err)
		}
	}

	if err := oem.CheckModel(oem.Model{Name: "i3", BatteryKWh: 42.2, WarrantyKm: 160000}); err != nil {
		t.Errorf("CheckModel(good) = %v", err)
	}

	if err := oem.CheckModel(oem.Model{Name: "i3", WarrantyKm: 1 << 31}); !errors.Is(err, oem.ErrInvalidInput) ||
		!strings.Contains(err.Error(), "warranty km") {
		t.Errorf("CheckModel(warranty km 1<<31) = %v, want oem.ErrInvalidInput naming warranty km", err)
	}
}
