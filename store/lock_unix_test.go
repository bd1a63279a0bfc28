//go:build unix

package store_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSQLiteLockChildProcess(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "vehicleinfo.db")
	s := openT(t, path) // migrates the database before the child opens it
	defer s.Close()

	cmd := startLockHolder(t, "sqlite:"+path, lockKey)
	mustNotLock(t, s, lockKey, "while a child process holds it")
	mustLock(t, s, "vehicleinfo/connector/hm", "for another key")()

	// The system drops a dead process's flocks when it ends, before Wait
	// returns: no waiting needed.
	killHolder(t, cmd)
	unlock := mustLock(t, s, lockKey, "after the holder was killed")
	unlock()

	// The lock file stays beside the database, as the child left it.
	files, err := filepath.Glob(path + ".lock-vehicleinfo_connector_bmw-*")
	if err != nil || len(files) != 1 {
		t.Fatalf("lock files = %v, %v; want one beside the database", files, err)
	}

	if _, err := os.Stat(files[0]); err != nil {
		t.Fatal(err)
	}
}
