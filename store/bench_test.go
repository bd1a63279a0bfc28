package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/vehicleinfo/ingest/internal/testdb"
	"github.com/vehicleinfo/ingest/oem"
)

// The save benchmarks compare three ways of writing vehicles to PostgreSQL:
// the store's SaveBatch, a bare COPY into a temporary table plus one merge
// (the ceiling), and one INSERT statement per row (what the replaced module
// did), each over loopback and over links with a round trip of a server on
// another host. Run them with the command in docs/BENCHMARKS.md.

const (
	benchVehicles  = 100_000
	benchBatch     = 5_000
	benchRowSample = 2_000
)

func benchFleet(n int) []oem.Vehicle {
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	vs := make([]oem.Vehicle, n)
	for i := range vs {
		vs[i] = oem.Vehicle{
			FleetEntry: oem.FleetEntry{
				VIN: oem.VIN(fmt.Sprintf("WBA%014d", i)), Owner: fmt.Sprintf("Owner %d", i%5),
				Make: "BMW", LicencePlate: fmt.Sprintf("AB-%06d", i), Country: "FR",
				StartDate: at, WantActive: true, Displayed: true,
			},
			Connector: "bmw", Account: "fleet-1", Model: fmt.Sprintf("model %d", i%20),
			Version: "MT337", Type: "94", ModelYear: 2020 + i%5, Powertrain: oem.PowertrainBEV,
			BatteryKWh: 42.2, RangeKm: 300, Status: oem.StatusActive, RawStatus: "ACTIVATED",
			StatusChangedAt: at, DescribedAt: at, SeenAt: at, UpdatedAt: at,
			Sources: map[oem.Field]string{oem.FieldModel: "bmw:basic:model",
				oem.FieldBatteryKWh: "bmw:basic:capacity"},
		}
	}

	return vs
}

// benchLinks are the links between the program and PostgreSQL the ways are
// measured over: none (both on this machine, over loopback), then relays
// holding each chunk for the given time each way, as a server on another
// host would be reached. Each sub-benchmark reports the round trip it
// measured (rtt_µs); the relay's sleeps run about 50 µs late.
var benchLinks = []struct {
	name   string
	oneWay time.Duration
}{
	{"loopback", 0},
	{"link_100us", 100 * time.Microsecond},
	{"link_250us", 250 * time.Microsecond},
	{"link_500us", 500 * time.Microsecond},
}

// benchStore opens a store on a fresh schema, reached over a link of
// oneWay each way, with the lookup rows and models the fleet needs already
// there, so that the ways write the same rows. It returns the DSN it
// opened.
func benchStore(b *testing.B, fleet []oem.Vehicle, oneWay time.Duration) (*DB, string) {
	b.Helper()

	dsn := testdb.PostgresDSN(b)
	if oneWay > 0 {
		dsn = testdb.Link(b, dsn, oneWay)
	}

	s, err := Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { s.Close() })

	if err := s.SaveBatch(b.Context(), oem.Batch{Vehicles: fleet[:100]}); err != nil {
		b.Fatal(err)
	}

	return s, dsn
}

// rowDB opens the connection the row-per-statement ways write through:
// with binary_parameters, lib/pq sends each statement and its values in one
// round trip (by default it takes two, a Parse then a Bind), as the
// replaced module's DB-API driver did. The server still parses and plans
// every statement, as it did for that module.
func rowDB(b *testing.B, dsn string) *sqlx.DB {
	b.Helper()

	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal("the DSN does not parse")
	}

	q := u.Query()
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()

	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { db.Close() })

	return db
}

// benchRTT is the median time of a SELECT 1 over the store's pool.
func benchRTT(b *testing.B, s *DB) time.Duration {
	b.Helper()

	rtts := make([]time.Duration, 0, 51)
	for range cap(rtts) {
		start := time.Now()
		if _, err := s.db.ExecContext(b.Context(), "SELECT 1"); err != nil {
			b.Fatal(err)
		}

		rtts = append(rtts, time.Since(start))
	}

	slices.Sort(rtts)

	return rtts[len(rtts)/2]
}

func benchReset(b *testing.B, s *DB) {
	b.Helper()

	q := "TRUNCATE vehicle_activation_history, vehicle"
	if _, err := s.db.ExecContext(b.Context(), q); err != nil {
		b.Fatal(err)
	}
}

// benchIDs reads the lookup and model IDs the raw ways use.
type benchIDs struct {
	region int64
	owners map[string]int64
	models map[string]int64
}

