//go:build !unix

package store

// tryFileLock takes an in-process lock named after the lock file at path.
//
// This system has no flock, so the lock excludes only the stores of this
// process: two processes sharing one SQLite file do not see each other's
// locks here. The file is not created.
//
// TODO: use LockFileEx on Windows so that processes exclude each other
// there too; it needs golang.org/x/sys/windows, which go.mod does not list.
func tryFileLock(path, key string) (func(), bool, error) {
	release, ok := procLocks.try(procKey{name: path})

	return release, ok, nil
}
