package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// wantRefused checks that parseDSN refuses dsn with oem.ErrInvalidInput, in
// a message holding want and none of the pieces leak.
func wantRefused(t *testing.T, dsn, want string, leak ...string) {
	t.Helper()

	_, _, _, err := parseDSN(dsn)
	if !errors.Is(err, oem.ErrInvalidInput) || !strings.Contains(err.Error(), want) {
		t.Errorf("parseDSN(%q) = %v; want oem.ErrInvalidInput saying %q", dsn, err, want)

		return
	}

	for _, l := range leak {
		if strings.Contains(err.Error(), l) {
			t.Errorf("parseDSN(%q): the error repeats %q: %v", dsn, l, err)
		}
	}
}

// lib/pq's parse errors quote the DSN; the store's say only that it is bad.
func TestParseDSNHidesDriverParseErrors(t *testing.T) {
	t.Parallel()

	for _, dsn := range []string{
		// A password with a space: lib/pq names "fake-tail" as a key
		// missing its '='.
		"host=127.0.0.1 port=1 user=u password=fake-secret fake-tail",
		"host=127.0.0.1 port=fake-secret",
		"host=127.0.0.1 sslmode=fake-secret",
		"host=127.0.0.1 password='fake-secret",
		"postgres://u@127.0.0.1:1/db?port=fake-secret",
		"postgres://u@127.0.0.1:1/db?sslmode=fake-secret",
	} {
		wantRefused(t, dsn, "bad postgres DSN", "fake-", "pq:")
	}
}

// A URL with a bad port, or a query value lib/pq would drop unread, is
// refused before anything is dialled, saying what to check.
func TestParseDSNRefusesBadURLParts(t *testing.T) {
	t.Parallel()

	for _, c := range []struct{ dsn, hint string }{
		{"postgres://u:fake-secret@127.0.0.1:notaport/db", "check the host and port"},
		{"postgres://u:fake-secret@127.0.0.1:99999/db", "check the host and port"},
		{"postgres://u:fake-secret@[::1/db", "check the host and port"},
		{"postgres://u:fake-secret@127.0.0.1:5432/db?sslmode=%zz", "not percent-encoded"},
	} {
		wantRefused(t, c.dsn, c.hint, "fake-")
	}
}

// A '#', '?' or '/' in a URL's password leaves its first part as the host;
// the DSN is refused before anything is dialled, without repeating it.
func TestParseDSNRefusesUnescapedPasswordInURL(t *testing.T) {
	t.Parallel()

	for _, c := range []struct{ dsn, hint string }{
		// The part before the '#' or '?' parses as host and port.
		{"postgres://admin:4711#fake-pw@db.example.invalid:5432/x", "%23"},
		{"postgresql://admin:4711?fake-pw@db.example.invalid:5432/x", "%3F"},
		{"postgres://admin:47/fake-pw@db.example.invalid/x", "%2F"},
		// It does not.
		{"postgres://admin:fake-pw#1@db.example.invalid:5432/x", "%23"},
		{"postgres://db.example.invalid/x#fake-fragment", "%23"},
	} {
		wantRefused(t, c.dsn, c.hint, "admin", "47", "fake-", "db.example.invalid")
	}

	// Percent-encoded, the same password is fine.
	_, _, where, err := parseDSN("postgres://admin:4711%23fake-pw@db.example.invalid:5432/x")
	if err != nil || where != "at db.example.invalid:5432" {
		t.Errorf("parseDSN(escaped password) = %q, %v; want at db.example.invalid:5432", where, err)
	}
}

// Messages name the server lib/pq parsed from the DSN, never a piece of a
// quoted password that looks like a host.
func TestParseDSNWhere(t *testing.T) {
	t.Parallel()

	for _, c := range []struct{ dsn, want string }{
		{"host=h port=6543 dbname=v", "at h:6543"},
		{"password='fake-secret host=fake-host' host=h", "at h:5432"},
		{"hostaddr=127.0.0.1 port=1", "at 127.0.0.1:1"},
		{"host=h1,h2,h3 dbname=v", "at h1:5432 (and 2 more)"},
		{"postgres://u:fake-secret@127.0.0.1:1/db", "at 127.0.0.1:1"},
		{"postgres://u@[::1]:5433/db", "at [::1]:5433"},
	} {
		_, _, where, err := parseDSN(c.dsn)
		if err != nil || where != c.want {
			t.Errorf("parseDSN(%q) where = %q, %v; want %q", c.dsn, where, err, c.want)
		}
	}
}

// Open refuses a DSN lib/pq cannot parse before it dials anything, with
// the same message.
func TestOpenBadKeyValueDSN(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	_, err := Open(ctx, "host=127.0.0.1 port=1 user=u password=fake-secret fake-tail")
	if !errors.Is(err, oem.ErrInvalidInput) || strings.Contains(err.Error(), "fake-") ||
		strings.Contains(err.Error(), "connect to") {
		t.Errorf("Open = %v; want oem.ErrInvalidInput, before any dial, repeating nothing", err)
	}
}
