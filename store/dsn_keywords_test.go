package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A key=value DSN is PostgreSQL whichever libpq or lib/pq keyword it starts
// with, with spaces around the '=' or before the first key.
func TestParseDSNKeyValueKeywords(t *testing.T) {
	t.Parallel()

	for _, dsn := range []string{
		"options=-cfoo=bar host=127.0.0.1 port=1 password=fake-secret",
		"sslrootcert=/nonexistent/root.crt host=h sslmode=verify-full",
		"sslcert=/nonexistent/c.crt sslkey=/nonexistent/c.key host=h",
		"sslpassword=fake-secret host=h",
		"target_session_attrs=read-write host=h",
		"passfile=/nonexistent/pgpass host=h",
		"keepalives=1 keepalives_idle=30 host=h",
		"application_name=vehicleinfo host=h",
		"fallback_application_name=vehicleinfo host=h",
		"connect_timeout=5 host=h",
		"binary_parameters=no host=h",
		"disable_prepared_binary_result=yes host=h",
		"krbsrvname=postgres host=h",
		"krbspn=postgres/h host=h",
		"database=v host=h",
		"  \n\thost = h port =1 dbname= v",
	} {
		d, _, _, err := parseDSN(dsn)
		if err != nil || d.name != "postgres" {
			t.Errorf("parseDSN(%q) = %q, %v; want postgres", dsn, d.name, err)
		}
	}

	// Keywords are case-sensitive, as in libpq: this is a file name.
	if d, _, _, err := parseDSN("HOST=h"); err != nil || d.name != "sqlite" {
		t.Errorf("parseDSN(HOST=h) = %q, %v; want sqlite", d.name, err)
	}
}

// A string that sets a password is never opened as a SQLite file, whatever
// it starts with, and the error does not repeat it.
func TestParseDSNRefusesPasswordAsSQLitePath(t *testing.T) {
	t.Parallel()

	for _, dsn := range []string{
		"HOST=h password=fake-secret",
		"search_path=x password = fake-secret",
		"sqlite:x password=fake-secret",
		"file:x.db?PASSWORD=fake-secret",
		"/tmp/x user=u password=fake-secret",
	} {
		wantRefused(t, dsn, "refusing to open it as a SQLite file", "fake-secret", dsn)
	}
}

// The reproduction of the defect: Open took this DSN for SQLite and created
// a file named after it, password and all.
func TestOpenKeyValueDSNStartingWithOptions(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	// Loopback, closed port: the point is which driver Open picks.
	const dsn = "options=-cfoo=bar host=127.0.0.1 port=1 password=fake-secret sslmode=disable"
	s, err := Open(ctx, dsn)
	if err == nil {
		s.Close()
	}

	if made, _ := filepath.Glob(dsn + "*"); len(made) > 0 { // the file, its WAL, its lock
		for _, f := range made {
			os.Remove(f)
		}

		t.Fatal("Open created a SQLite file named after the DSN")
	}

	if err == nil || !strings.Contains(err.Error(), "connect to postgres at 127.0.0.1") {
		t.Errorf("Open = %v; want a PostgreSQL connection error", err)
	}

	if err != nil && strings.Contains(err.Error(), "fake-secret") {
		t.Errorf("the error repeats the password: %v", err)
	}
}
