package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

// TestCleanupModelsRacingBatches runs model clean-ups while batches link new
// vehicles to bare, unused models: neither may fail, every vehicle must end
// linked to a model that exists, and the models nobody took must go.
func TestCleanupModelsRacingBatches(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		const rounds, models, perBatch = 20, 40, 50
		for r := range rounds {
			bare := make([]oem.Model, models)
			for i := range bare {
				bare[i] = oem.Model{Make: "BMW", Name: fmt.Sprintf("r%d m%d", r, i), Type: "t",
					Version: "v"}
			}

			if err := s.UpsertModels(t.Context(), bare); err != nil {
				t.Fatalf("round %d: UpsertModels: %v", r, err)
			}

			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 2 { // two writers, each linking its half of the models
				wg.Go(func() {
					vs := make([]oem.Vehicle, perBatch)
					for i := range vs {
						m := bare[w*models/2+i%(models/4)] // a quarter of the models stay unused
						vs[i] = oem.Vehicle{
							FleetEntry: oem.FleetEntry{VIN: vin(r*1000 + w*100 + i), Owner: "Fleet A", Make: "BMW"},
							Connector:  "bmw", Model: m.Name, Type: m.Type,
							Version: m.Version, Status: oem.StatusActive,
						}
					}

					if err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: vs}); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
					}
				})
			}

			wg.Go(func() {
				for range 3 {
					if _, err := s.CleanupModels(t.Context()); err != nil {
						errs <- fmt.Errorf("cleanup: %w", err)
					}
				}
			})

			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("round %d: %v", r, err)
			}
		}

		if _, err := s.CleanupModels(t.Context()); err != nil {
			t.Fatalf("final CleanupModels: %v", err)
		}

		vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
		if err != nil {
			t.Fatal(err)
		}

		if len(vs) != rounds*2*perBatch {
			t.Fatalf("%d vehicles stored, want %d", len(vs), rounds*2*perBatch)
		}

		// Models lists only curated ones: count the links through the
		// vehicles instead (the foreign key makes each an existing model).
		used := map[int64]string{}
		for _, v := range vs {
			if v.ModelID == 0 {
				t.Fatalf("vehicle %s has no model", v.VIN)
			}

			used[v.ModelID] = v.Model
		}

		var n int
		if err := s.DB().GetContext(t.Context(), &n, "SELECT count(*) FROM vehicle_model"); err != nil {
			t.Fatal(err)
		}

		if n != len(used) {
			t.Errorf("%d models stored, want the %d the vehicles use (the bare unused ones deleted)",
				n, len(used))
		}
	})
}