func readBenchIDs(b *testing.B, s *DB) benchIDs {
	b.Helper()

	ctx := b.Context()
	ids := benchIDs{owners: map[string]int64{}, models: map[string]int64{}}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}

	must(s.db.GetContext(ctx, &ids.region, "SELECT id FROM region WHERE country = 'FR'"))

	rows, err := s.db.QueryxContext(ctx, "SELECT id, name FROM fleet")
	must(err)
	for rows.Next() {
		var id int64
		var name string
		must(rows.Scan(&id, &name))
		ids.owners[name] = id
	}
	must(rows.Close())

	rows, err = s.db.QueryxContext(ctx, "SELECT id, model_name FROM vehicle_model")
	must(err)
	for rows.Next() {
		var id int64
		var name string
		must(rows.Scan(&id, &name))
		ids.models[name] = id
	}
	must(rows.Close())

	return ids
}

// rawRow is the row the raw ways write: the store's columns, values built
// the simple way.
func (ids benchIDs) rawRow(v oem.Vehicle) []any {
	src, _ := json.Marshal(v.Sources)

	return []any{
		string(v.VIN), ids.owners[v.Owner], ids.region, v.Make, ids.models[v.Model], v.Connector,
		nil, nil, nil, v.LicencePlate, v.StartDate.Format(dateLayout), nil, v.WantActive,
		v.Displayed, nil, nil, v.Account, v.Model, v.Version, v.Type, v.ModelYear,
		string(v.Powertrain), v.BatteryKWh, v.RangeKm, nil, nil, nil, string(v.Status),
		v.RawStatus, nil, v.StatusChangedAt, v.DescribedAt, v.SeenAt, nil, v.UpdatedAt,
		string(src),
	}
}

func rawMergeSQL() string {
	var set []string
	for _, c := range vehicleCols[1:] {
		set = append(set, c+" = excluded."+c)
	}

	cols := strings.Join(vehicleCols, ", ")

	return "INSERT INTO vehicle (" + cols + ") SELECT " + cols + " FROM tmp_raw " +
		"ON CONFLICT (vin) DO UPDATE SET " + strings.Join(set, ", ")
}

func rawCopy(ctx context.Context, db *sqlx.DB, rows [][]any) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	_, err = tx.ExecContext(ctx, "CREATE TEMP TABLE tmp_raw ON COMMIT DROP AS SELECT "+
		strings.Join(vehicleCols, ", ")+" FROM vehicle WITH NO DATA")
	if err != nil {
		return err
	}

	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("tmp_raw", vehicleCols...))
	if err != nil {
		return err
	}

	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return err
		}
	}

	if _, err := stmt.ExecContext(ctx); err != nil {
		return err
	}

	if err := stmt.Close(); err != nil {
		return err
	}

	if _, err := tx.ExecContext(ctx, rawMergeSQL()); err != nil {
		return err
	}

	return tx.Commit()
}

// benchLoop runs one timed save per b.N, after an untimed reset, and reports
// rows per second and the round trip to s's server.
func benchLoop(b *testing.B, s *DB, rows int, reset, save func()) {
	b.Helper()

	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		reset()
		b.StartTimer()

		start := time.Now()
		save()
		elapsed += time.Since(start)
	}

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(b.N*rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(benchRTT(b, s).Microseconds()), "rtt_µs")
}

func (s *DB) benchSaveAll(b *testing.B, fleet []oem.Vehicle) {
	b.Helper()
	s.benchSaveBy(b, fleet, benchBatch)
}

