package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/testdb"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

const lockKey = "vehicleinfo/connector/bmw"

// tryLock calls TryLock and fails t on an error.
func tryLock(t *testing.T, s *store.DB, key string) (func(), bool) {
	t.Helper()

	unlock, ok, err := s.TryLock(t.Context(), key)
	if err != nil {
		t.Fatalf("TryLock(%q): %v", key, err)
	}

	if ok != (unlock != nil) {
		t.Fatalf("TryLock(%q) = unlock %v, ok %v: want unlock exactly when ok",
			key, unlock != nil, ok)
	}

	return unlock, ok
}

// mustLock takes key and fails t when it is held.
func mustLock(t *testing.T, s *store.DB, key, why string) func() {
	t.Helper()

	unlock, ok := tryLock(t, s, key)
	if !ok {
		t.Fatalf("TryLock(%q) = false %s, want true", key, why)
	}

	return unlock
}

// mustNotLock fails t when key can be taken.
func mustNotLock(t *testing.T, s *store.DB, key, why string) {
	t.Helper()

	if unlock, ok := tryLock(t, s, key); ok {
		unlock()
		t.Fatalf("TryLock(%q) = true %s, want false", key, why)
	}
}

// testLockTwoStores checks exclusion between two stores opened on dsn.
func testLockTwoStores(t *testing.T, dsn string) {
	a, b := openT(t, dsn), openT(t, dsn)
	defer b.Close()

	unlockA := mustLock(t, a, lockKey, "on a free lock")
	mustNotLock(t, b, lockKey, "while the other store holds it")
	mustNotLock(t, a, lockKey, "while the same store holds it")

	unlockOther := mustLock(t, b, "vehicleinfo/connector/hm", "for another key")
	unlockOther()

	unlockA()
	unlockB := mustLock(t, b, lockKey, "after the holder's unlock")

	unlockA() // a second call must not free b's lock
	mustNotLock(t, a, lockKey, "after a stale second unlock")

	unlockB()
	unlockB()
	unlockA = mustLock(t, a, lockKey, "after both unlocks")

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	unlockB = mustLock(t, b, lockKey, "after the holder's Close")
	unlockA() // after Close, and after the lock changed hands: a no-op
	mustNotLock(t, openT(t, dsn), lockKey, "while the second store holds it")
	unlockB()
}

func TestLockTwoStores(t *testing.T) {
	t.Parallel()

	dialects(t, testLockTwoStores)
}

func TestLockCancelledContext(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		defer s.Close()

		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		unlock, ok, err := s.TryLock(ctx, lockKey)
		if !errors.Is(err, context.Canceled) || ok || unlock != nil {
			t.Fatalf("TryLock(cancelled) = %v, %v, %v; want context.Canceled",
				unlock != nil, ok, err)
		}

		// The failed call took nothing.
		mustLock(t, s, lockKey, "after a cancelled TryLock")()
	})
}

func TestLockEmptyKey(t *testing.T) {
	t.Parallel()

	s := openT(t, ":memory:")
	defer s.Close()

	if _, _, err := s.TryLock(t.Context(), ""); !errors.Is(err, oem.ErrInvalidInput) {
		t.Fatalf("TryLock(\"\"): err = %v, want oem.ErrInvalidInput", err)
	}
}

func TestLockMemory(t *testing.T) {
	t.Parallel()

	a, b := openT(t, ":memory:"), openT(t, ":memory:")
	defer a.Close()
	defer b.Close()

	unlock := mustLock(t, a, lockKey, "on a free lock")
	mustNotLock(t, a, lockKey, "while held")

	// Two in-memory databases are two databases.
	mustLock(t, b, lockKey, "in another in-memory database")()

	unlock()
	unlock()
	mustLock(t, a, lockKey, "after unlock")()
}

func TestLockConcurrent(t *testing.T) {
	t.Parallel()

	dialects(t, func(t *testing.T, dsn string) {
		stores := []*store.DB{openT(t, dsn), openT(t, dsn)}
		for _, s := range stores {
			defer s.Close()
		}

		const n = 8
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			unlocks []func()
			errs    []error
		)
		for i := range n {
			wg.Go(func() {
				<-start

				unlock, ok, err := stores[i%2].TryLock(t.Context(), lockKey)

				mu.Lock()
				defer mu.Unlock()

				if err != nil {
					errs = append(errs, err)
				}

				if ok {
					unlocks = append(unlocks, unlock)
				}
			})
		}

		close(start)
		wg.Wait()

		if len(errs) > 0 {
			t.Fatalf("TryLock errors: %v", errs)
		}

		if len(unlocks) != 1 {
			t.Fatalf("%d of %d concurrent TryLock calls got the lock, want 1", len(unlocks), n)
		}

		mustNotLock(t, stores[0], lockKey, "while one goroutine holds it")
		unlocks[0]()
		mustLock(t, stores[1], lockKey, "after the winner's unlock")()
	})
}

