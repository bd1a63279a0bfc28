package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/testdb"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
	"github.com/vehicleinfo/ingest/store"
)

func openT(t *testing.T, dsn string) *store.DB {
	t.Helper()

	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	return s
}

func sqliteDSN(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "vehicleinfo.db")
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestStore(t, func(t *testing.T) oem.Store { return openT(t, sqliteDSN(t)) })
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()

	testdb.BaseDSN(t) // skip (or fail under CI) before any subtest starts
	oemtest.TestStore(t, func(t *testing.T) oem.Store { return openT(t, testdb.PostgresDSN(t)) })
}

// dialects runs f against a fresh store of each database.
func dialects(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, sqliteDSN(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, testdb.PostgresDSN(t))
	})
}

func vin(n int) oem.VIN { return oem.MustParseVIN(fmt.Sprintf("WBA%014d", n)) }

func TestOpenDSNForms(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	for _, dsn := range []string{
		":memory:",
		"sqlite::memory:",
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db") + "?cache=private",
		filepath.Join(dir, "d.db"),
		filepath.Join(dir, "e.db") + "?_pragma=cache_size(-2000)",
	} {
		s, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Errorf("Open(%q): %v", dsn, err)

			continue
		}

		if s.Dialect() != "sqlite" {
			t.Errorf("Open(%q).Dialect() = %q, want sqlite", dsn, s.Dialect())
		}

		// The schema is there and usable.
		err = s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{
			{FleetEntry: oem.FleetEntry{VIN: vin(1)}, Model: "i3"}}})
		if err != nil {
			t.Errorf("Open(%q): SaveBatch: %v", dsn, err)
		}

		s.Close()
	}
}

func TestOpenBadInput(t *testing.T) {
	t.Parallel()

	bad := []string{"mysql://user:secret-password@127.0.0.1/db", "redis:x", "", "sqlite:"}
	for _, dsn := range bad {
		_, err := store.Open(t.Context(), dsn)
		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("Open(%q): err = %v, want oem.ErrInvalidInput", dsn, err)
		}

		if err != nil && strings.Contains(err.Error(), "secret-password") {
			t.Errorf("Open error repeats the password: %v", err)
		}
	}

	_, err := store.Open(t.Context(), "mysql://db")
	if err == nil || !strings.Contains(err.Error(), `unsupported DSN scheme "mysql"`) {
		t.Errorf("Open(mysql://): err = %v, want it to name the scheme", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	// Port 1 on loopback: nothing listens there.
	_, err := store.Open(ctx, "postgres://u:fake-password@127.0.0.1:1/db?sslmode=disable")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}

	if !strings.Contains(err.Error(), "connect to postgres at 127.0.0.1:1") {
		t.Errorf("err = %v, want it to say where it could not connect", err)
	}

	if strings.Contains(err.Error(), "fake-password") {
		t.Errorf("Open error repeats the password: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		current, newest, err := s.SchemaVersion(t.Context())
		if err != nil || current != newest || newest < 1 {
			t.Fatalf("SchemaVersion = %d, %d, %v; want the newest, twice", current, newest, err)
		}

		// Pretend a newer library migrated the database.
		_, err = s.DB().ExecContext(t.Context(), s.DB().Rebind(
			"INSERT INTO vehicleinfo_schema_version (version_id, is_applied) VALUES (?, ?)"), newest+1, true)
		if err != nil {
			t.Fatalf("insert version: %v", err)
		}

		s.Close()

		for _, opts := range [][]store.Option{nil, {store.WithoutMigrate()}} {
			_, err = store.Open(t.Context(), dsn, opts...)
			if !errors.Is(err, store.ErrSchemaTooNew) {
				t.Errorf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
			}

			if err != nil && !strings.Contains(err.Error(), fmt.Sprint(newest+1)) {
				t.Errorf("err = %v, want it to name version %d", err, newest+1)
			}
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin(1),
			Owner: "Ayvens"}}}})
		s.Close()

		s = openT(t, dsn) // migrations already applied: nothing to do
		defer s.Close()

		vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
		if err != nil || len(vs) != 1 || vs[0].Owner != "Ayvens" {
			t.Errorf("after reopening: %+v, %v; want the vehicle saved before", vs, err)
		}
	})
}

