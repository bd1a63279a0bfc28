package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vehicleinfo/ingest/internal/filelock"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

var _ oem.Locker = (*DB)(nil)

// unlockTimeout bounds the statement that gives a PostgreSQL lock back. The
// connection is discarded afterwards whatever happens, which releases the
// lock too.
const unlockTimeout = 10 * time.Second

// TryLock takes the lock named key without waiting, as oem.Locker says. It
// reports false, with a nil error, when another holder has the lock: another
// process, another store, or an earlier TryLock of this store whose unlock
// has not been called. The returned unlock is safe to call more than once.
//
// On PostgreSQL the lock is a session-level advisory lock on a 64-bit key
// derived from the store's schema and key, so stores in different schemas of
// one database never block each other. It is held on a connection of its
// own, taken from the pool and kept until unlock, which then closes that
// connection: each held lock occupies one connection of the pool (see
// WithMaxOpenConns). A process that dies loses its connections and with
// them its locks.
//
// On SQLite the lock is an exclusive OS file lock on a file beside the
// database, named after it and the key ("fleet.db.lock-…"), created when
// missing and never deleted; the system drops it when the process dies. On
// systems without flock, and for in-memory databases, the lock holds only
// within this process (an in-memory database cannot be shared with another
// one anyway).
//
// Close does not give back locks still held, because database/sql leaves
// connections in use open; call unlock first. A lock whose store was closed
// is given back at the next TryLock of any store in this process, and when
// the process ends.
//
// TryLock fails with the context's error when ctx is done, and with an
// error wrapping oem.ErrInvalidInput when key is empty.
func (s *DB) TryLock(ctx context.Context, key string) (unlock func(), ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}

	if key == "" {
		return nil, false, fmt.Errorf("store: lock: empty key: %w", oem.ErrInvalidInput)
	}

	reapClosed()

	var release func()
	switch s.d.name {
	case "postgres":
		release, ok, err = s.tryAdvisoryLock(ctx, key)
	default:
		release, ok, err = s.trySQLiteLock(ctx, key)
	}

	if err != nil || !ok {
		return nil, ok, err
	}

	h := held.add(s, release)

	return h.unlock, true, nil
}

// advisoryKey is the PostgreSQL advisory lock key of key in schema: the
// first 8 bytes of the SHA-256 of both, read as a signed 64-bit integer.
func advisoryKey(schema, key string) int64 {
	sum := sha256.Sum256([]byte("vehicleinfo-lock\x00" + schema + "\x00" + key))

	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// tryAdvisoryLock takes the advisory lock of key on a connection of its own
// and returns the function that gives it back and closes the connection.
func (s *DB) tryAdvisoryLock(ctx context.Context, key string) (func(), bool, error) {
	id := advisoryKey(s.schema, key)

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %q: %w", key, err)
	}

	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&ok); err != nil {
		// The server may have granted the lock before the error (a
		// cancel that came late): never hand this session back to the
		// pool.
		discard(conn)

		return nil, false, fmt.Errorf("store: lock %q: %w", key, err)
	}

	if !ok {
		conn.Close() // this session holds nothing: back to the pool

		return nil, false, nil
	}

	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
		defer cancel()

		var released bool
		err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", id).Scan(&released)
		if err != nil || !released {
			s.log.Warn("store: advisory unlock failed; closing its connection releases it",
				slog.String("key", key), slog.Any("error", err))
		}

		discard(conn)
	}

	return release, true, nil
}

// discard closes the server connection behind conn instead of handing it
// back to the pool, so that no lock it may hold outlives the lock's holder.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close() // already closed by Raw; kept for the case Raw could not run
}

// trySQLiteLock takes the file lock of key beside the database, or an
// in-process lock when the database lives in memory.
func (s *DB) trySQLiteLock(ctx context.Context, key string) (func(), bool, error) {
	var path string
	err := s.db.GetContext(ctx, &path,
		"SELECT file FROM pragma_database_list WHERE name = 'main'")
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %q: find the database file: %w", key, err)
	}

	if path == "" { // :memory: or mode=memory: no other process can see it
		release, ok := procLocks.try(procKey{db: s, name: key})

		return release, ok, nil
	}

	unlock, ok, err := filelock.TryLock(lockPath(path, key))
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %q: %w", key, err)
	}

	return unlock, ok, nil
}

// lockPath names the lock file of key beside the database file: the key
// with anything but letters, digits, '.', '-' and '_' replaced by '_' (at
// most 64 bytes of it), then a short hash of the whole key so that keys
// that read the same after that never share a file.
func lockPath(dbPath, key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case b.Len() >= 64:
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}

	sum := sha256.Sum256([]byte(key))

	return dbPath + ".lock-" + b.String() + "-" + hex.EncodeToString(sum[:4])
}

// procKey names an in-process lock: of one store (db set) or of a lock file
// (db nil, name holding the file's path).
type procKey struct {
	db   *DB
	name string
}

// procLocks is the table of in-process locks.
var procLocks = procTable{taken: make(map[procKey]bool)}

type procTable struct {
	mu    sync.Mutex
	taken map[procKey]bool
}

// try takes k when free and returns the function that frees it.
func (p *procTable) try(k procKey) (func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.taken[k] {
		return nil, false
	}

	p.taken[k] = true

	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()

		delete(p.taken, k)
	}, true
}

// heldLock is one lock TryLock handed out.
type heldLock struct {
	owner   *DB
	release func()
	once    sync.Once
}

// unlock gives the lock back, once.
func (h *heldLock) unlock() {
	h.once.Do(func() {
		held.remove(h)
		h.release()
	})
}

// held lists the locks of this process not yet given back, so that those of
// closed stores can be.
var held = heldSet{locks: make(map[*heldLock]struct{})}

type heldSet struct {
	mu    sync.Mutex
	locks map[*heldLock]struct{}
}

func (hs *heldSet) add(owner *DB, release func()) *heldLock {
	h := &heldLock{owner: owner, release: release}

	hs.mu.Lock()
	defer hs.mu.Unlock()

	hs.locks[h] = struct{}{}

	return h
}

func (hs *heldSet) remove(h *heldLock) {
	hs.mu.Lock()
	defer hs.mu.Unlock()

	delete(hs.locks, h)
}

// releaseLocks gives back every lock s holds; Close calls it, so a closed
// store frees its locks for other processes at once.
func releaseLocks(s *DB) {
	held.mu.Lock()
	var mine []*heldLock
	for h := range held.locks {
		if h.owner == s {
			mine = append(mine, h)
		}
	}
	held.mu.Unlock()

	for _, h := range mine {
		h.unlock()
	}
}

// reapClosed gives back the locks whose store was closed without Close
// having released them.
func reapClosed() {
	held.mu.Lock()
	var stale []*heldLock
	for h := range held.locks {
		if closed(h.owner) {
			stale = append(stale, h)
		}
	}
	held.mu.Unlock()

	for _, h := range stale {
		h.unlock()
	}
}

// closed reports whether s was closed, without any I/O: database/sql
// checks for a closed pool before it looks at the context.
func closed(s *DB) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	conn, err := s.db.Conn(ctx)
	if err == nil { // not expected with a done context; do not leak it
		conn.Close()

		return false
	}

	return !errors.Is(err, context.Canceled)
}
