// Package testdb gives tests a PostgreSQL database of their own: a fresh
// schema in the database VEHICLEINFO_TEST_DATABASE_URL names, dropped when
// the test ends, so tests can run in parallel.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver
)

// EnvDSN names the variable holding the test database's DSN, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvDSN = "VEHICLEINFO_TEST_DATABASE_URL"

// EnvRequire, set to 1, makes a missing DSN fail the test instead of skipping
// it: CI sets it so the database tests never silently vanish.
const EnvRequire = "VEHICLEINFO_REQUIRE_DB"

// BaseDSN returns the DSN of the test database, skipping t when it is not
// set, or failing t when EnvRequire is set.
func BaseDSN(t testing.TB) string {
	t.Helper()

	dsn := os.Getenv(EnvDSN)
	if dsn != "" {
		return dsn
	}

	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s is not set but %s=1: the database tests must run", EnvDSN, EnvRequire)
	}

	t.Skipf("set %s to a PostgreSQL DSN to run this test", EnvDSN)

	return ""
}

// PostgresDSN creates a schema with a random name in the test database and
// returns a DSN whose search_path is that schema. The schema is dropped when
// t ends. It skips or fails as BaseDSN does when no database is set.
func PostgresDSN(t testing.TB) string {
	t.Helper()

	base := BaseDSN(t)

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", EnvDSN) // never print it: it may hold a password
	}

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}

	schema := "test_" + hex.EncodeToString(b[:])

	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("testdb: open: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := db.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		db.Close()
		t.Fatalf("testdb: create schema: %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		if _, err := db.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("testdb: drop schema %s: %v", schema, err)
		}

		db.Close()
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	return u.String()
}