func stSave(t *testing.T, s oem.Store, b oem.Batch) {
	t.Helper()

	if err := s.SaveBatch(t.Context(), b); err != nil {
		t.Fatalf("SaveBatch: %v", err)
	}
}

func TestHistoryNeedsVehicle(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		err := s.SaveBatch(t.Context(), oem.Batch{
			Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin(1)}}},
			History: []oem.StatusChange{{VIN: vin(2), To: oem.StatusActive,
				At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		})
		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("history for a VIN with no vehicle: err = %v, want ErrInvalidInput", err)
		}

		if vs, _ := s.Vehicles(t.Context(), oem.VehicleQuery{}); len(vs) != 0 {
			t.Errorf("the failed batch stored %d vehicles", len(vs))
		}
	})
}

func TestModelMakeFromWMI(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
			{FleetEntry: oem.FleetEntry{VIN: vin(1)}, Model: "i3", BatteryKWh: 42},
			// An unknown WMI: the model's make is unknown, the key still whole.
			{FleetEntry: oem.FleetEntry{VIN: oem.MustParseVIN("ZZZ00000000000001")},
				Model: "Mystery", WarrantyYears: 3},
		}})

		ms, err := s.Models(t.Context())
		if err != nil || len(ms) != 2 {
			t.Fatalf("Models = %+v, %v; want 2", ms, err)
		}

		if ms[0].Make != "" || ms[0].Name != "Mystery" || ms[1].Make != oem.VIN("WBA").Make() &&
			ms[1].Make != vin(1).Make() {
			t.Errorf("Models = %+v; want (\"\", Mystery) then (%q, i3)", ms, vin(1).Make())
		}

		// The vehicle's own make stays unknown.
		vs, _ := s.Vehicles(t.Context(), oem.VehicleQuery{VINs: []oem.VIN{vin(1)}})
		if len(vs) != 1 || vs[0].Make != "" || vs[0].ModelID != ms[1].ID {
			t.Errorf("vehicle = %+v; want no make, linked to model %d", vs, ms[1].ID)
		}
	})
}

// TestTwoStoresOneDatabase runs writers through two separate stores (two
// connection pools) on one database: on SQLite that is the busy-timeout
// path, on PostgreSQL row locks between sessions.
func TestTwoStoresOneDatabase(t *testing.T) {
	t.Parallel()

	dialects(t, twoStores)
}

// TestPostgresStricterDefaultIsolation runs the two stores on a server whose
// default isolation is serializable: the store's transactions keep to read
// committed, which its locking is built for, so concurrent batches still
// all land.
func TestPostgresStricterDefaultIsolation(t *testing.T) {
	t.Parallel()

	twoStores(t, testdb.PostgresDSN(t)+
		"&options=-c%20default_transaction_isolation%3Dserializable")
}

