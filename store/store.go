package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"    // the "postgres" driver and its DSN parser
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/vehicleinfo/ingest/oem"
)

// DB is the SQL store. It implements oem.Store and is safe for concurrent
// use.
type DB struct {
	db     *sqlx.DB
	d      dialect
	log    *slog.Logger
	now    func() time.Time
	schema string // the PostgreSQL schema migrations apply to
}

var _ oem.Store = (*DB)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	now      func() time.Time
	migrate  bool
	maxConns int
}

// WithMaxOpenConns caps the PostgreSQL connection pool at n connections
// (default 10). SQLite always uses one.
func WithMaxOpenConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = n
		}
	}
}

// connectTimeout bounds Open's first contact with the server when ctx has
// no deadline of its own.
const connectTimeout = 15 * time.Second

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithClock sets the clock used for the times the store stamps itself
// (UpdatedAt when the caller leaves it zero, run start and end). The
// default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithoutMigrate makes Open skip applying migrations. Open still fails when
// the database was migrated by a newer version of this library; call Migrate
// before using a database that is not up to date.
func WithoutMigrate() Option {
	return func(o *options) { o.migrate = false }
}

// Open connects to the database named by dsn, applies the embedded
// migrations and returns the store.
//
// The DSN picks the database:
//
//   - postgres://… or postgresql://…, or lib/pq's key=value form starting
//     with any libpq or lib/pq keyword (host=… dbname=…, sslrootcert=… host=…,
//     case-sensitive as in libpq): PostgreSQL through lib/pq; the DSN is
//     passed on as it is (sslmode, search_path and other parameters
//     included), with binary_parameters=yes added unless it sets it;
//   - sqlite:path, sqlite://path, file:path, :memory: or a plain file path:
//     SQLite through modernc.org/sqlite, with WAL, a busy timeout of 5 s and
//     foreign keys on; query parameters the driver knows are kept. A string
//     that sets password= is never taken for a SQLite path.
//
// Open fails with an error wrapping oem.ErrInvalidInput for any other
// scheme, for a password= it would otherwise have taken for a file, for a
// PostgreSQL DSN lib/pq cannot parse, and for a URL whose user name or
// password holds a '#', '?' or '/' not percent-encoded (%23, %3F, %2F), all
// before anything is dialled; with the driver's error when the server
// cannot be reached; and with an error wrapping ErrSchemaTooNew when the
// database was migrated by a newer version of this library. Errors never
// repeat the DSN, which may hold a password.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	o := options{
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:      time.Now,
		migrate:  true,
		maxConns: 10,
	}
	for _, opt := range opts {
		opt(&o)
	}

	d, driverDSN, where, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}

	raw, err := sql.Open(d.driver, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("store: open %s %s: %w", d.name, where, err)
	}

	if d.name == "sqlite" {
		// One connection: SQLite has one writer at a time, and a single
		// connection queues callers in database/sql instead of failing
		// them with "database is locked". It also keeps :memory: one
		// database.
		raw.SetMaxOpenConns(1)
	} else {
		raw.SetMaxOpenConns(o.maxConns)
		raw.SetMaxIdleConns(o.maxConns)
	}

	s := &DB{db: sqlx.NewDb(raw, d.driver), d: d, log: o.logger, now: o.now}
	pingCtx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		pingCtx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}

	if err := ping(pingCtx, raw, d); err != nil {
		raw.Close()

		return nil, fmt.Errorf("store: connect to %s %s: %w", d.name, where, err)
	}

	if d.name == "postgres" {
		if err := s.db.GetContext(ctx, &s.schema, "SELECT current_schema()"); err != nil {
			raw.Close()

			return nil, fmt.Errorf("store: %s %s: %w", d.name, where, err)
		}
	}

	if o.migrate {
		err = s.Migrate(ctx)
	} else {
		err = s.checkVersion(ctx)
	}

	if err != nil {
		raw.Close()

		return nil, err
	}

	return s, nil
}