func (s *DB) benchSaveBy(b *testing.B, fleet []oem.Vehicle, size int) {
	b.Helper()

	for i := 0; i < len(fleet); i += size {
		batch := oem.Batch{Vehicles: fleet[i:min(i+size, len(fleet))]}
		if err := s.SaveBatch(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

func rowInsertSQL() string {
	ph := make([]string, len(vehicleCols))
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}

	var set []string
	for _, c := range vehicleCols[1:] {
		set = append(set, c+" = excluded."+c)
	}

	return "INSERT INTO vehicle (" + strings.Join(vehicleCols, ", ") + ") VALUES (" +
		strings.Join(ph, ", ") + ") ON CONFLICT (vin) DO UPDATE SET " + strings.Join(set, ", ")
}

func BenchmarkSaveVehiclesPostgres(b *testing.B) {
	testdb.BaseDSN(b)

	fleet := benchFleet(benchVehicles)
	// seen is the next run's view of the same fleet: every vehicle seen
	// again, one in ten with a new status.
	seen := make([]oem.Vehicle, len(fleet))
	for i, v := range fleet {
		v.SeenAt = v.SeenAt.Add(24 * time.Hour)
		v.UpdatedAt = v.SeenAt
		if i%10 == 0 {
			v.Status, v.RawStatus = oem.StatusInactive, "DEACTIVATED"
		}

		seen[i] = v
	}

	for _, link := range benchLinks {
		b.Run(link.name, func(b *testing.B) {
			// The store, inserting 100,000 new vehicles in batches of 5,000.
			b.Run("store_SaveBatch_insert", func(b *testing.B) {
				s, _ := benchStore(b, fleet, link.oneWay)
				benchLoop(b, s, len(fleet), func() { benchReset(b, s) }, func() { s.benchSaveAll(b, fleet) })
			})

			// The store, inserting the same vehicles in batches of the
			// Ingester's default size.
			b.Run("store_SaveBatch_insert_by_200", func(b *testing.B) {
				s, _ := benchStore(b, fleet, link.oneWay)
				benchLoop(b, s, len(fleet), func() { benchReset(b, s) },
					func() { s.benchSaveBy(b, fleet, oem.DefaultSaveBatchSize) })
			})

			// The store, inserting the same batches from 4 goroutines at once, as
			// an ingestion run does with one writer per connector.
			b.Run("store_SaveBatch_insert_4_writers", func(b *testing.B) {
				s, _ := benchStore(b, fleet, link.oneWay)
				benchLoop(b, s, len(fleet), func() { benchReset(b, s) }, func() {
					var g errgroup.Group
					for w := range 4 {
						g.Go(func() error {
							for i := w * benchBatch; i < len(fleet); i += 4 * benchBatch {
								batch := oem.Batch{Vehicles: fleet[i:min(i+benchBatch, len(fleet))]}
								if err := s.SaveBatch(b.Context(), batch); err != nil {
									return err
								}
							}

							return nil
						})
					}

					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				})
			})

			// The store, saving the next run's view of 100,000 stored vehicles.
			b.Run("store_SaveBatch_update", func(b *testing.B) {
				s, _ := benchStore(b, fleet, link.oneWay)
				benchLoop(b, s, len(fleet), func() { s.benchSaveAll(b, fleet) },
					func() { s.benchSaveAll(b, seen) })
			})

			// The ceiling: all 100,000 rows through one COPY into a temporary
			// table and one merge, no lookups, no model linking, no checks.
			b.Run("raw_COPY_merge", func(b *testing.B) {
				s, _ := benchStore(b, fleet, link.oneWay)
				ids := readBenchIDs(b, s)
				benchLoop(b, s, len(fleet), func() { benchReset(b, s) }, func() {
					rows := make([][]any, 0, len(fleet))
					for _, v := range fleet {
						rows = append(rows, ids.rawRow(v))
					}

					if err := rawCopy(b.Context(), s.db, rows); err != nil {
						b.Fatal(err)
					}
				})
			})

			// One INSERT statement per vehicle, all in one transaction. A
			// sample of 2,000 rows.
			b.Run("row_per_statement", func(b *testing.B) {
				s, dsn := benchStore(b, fleet, link.oneWay)
				ids, db := readBenchIDs(b, s), rowDB(b, dsn)
				q := rowInsertSQL()
				benchLoop(b, s, benchRowSample, func() { benchReset(b, s) }, func() {
					tx, err := db.BeginTxx(b.Context(), nil)
					if err != nil {
						b.Fatal(err)
					}

					for _, v := range fleet[:benchRowSample] {
						if _, err := tx.ExecContext(b.Context(), q, ids.rawRow(v)...); err != nil {
							b.Fatal(err)
						}
					}

					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				})
			})

			// One INSERT statement per vehicle, each its own transaction, as
			// code that commits after every vehicle does.
			b.Run("row_per_statement_autocommit", func(b *testing.B) {
				s, dsn := benchStore(b, fleet, link.oneWay)
				ids, db := readBenchIDs(b, s), rowDB(b, dsn)
				q := rowInsertSQL()
				benchLoop(b, s, benchRowSample, func() { benchReset(b, s) }, func() {
					for _, v := range fleet[:benchRowSample] {
						if _, err := db.ExecContext(b.Context(), q, ids.rawRow(v)...); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}
