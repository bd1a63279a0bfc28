package oemtest_test

import (
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestMemStore(t *testing.T) {
	t.Parallel()

	oemtest.TestStore(t, func(t *testing.T) oem.Store { return oemtest.NewMemStore() })
}

func TestMemStoreClock(t *testing.T) {
	t.Parallel()

	at := time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC)
	s := oemtest.NewMemStore().SetClock(func() time.Time { return at })
	vin := oem.MustParseVIN("WBA00000000000001")
	if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{
		{FleetEntry: oem.FleetEntry{VIN: vin}}}}); err != nil {
		t.Fatal(err)
	}

	vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
	if err != nil || len(vs) != 1 || !vs[0].UpdatedAt.Equal(at) {
		t.Errorf("Vehicles = %+v, %v; want UpdatedAt %v from the clock", vs, err, at)
	}

	id, err := s.StartRun(t.Context(), oem.Run{Owner: "Ayvens"})
	if err != nil {
		t.Fatal(err)
	}

	if err := s.FinishRun(t.Context(), oem.Run{ID: id, State: "failed"}); err != nil {
		t.Fatal(err)
	}

	r, ok := s.Run(id)
	if !ok || !r.StartedAt.Equal(at) || !r.FinishedAt.Equal(at) || r.State != "failed" ||
		r.Owner != "Ayvens" {
		t.Errorf("Run(%d) = %+v, %v", id, r, ok)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Vehicles(t.Context(), oem.VehicleQuery{}); err == nil {
		t.Error("Vehicles after Close succeeded")
	}
}
