//go:build unix

// Package filelock takes exclusive locks on files that every process on
// the machine respects and that the system drops when the holder dies.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// TryLock takes an exclusive flock on the file at path, created when
// missing. The lock belongs to the open file description, so two opens in
// one process exclude each other as two processes do, and the system drops
// it when the process ends. The file is never deleted: a process that
// deleted it could let a third one lock a new file of the same name while
// a second still holds the old one.
func TryLock(path string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("filelock: %s: %w", path, err)
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

		return nil, false, fmt.Errorf("filelock: %s: flock: %w", path, err)
	}

	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close() // closing alone would release it too
	}, true, nil
}
