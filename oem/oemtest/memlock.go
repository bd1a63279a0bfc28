package oemtest

import (
	"context"
	"fmt"

	"github.com/vehicleinfo/ingest/oem"
)

var _ oem.Locker = (*MemStore)(nil)

// memLock is one lock a MemStore handed out.
type memLock struct{ key string }

// TryLock takes the lock named key without waiting, as oem.Locker says. The
// lock holds within this MemStore only, which is all a store in memory can
// share. It reports false while an earlier TryLock of key has not been
// unlocked; unlock is safe to call more than once and never frees a later
// holder's lock. It fails when ctx is done, when key is empty, and after
// Close.
func (m *MemStore) TryLock(ctx context.Context, key string) (unlock func(), ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return nil, false, err
	}

	if key == "" {
		return nil, false, fmt.Errorf("oemtest: lock: empty key: %w", oem.ErrInvalidInput)
	}

	if m.locks[key] != nil {
		return nil, false, nil
	}

	if m.locks == nil {
		m.locks = make(map[string]*memLock)
	}

	h := &memLock{key: key}
	m.locks[key] = h

	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()

		if m.locks[key] == h {
			delete(m.locks, key)
		}
	}, true, nil
}
