package store

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// versionTable is the table that records the migrations applied, in the
// schema the store uses. It is not goose's default, goose_db_version, which
// an application migrating its own tables with goose in the same schema
// owns.
const versionTable = "vehicleinfo_schema_version"

// Migrate applies the embedded migrations the database lacks, recording
// them in the table vehicleinfo_schema_version. Open calls it unless
// WithoutMigrate is given. It fails with an error wrapping ErrSchemaTooNew
// when the database was migrated by a newer version of this library. On
// PostgreSQL concurrent callers on one schema wait for each other (an
// advisory lock); on SQLite the write lock serialises them. Another
// application's goose_db_version in the same schema is left alone.
func (s *DB) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}

	if s.d.name == "sqlite" {
		// Two processes opening a fresh file at once would both see no
		// schema and both create it: take the file's migration lock.
		unlock, err := s.waitLock(ctx, "vehicleinfo/migrate")
		if err != nil {
			return fmt.Errorf("store: migrate sqlite: %w", err)
		}
		defer unlock()
	}

	if err := s.adoptOldVersionTable(ctx, p); err != nil {
		return err
	}

	if err := s.checkVersionWith(ctx, p); err != nil {
		return err
	}

	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.d.name, err)
	}

	for _, r := range results {
		s.log.InfoContext(ctx, "store: applied migration", "dialect", s.d.name,
			"version", r.Source.Version, "duration", r.Duration)
	}

	return nil
}

// SchemaVersion returns the version the database is migrated to and the
// newest version this library embeds.
func (s *DB) SchemaVersion(ctx context.Context) (current, newest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}

	return s.versions(ctx, p)
}

func (s *DB) checkVersion(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}

	return s.checkVersionWith(ctx, p)
}

func (s *DB) checkVersionWith(ctx context.Context, p *goose.Provider) error {
	current, newest, err := s.versions(ctx, p)
	if err != nil {
		return err
	}

	if current > newest {
		return fmt.Errorf("store: %s database is at schema version %d, this library knows "+
			"versions up to %d; upgrade the library: %w", s.d.name, current, newest, ErrSchemaTooNew)
	}

	return nil
}

// versions reads the database's schema version; a database the store never
// migrated is at version 0.
func (s *DB) versions(ctx context.Context, p *goose.Provider) (current, newest int64, err error) {
	sources := p.ListSources()
	newest = sources[len(sources)-1].Version

	exists, err := s.tableExists(ctx, versionTable)
	if err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}

	if !exists {
		return 0, newest, nil
	}

	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}

	return current, newest, nil
}

// tableExists reports whether the store's schema has a table of that name.
func (s *DB) tableExists(ctx context.Context, name string) (bool, error) {
	var exists bool
	q := "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"
	if s.d.name == "postgres" {
		q = "SELECT to_regclass(?) IS NOT NULL"
	}

	err := s.db.GetContext(ctx, &exists, s.db.Rebind(q), name)

	return exists, err
}

// adoptOldVersionTable takes over the goose_db_version table of a database
// an earlier version of this library migrated, before it kept its own
// table: when the store's tables are there, its own version table is not,
// and goose_db_version records no version this library does not know,
// that table is the store's and is renamed to versionTable. Any other
// goose_db_version belongs to another application and is left alone.
func (s *DB) adoptOldVersionTable(ctx context.Context, p *goose.Provider) error {
	const old = "goose_db_version"
	for _, t := range []struct {
		name string
		want bool
	}{{versionTable, false}, {old, true}, {"vehicle_activation_history", true}} {
		ok, err := s.tableExists(ctx, t.name)
		if err != nil {
			return fmt.Errorf("store: read schema version: %w", err)
		}

		if ok != t.want {
			return nil
		}
	}

	sources := p.ListSources()
	var highest int64
	err := s.db.GetContext(ctx, &highest,
		"SELECT coalesce(max(version_id), 0) FROM "+old+" WHERE is_applied")
	if err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}

	if highest > sources[len(sources)-1].Version {
		return nil
	}

	q := "ALTER TABLE " + old + " RENAME TO " + versionTable
	if s.d.name == "postgres" {
		q = "ALTER TABLE IF EXISTS " + old + " RENAME TO " + versionTable // a racing Open did it
	}

	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("store: adopt %s: %w", old, err)
	}

	s.log.InfoContext(ctx, "store: schema versions now recorded in "+versionTable,
		"dialect", s.d.name, "was", old)

	return nil
}

func (s *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, s.d.migrations)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}

	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(versionTable)}
	if s.d.name == "postgres" {
		// One lock per schema: migrations of different schemas (parallel
		// tests, tenants) do not wait for one another.
		h := fnv.New64a()
		h.Write([]byte("vehicleinfo/store:" + s.schema))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}

		opts = append(opts, goose.WithSessionLocker(locker))
	}

	p, err := goose.NewProvider(s.d.goose, s.db.DB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}

	return p, nil
}

// waitLock takes the named lock, waiting for another holder to give it up
// for as long as ctx allows.
func (s *DB) waitLock(ctx context.Context, key string) (func(), error) {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		unlock, ok, err := s.TryLock(ctx, key)
		if err != nil {
			return nil, err
		}

		if ok {
			return unlock, nil
		}

		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