// twoStores saves overlapping batches through two stores on one database,
// four writers each.
func twoStores(t *testing.T, dsn string) {
	a, b := openT(t, dsn), openT(t, dsn)
	defer a.Close()
	defer b.Close()

	const n = 150
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		s := a
		if w%2 == 1 {
			s = b
		}

		wg.Go(func() {
			var batch oem.Batch
			for i := range n {
				v := vin((i*31 + w*17) % n)
				batch.Vehicles = append(batch.Vehicles, oem.Vehicle{
					FleetEntry: oem.FleetEntry{VIN: v, Owner: fmt.Sprintf("Owner %d", i%5),
						Make: "BMW"},
					Model: fmt.Sprintf("m%d", i%7), Status: oem.StatusPending, RangeKm: 100 + w,
				})
				batch.History = append(batch.History, oem.StatusChange{VIN: v,
					To: oem.StatusPending, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
			}

			if err := s.SaveBatch(t.Context(), batch); err != nil {
				errs <- err
			}
		})
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("SaveBatch: %v", err)
	}

	vs, err := a.Vehicles(t.Context(), oem.VehicleQuery{})
	if err != nil || len(vs) != n {
		t.Fatalf("Vehicles: %d, %v; want %d", len(vs), err, n)
	}

	for _, v := range vs[:10] {
		hs, err := b.History(t.Context(), v.VIN)
		if err != nil || len(hs) != 1 {
			t.Errorf("History(%s) = %d rows, %v; want 1", v.VIN, len(hs), err)
		}
	}
}

func TestRunRecord(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		id, err := s.StartRun(t.Context(), oem.Run{Owner: "Ayvens", DryRun: true, StartedAt: start})
		if err != nil {
			t.Fatalf("StartRun: %v", err)
		}

		err = s.FinishRun(t.Context(), oem.Run{ID: id, State: "failed",
			FinishedAt: start.Add(time.Minute), Report: []byte(`{"errors": {"auth": 1}}`)})
		if err != nil {
			t.Fatalf("FinishRun: %v", err)
		}

		r, err := s.Run(t.Context(), id)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}

		if r.Owner != "Ayvens" || !r.DryRun || r.State != "failed" || !r.StartedAt.Equal(start) ||
			!r.FinishedAt.Equal(start.Add(time.Minute)) ||
			!strings.Contains(strings.ReplaceAll(string(r.Report), " ", ""), `{"errors":{"auth":1}}`) {
			t.Errorf("Run = %+v (report %s)", r, r.Report)
		}

		if err := s.FinishRun(t.Context(), oem.Run{ID: id, State: "done"}); !errors.Is(err,
			oem.ErrInvalidInput) {
			t.Errorf("FinishRun with state done: err = %v, want ErrInvalidInput", err)
		}

		if err := s.FinishRun(t.Context(), oem.Run{ID: id, Report: []byte("{")}); !errors.Is(err,
			oem.ErrInvalidInput) {
			t.Errorf("FinishRun with a bad report: err = %v, want ErrInvalidInput", err)
		}
	})
}

func TestHistoryIsAppendOnly(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin(1)}}},
			History: []oem.StatusChange{{VIN: vin(1), To: oem.StatusActive,
				At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}})

		for _, q := range []string{
			"UPDATE vehicle_activation_history SET reason = 'rewritten'",
			"DELETE FROM vehicle_activation_history",
		} {
			if _, err := s.DB().ExecContext(t.Context(), q); err == nil ||
				!strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", q, err)
			}
		}
	})
}

func TestBatchOfUnknownRun(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		err := s.SaveBatch(t.Context(), oem.Batch{RunID: 4242,
			Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin(1)}}},
			History: []oem.StatusChange{{VIN: vin(1), To: oem.StatusActive,
				At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		})
		if !errors.Is(err, oem.ErrInvalidInput) {
			t.Errorf("a batch of a run that does not exist: err = %v, want ErrInvalidInput", err)
		}

		if vs, _ := s.Vehicles(t.Context(), oem.VehicleQuery{}); len(vs) != 0 {
			t.Errorf("the failed batch stored %d vehicles", len(vs))
		}
	})
}

