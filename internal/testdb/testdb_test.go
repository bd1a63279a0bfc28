package testdb_test

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/internal/testdb"
)

func TestPostgresDSNGivesOwnSchema(t *testing.T) {
	t.Parallel()

	dsn := testdb.PostgresDSN(t)
	other := testdb.PostgresDSN(t)

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	schema := u.Query().Get("search_path")
	if !strings.HasPrefix(schema, "test_") || strings.Contains(other, schema) {
		t.Fatalf("schemas %q and %q: want two fresh test_ schemas", dsn, other)
	}

	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var current string
	if err := db.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&current); err != nil {
		t.Fatal(err)
	}

	if current != schema {
		t.Errorf("current_schema() = %q, want %q", current, schema)
	}
}
