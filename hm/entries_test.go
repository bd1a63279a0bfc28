package hm_test

import (
	"errors"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

// The wanted fleet's make is the brand of a VIN whose WMI names none
// (oem.EntryUser); a make High Mobility does not take is named in the error
// and that VIN is refused without a request.
func TestUseEntriesGivesBrands(t *testing.T) {
	t.Parallel()

	spec := kia(5, "")
	spec.VIN = string(testVIN(wmiUnknown, 5))
	e := newEnv(t, envOpt{}, spec)
	vin, lada := testVIN(wmiUnknown, 5), testVIN(wmiUnknown, 6)

	err := e.conn.UseEntries([]oem.FleetEntry{{VIN: vin, Make: oem.MakeKia}, {VIN: lada, Make: "Lada"}})
	if !errors.Is(err, oem.ErrInvalidInput) {
		t.Fatalf("UseEntries = %v, want the Lada named as invalid input", err)
	}

	res, err := e.conn.Activate(t.Context(), []oem.VIN{vin, lada})
	if err != nil {
		t.Fatal(err)
	}

	got := byVIN(res)
	if r := got[vin]; r.Err != nil || r.Status != oem.StatusPending {
		t.Errorf("Kia by its fleet make: %+v, want pending", r)
	}

	if r := got[lada]; !errors.Is(r.Err, oem.ErrInvalidInput) {
		t.Errorf("Lada: %+v, want refused as invalid input", r)
	}
}