// TestLargeBatch writes batches large enough for PostgreSQL's COPY path,
// twice on one connection pool, and checks the merge there too.
func TestLargeBatch(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		const n = 1200
		var b oem.Batch
		for i := range n {
			b.Vehicles = append(b.Vehicles, oem.Vehicle{
				FleetEntry: oem.FleetEntry{VIN: vin(i), Owner: fmt.Sprintf("Owner %d", i%3),
					Make: "BMW", Country: "FR", StartDate: at, WantActive: true},
				Connector: "bmw", Model: fmt.Sprintf("m%d", i%250), BatteryKWh: 40 + float64(i%5),
				Status: oem.StatusPending, RawStatus: "PENDING", SeenAt: at, UpdatedAt: at,
				Sources: map[oem.Field]string{oem.FieldModel: "bmw:model"},
			})
			b.History = append(b.History, oem.StatusChange{VIN: vin(i), Connector: "bmw",
				From: oem.StatusInactive, To: oem.StatusPending, At: at})
		}

		for range 2 { // the second time everything is there already
			stSave(t, s, b)
		}

		// The next run: only status and a new source known.
		var next oem.Batch
		for i := range n {
			next.Vehicles = append(next.Vehicles, oem.Vehicle{
				FleetEntry: oem.FleetEntry{VIN: vin(i), WantActive: true},
				Status:     oem.StatusActive, UpdatedAt: at.Add(time.Hour),
				Sources: map[oem.Field]string{oem.FieldRangeKm: "bmw:range"},
			})
			next.History = append(next.History, oem.StatusChange{VIN: vin(i), Connector: "bmw",
				From: oem.StatusPending, To: oem.StatusActive, At: at.Add(time.Hour)})
		}

		stSave(t, s, next)

		vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
		if err != nil || len(vs) != n {
			t.Fatalf("Vehicles: %d, %v; want %d", len(vs), err, n)
		}

		for i, v := range vs {
			if v.VIN != vin(i) || v.Owner != fmt.Sprintf("Owner %d", i%3) || v.Model !=
				fmt.Sprintf("m%d", i%250) || v.Status != oem.StatusActive || v.RawStatus != "" ||
				!v.SeenAt.Equal(at) || v.ModelID == 0 || len(v.Sources) != 2 {
				t.Fatalf("vehicle %d = %+v", i, v)
			}
		}

		ms, err := s.Models(t.Context())
		if err != nil || len(ms) != 250 {
			t.Errorf("Models: %d, %v; want 250", len(ms), err)
		}

		hs, err := s.History(t.Context(), vin(7))
		if err != nil || len(hs) != 2 || hs[1].To != oem.StatusActive {
			t.Errorf("History = %+v, %v; want pending then active", hs, err)
		}
	})
}

func TestClock(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		at := time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC)
		s, err := store.Open(t.Context(), dsn, store.WithClock(func() time.Time { return at }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{{FleetEntry: oem.FleetEntry{VIN: vin(1)}}}})
		vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
		if err != nil || len(vs) != 1 || !vs[0].UpdatedAt.Equal(at) {
			t.Errorf("Vehicles = %+v, %v; want UpdatedAt %v from the clock", vs, err, at)
		}

		id, err := s.StartRun(t.Context(), oem.Run{})
		if err != nil {
			t.Fatal(err)
		}

		if err := s.FinishRun(t.Context(), oem.Run{ID: id}); err != nil {
			t.Fatal(err)
		}

		r, err := s.Run(t.Context(), id)
		if err != nil || !r.StartedAt.Equal(at) || !r.FinishedAt.Equal(at) || r.State != "ok" {
			t.Errorf("Run = %+v, %v; want started and finished at %v, state ok", r, err, at)
		}
	})
}

// lib/pq's key=value form opens PostgreSQL, never a SQLite file named after
// the DSN (password and all).
func TestOpenKeyValueDSN(t *testing.T) {
	t.Parallel()

	// A closed port: the point is which driver is used, not the server.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	const dsn = "host=127.0.0.1 port=1 user=postgres password=fake-pw-77 dbname=test sslmode=disable"
	_, err := store.Open(ctx, dsn)
	if err == nil || strings.Contains(err.Error(), "fake-pw-77") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("Open(key=value) err = %v; want a PostgreSQL connection error naming the host, not the password", err)
	}

	if _, err := os.Stat(dsn); err == nil {
		os.Remove(dsn)
		t.Fatal("Open created a SQLite file named after the DSN")
	}
}

// A number the 32-bit columns cannot hold fails the batch with a typed
// error naming the vehicle and the field, on every dialect.
func TestSaveBatchRefusesOutOfRangeNumbers(t *testing.T) {
	t.Parallel()

	dsns := []string{filepath.Join(t.TempDir(), "v.db")}
	if os.Getenv("VEHICLEINFO_TEST_DATABASE_URL") != "" {
		dsns = append(dsns, testdb.PostgresDSN(t))
	}

	for _, dsn := range dsns {
		s := openT(t, dsn)
		err := s.SaveBatch(t.Context(), oem.Batch{Vehicles: []oem.Vehicle{
			{FleetEntry: oem.FleetEntry{VIN: vin(1)}, Model: "i3", ModelYear: 1 << 40}}})
		if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), string(vin(1))) ||
			!strings.Contains(err.Error(), "model year") {
			t.Errorf("%s: err = %v", s.Dialect(), err)
		}
	}
}