func TestPostgresLockSchemas(t *testing.T) {
	t.Parallel()

	dsnA := testdb.PostgresDSN(t)
	a, b := openT(t, dsnA), openT(t, testdb.PostgresDSN(t))
	defer a.Close()
	defer b.Close()

	unlockA := mustLock(t, a, lockKey, "on a free lock")
	defer unlockA()

	unlockB := mustLock(t, b, lockKey, "in another schema while the first holds it")
	defer unlockB()

	// Both are really held, each in its own schema.
	mustNotLock(t, openT(t, dsnA), lockKey, "in the first schema while it is held")
	mustNotLock(t, b, lockKey, "in the second schema while it is held")
}

// Environment of the helper process that holds a lock for a parent test.
const (
	envHelperDSN = "VEHICLEINFO_LOCK_HELPER_DSN"
	envHelperKey = "VEHICLEINFO_LOCK_HELPER_KEY"
)

// TestLockHelperProcess is not a test: run by startLockHolder as a child
// process, it opens the store, takes the lock, says "locked" and waits for
// its standard input to close or to be killed.
func TestLockHelperProcess(t *testing.T) {
	dsn := os.Getenv(envHelperDSN)
	if dsn == "" {
		t.Skip("helper process for the lock tests; runs only as their child")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s, err := store.Open(ctx, dsn)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}

	_, ok, err := s.TryLock(ctx, os.Getenv(envHelperKey))
	if err != nil || !ok {
		fmt.Println("error: lock:", ok, err)
		os.Exit(2)
	}

	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the parent goes
	os.Exit(0)
}

// startLockHolder runs the test binary again as a process holding key in
// the store at dsn, and returns once it holds it. The process is killed
// when t ends, if the test did not kill it first.
func startLockHolder(t *testing.T, dsn, key string) *exec.Cmd {
	t.Helper()

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelperDSN+"="+dsn, envHelperKey+"="+key)

	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}

	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("lock holder process said %q (%v), want \"locked\"", line, err)
	}

	return cmd
}

// killHolder kills the lock holder process and waits for it to end.
func killHolder(t *testing.T, cmd *exec.Cmd) {
	t.Helper()

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}

	_ = cmd.Wait() // "signal: killed"
}

func TestPostgresLockChildProcess(t *testing.T) {
	t.Parallel()

	dsn := testdb.PostgresDSN(t)
	s := openT(t, dsn) // migrates the schema before the child opens it
	defer s.Close()

	cmd := startLockHolder(t, dsn, lockKey)
	mustNotLock(t, s, lockKey, "while a child process holds it")

	killHolder(t, cmd)

	// The server ends the dead client's session on its own time: wait for
	// that, not for a clock.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	for {
		unlock, ok, err := s.TryLock(ctx, lockKey)
		if err != nil {
			t.Fatalf("TryLock after the holder was killed: %v (lock never freed?)", err)
		}

		if ok {
			unlock()

			break
		}

		select {
		case <-ctx.Done():
			t.Fatal("the lock of a killed process was not freed in 30 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestPostgresLockOwnConnection(t *testing.T) {
	t.Parallel()

	s := openT(t, testdb.PostgresDSN(t))
	defer s.Close()

	before := s.DB().Stats()
	unlock := mustLock(t, s, lockKey, "on a free lock")

	held := s.DB().Stats()
	if held.InUse != before.InUse+1 {
		t.Fatalf("connections in use while a lock is held = %d, want %d",
			held.InUse, before.InUse+1)
	}

	unlock()

	after := s.DB().Stats()
	if after.InUse != before.InUse || after.OpenConnections != held.OpenConnections-1 {
		t.Fatalf("after unlock: %d in use, %d open; want %d in use, %d open "+
			"(the lock's connection closed, not pooled)", after.InUse, after.OpenConnections,
			before.InUse, held.OpenConnections-1)
	}
}

func TestSQLiteLockKeysDoNotCollide(t *testing.T) {
	t.Parallel()

	s := openT(t, sqliteDSN(t))
	defer s.Close()

	// Both read "a_b" once sanitised for the lock file's name.
	unlock := mustLock(t, s, "a/b", "on a free lock")
	defer unlock()

	mustLock(t, s, "a_b", "for a key whose file name reads the same")()

	long := strings.Repeat("x", 300) // longer than a file name may be
	mustLock(t, s, long, "for a long key")()
	mustLock(t, s, long+"/y", "for a long key differing after the cut")()
}
