//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// tryFileLock takes an exclusive flock on the file at path, created when
// missing. The lock belongs to the open file description, so two opens in
// one process exclude each other as two processes do, and the system drops
// it when the process ends. The file is never deleted: a process that
// deleted it could let a third one lock a new file of the same name while
// a second still holds the old one.
func tryFileLock(path, key string) (func(), bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %q: %w", key, err)
	}

	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}

	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()

		return nil, false, nil
	}

	if err != nil {
		f.Close()

		return nil, false, fmt.Errorf("store: lock %q: flock: %w", key, err)
	}

	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close() // closing alone would release it too
	}, true, nil
}
