package filelock

import (
	"path/filepath"
	"testing"
)

func TestTryLockExcludes(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, ok, err := TryLock(path)
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}

	if _, ok, err := TryLock(path); err != nil || ok {
		t.Fatalf("second TryLock while held = %v, %v; want refused", ok, err)
	}

	unlock()
	again, ok, err := TryLock(path)
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock = %v, %v", ok, err)
	}

	again()

	if _, _, err := TryLock(filepath.Join(t.TempDir(), "no", "such", "dir", "x.lock")); err == nil {
		t.Fatal("TryLock in a missing directory succeeded")
	}
}
