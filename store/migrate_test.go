package store_test

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

// rawDB opens the database a dialects DSN names with database/sql, as
// another application would.
func rawDB(t *testing.T, dsn string) (*sql.DB, goose.Dialect) {
	t.Helper()

	driver, name, dialect := "postgres", dsn, goose.DialectPostgres
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, name, dialect = "sqlite", path, goose.DialectSQLite3
	}

	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { db.Close() })

	return db, dialect
}

// gooseVersions lists the rows of goose's default version table.
func gooseVersions(t *testing.T, db *sql.DB) []string {
	t.Helper()

	rows, err := db.QueryContext(t.Context(),
		"SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	defer rows.Close()

	var got []string
	for rows.Next() {
		var v int64
		var applied bool
		if err := rows.Scan(&v, &applied); err != nil {
			t.Fatal(err)
		}

		got = append(got, fmt.Sprint(v, applied))
	}

	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	return got
}

// Another application that migrates its own tables with goose, in the same
// schema and goose's default table, neither stops the store from migrating
// nor has its table changed by it, whether it numbers its migrations from
// 1 or by timestamp.
func TestMigrateBesideAnotherGooseApp(t *testing.T) {
	t.Parallel()

	for _, version := range []int64{1, 20240101120000} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			t.Parallel()

			dialects(t, func(t *testing.T, dsn string) {
				db, dialect := rawDB(t, dsn)
				app, err := goose.NewProvider(dialect, db, fstest.MapFS{
					fmt.Sprintf("%d_app.sql", version): {Data: []byte(
						"-- +goose Up\nCREATE TABLE app_thing (id integer PRIMARY KEY);\n")},
				}, goose.WithDisableGlobalRegistry(true))
				if err != nil {
					t.Fatal(err)
				}

				if _, err := app.Up(t.Context()); err != nil {
					t.Fatalf("the other app's migration: %v", err)
				}

				before := gooseVersions(t, db)

				s, err := store.Open(t.Context(), dsn)
				if err != nil {
					t.Fatalf("Open beside the other app's goose_db_version: %v", err)
				}
				defer s.Close()

				current, newest, err := s.SchemaVersion(t.Context())
				if err != nil || current != newest {
					t.Errorf("SchemaVersion = %d, %d, %v; want the newest", current, newest, err)
				}

				stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
					{FleetEntry: oem.FleetEntry{VIN: vin(1)}, Model: "i3"}}})

				if after := gooseVersions(t, db); !reflect.DeepEqual(after, before) {
					t.Errorf("goose_db_version changed from %v to %v", before, after)
				}

				// The other app still sees itself up to date.
				if v, err := app.GetDBVersion(t.Context()); err != nil || v != version {
					t.Errorf("the other app's version = %d, %v; want %d", v, err, version)
				}
			})
		})
	}
}

// Stores opening a fresh database at once apply each migration once: the
// migration lock still holds with the store's own version table.
func TestMigrateConcurrentOpens(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		const n = 4
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				s, err := store.Open(t.Context(), dsn)
				if err != nil {
					errs <- err

					return
				}

				s.Close()
			})
		}

		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Open: %v", err)
		}

		db, _ := rawDB(t, dsn)
		var rows, versions int
		err := db.QueryRowContext(t.Context(), "SELECT count(*), count(DISTINCT version_id) "+
			"FROM vehicleinfo_schema_version WHERE version_id > 0").Scan(&rows, &versions)
		if err != nil || rows != versions || rows == 0 {
			t.Errorf("vehicleinfo_schema_version: %d rows for %d versions, %v; want one each",
				rows, versions, err)
		}
	})
}

// A database an earlier version of this library migrated recorded its
// versions in goose_db_version: Open takes that table over as its own and
// keeps the data.
func TestMigrateAdoptsEarlierVersionTable(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		stSave(t, s, oem.Batch{Vehicles: []oem.Vehicle{
			{FleetEntry: oem.FleetEntry{VIN: vin(1)}, Model: "i3"}}})
		s.Close()

		db, _ := rawDB(t, dsn)
		if _, err := db.ExecContext(t.Context(),
			"ALTER TABLE vehicleinfo_schema_version RENAME TO goose_db_version"); err != nil {
			t.Fatal(err)
		}

		s = openT(t, dsn)
		defer s.Close()

		current, newest, err := s.SchemaVersion(t.Context())
		if err != nil || current != newest {
			t.Errorf("SchemaVersion = %d, %d, %v; want the newest", current, newest, err)
		}

		vs, err := s.Vehicles(t.Context(), oem.VehicleQuery{})
		if err != nil || len(vs) != 1 || vs[0].Model != "i3" {
			t.Errorf("Vehicles after the take-over = %+v, %v; want the one saved before", vs, err)
		}

		var n int
		err = db.QueryRowContext(t.Context(), "SELECT count(*) FROM goose_db_version").Scan(&n)
		if err == nil {
			t.Errorf("goose_db_version still there (%d rows); want it renamed", n)
		}
	})
}