// ping checks the connection. On SQLite, opening a file another
// connection is busy migrating or writing can fail at once with
// SQLITE_BUSY (switching to WAL does not wait for the busy handler), so it
// tries again for as long as ctx allows.
func ping(ctx context.Context, raw *sql.DB, d dialect) error {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := raw.PingContext(ctx)
		if err == nil || d.name != "sqlite" || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}

		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Close releases the store's locks and connections.
func (s *DB) Close() error {
	releaseLocks(s)

	return s.db.Close()
}

// Dialect names the database: "postgres" or "sqlite".
func (s *DB) Dialect() string { return s.d.name }

// DB returns the underlying connection pool, for callers that read the
// tables directly. Writes should go through the store's methods. On
// PostgreSQL the pool sends []byte parameters in binary (lib/pq's
// binary_parameters, unless the DSN turned it off): pass JSON for a jsonb
// column as a string.
func (s *DB) DB() *sqlx.DB { return s.db }

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// pqKeywords are the keywords a key=value connection string may start
// with: libpq's (PostgreSQL's "Parameter Key Words", up to version 18) and
// lib/pq's own. Like libpq, the match is case-sensitive.
var pqKeywords = []string{
	// libpq
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
	"require_auth", "channel_binding", "connect_timeout", "client_encoding",
	"options", "application_name", "fallback_application_name", "keepalives",
	"keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "replication", "gssencmode", "sslmode", "sslnegotiation",
	"sslcompression", "sslcert", "sslkey", "sslkeylogfile", "sslpassword",
	"sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
	"requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version",
	"min_protocol_version", "max_protocol_version", "krbsrvname", "gsslib",
	"gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
	"scram_client_key", "scram_server_key", "oauth_issuer", "oauth_client_id",
	"oauth_client_secret", "oauth_scope",
	// lib/pq
	"binary_parameters", "disable_prepared_binary_result", "krbspn", "sslinline",
	"datestyle", "tz", "geqo", "database",
}

// kv matches lib/pq's key=value connection strings: a keyword first (after
// the spaces parseDSN trims), spaces allowed around the '='.
var kv = regexp.MustCompile(`^(` + strings.Join(pqKeywords, "|") + `)\s*=`)

var kvBinary = regexp.MustCompile(`(^|\s)binary_parameters\s*=`)

// kvPassword finds a password setting in a string that is not a PostgreSQL
// DSN the store recognises, so that it is never opened as a SQLite file.
var kvPassword = regexp.MustCompile(`(?i)password\s*=`)

// parseDSN picks the dialect and returns the DSN to hand to the driver and
// a description of where it points that is safe to print.
func parseDSN(dsn string) (dialect, string, string, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return dialect{}, "", "", fmt.Errorf("store: empty DSN: %w", oem.ErrInvalidInput)
	}

	scheme := ""
	if m := schemeRE.FindStringSubmatch(dsn); m != nil && len(m[1]) > 1 {
		scheme = strings.ToLower(m[1]) // one letter is a Windows drive, not a scheme
	}

	switch scheme {
	case "postgres", "postgresql":
		// url.Parse ends the user info at the first '/', '?' or '#': a
		// password holding one is cut there, and what comes before it
		// taken for the host, to be dialled and printed, or refused as a
		// bad port. lib/pq ignores fragments, so a '#' is never meant.
		u, err := url.Parse(dsn)
		if err == nil && u.Port() != "" {
			_, err = strconv.ParseUint(u.Port(), 10, 16)
		}

		if err != nil {
			return dialect{}, "", "", fmt.Errorf("store: bad postgres URL: check the host and "+
				"port, and percent-encode '#', '?', '/' and '@' in the user name and "+
				"password (as %%23, %%3F, %%2F, %%40): %w", oem.ErrInvalidInput)
		}

		if strings.Contains(dsn, "#") || (u.User == nil && strings.Contains(dsn, "@")) {
			return dialect{}, "", "", fmt.Errorf("store: bad postgres DSN: percent-encode "+
				"'#', '?' and '/' in the user name and password ('#' as %%23, '?' as %%3F, "+
				"'/' as %%2F) and any '@' after the host (as %%40): %w", oem.ErrInvalidInput)
		}

		// lib/pq drops a query parameter it cannot unescape without a word.
		if _, err := url.ParseQuery(u.RawQuery); err != nil {
			return dialect{}, "", "", fmt.Errorf("store: bad postgres DSN: a query parameter "+
				"is not percent-encoded properly: %w", oem.ErrInvalidInput)
		}

		return postgresDSN(oneRoundTrip(dsn, u.Query().Has("binary_parameters"), "&"))
	case "sqlite":
		path := strings.TrimPrefix(dsn[len("sqlite:"):], "//")

		return sqliteDSN(path)
	case "file", "":
		if kv.MatchString(dsn) {
			// lib/pq's key=value form ("host=… dbname=…"): PostgreSQL,
			// never a file named after it.
			return postgresDSN(oneRoundTrip(dsn, kvBinary.MatchString(dsn), " "))
		}

		return sqliteDSN(dsn)
	}

	return dialect{}, "", "", fmt.Errorf(
		"store: unsupported DSN scheme %q (want postgres://, postgresql://, sqlite:, file:, "+
			":memory: or a file path): %w", scheme, oem.ErrInvalidInput)
}

