//go:build !unix

package filelock

import "sync"

var (
	mu   sync.Mutex
	held = map[string]bool{}
)

// TryLock takes an in-process lock named after the file at path.
//
// This system has no flock, so the lock excludes only this process's
// holders: two processes do not see each other's locks here. The file is
// not created.
//
// TODO: use LockFileEx on Windows so that processes exclude each other
// there too; it needs golang.org/x/sys/windows, which go.mod does not list.
func TryLock(path string) (unlock func(), ok bool, err error) {
	mu.Lock()
	defer mu.Unlock()

	if held[path] {
		return nil, false, nil
	}

	held[path] = true
	var once sync.Once

	return func() {
		once.Do(func() {
			mu.Lock()
			delete(held, path)
			mu.Unlock()
		})
	}, true, nil
}