// postgresDSN checks that lib/pq can parse dsn, before anything is dialled,
// and describes the server it names. lib/pq's parse errors quote the DSN (a
// value it cannot read, or the word before a missing '=', which may be half
// a password with a space in it), so they are not passed on.
func postgresDSN(dsn string) (dialect, string, string, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return dialect{}, "", "", fmt.Errorf("store: bad postgres DSN: lib/pq cannot parse it "+
			"(or the PG* environment variables); its message is left out, as it may quote "+
			"the password: %w", oem.ErrInvalidInput)
	}

	host := cfg.Host
	if cfg.Hostaddr.IsValid() {
		host = cfg.Hostaddr.String()
	}

	where := "at " + net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	if n := len(cfg.Multi); n > 0 {
		where += fmt.Sprintf(" (and %d more)", n)
	}

	return postgres, dsn, where, nil
}

// oneRoundTrip sets lib/pq's binary_parameters on a PostgreSQL DSN that
// does not set it: a statement with parameters then goes to the server in
// one round trip instead of two (a Parse, then a Bind), which halves the
// cost of the store's small statements on a database across a network.
// The only other effect is that []byte parameters are sent in binary; the
// store passes none.
func oneRoundTrip(dsn string, set bool, sep string) string {
	if set {
		return dsn
	}

	if sep == "&" && !strings.Contains(dsn, "?") {
		sep = "?"
	}

	return dsn + sep + "binary_parameters=yes"
}

// sqliteDSN adds the pragmas the store needs to a SQLite path or file: URI.
func sqliteDSN(path string) (dialect, string, string, error) {
	name := path
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}

	if strings.TrimPrefix(name, "file:") == "" {
		return dialect{}, "", "", fmt.Errorf("store: sqlite DSN without a path: %w",
			oem.ErrInvalidInput)
	}

	if kvPassword.MatchString(path) {
		// Most likely a PostgreSQL key=value DSN starting with a setting the
		// store does not know: a file named after it would hold the password.
		return dialect{}, "", "", fmt.Errorf("store: the DSN sets a password but is no "+
			"PostgreSQL DSN the store recognises (postgres://… or key=value starting with a "+
			"libpq keyword such as host=); refusing to open it as a SQLite file: %w",
			oem.ErrInvalidInput)
	}

	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}

	params := "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if !strings.Contains(name, ":memory:") && !strings.Contains(path, "mode=memory") {
		params += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}

	return sqlite, path + sep + params, "file " + strings.TrimPrefix(name, "file:"), nil
}

// ErrSchemaTooNew is wrapped by Open's error when the database was migrated
// by a newer version of this library than the one running.
var ErrSchemaTooNew = errors.New("database schema is newer than this library")
