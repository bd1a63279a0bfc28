package oemtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestMemStoreLock(t *testing.T) {
	t.Parallel()

	const key = "vehicleinfo/connector/bmw"
	m := oemtest.NewMemStore()

	try := func(key string) (func(), bool) {
		t.Helper()

		unlock, ok, err := m.TryLock(t.Context(), key)
		if err != nil {
			t.Fatalf("TryLock(%q): %v", key, err)
		}

		if ok != (unlock != nil) {
			t.Fatalf("TryLock(%q): unlock %v with ok %v", key, unlock != nil, ok)
		}

		return unlock, ok
	}

	first, ok := try(key)
	if !ok {
		t.Fatal("TryLock on a free lock = false")
	}

	if _, ok := try(key); ok {
		t.Fatal("TryLock while held = true")
	}

	other, ok := try("vehicleinfo/connector/hm")
	if !ok {
		t.Fatal("TryLock of another key while the first is held = false")
	}

	other()
	first()

	second, ok := try(key)
	if !ok {
		t.Fatal("TryLock after unlock = false")
	}

	first() // a stale second call must not free the new holder's lock
	if _, ok := try(key); ok {
		t.Fatal("TryLock after a stale unlock = true")
	}

	second()

	// Concurrent callers: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []func()
	)
	for range 8 {
		wg.Go(func() {
			unlock, ok, err := m.TryLock(t.Context(), key)
			if err != nil {
				t.Error(err)
			}

			if ok {
				mu.Lock()
				wins = append(wins, unlock)
				mu.Unlock()
			}
		})
	}

	wg.Wait()

	if len(wins) != 1 {
		t.Fatalf("%d of 8 concurrent TryLock calls won, want 1", len(wins))
	}

	wins[0]()
}

func TestMemStoreLockErrors(t *testing.T) {
	t.Parallel()

	m := oemtest.NewMemStore()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, ok, err := m.TryLock(ctx, "k"); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("TryLock(cancelled) = %v, %v; want context.Canceled", ok, err)
	}

	if _, _, err := m.TryLock(t.Context(), ""); !errors.Is(err, oem.ErrInvalidInput) {
		t.Errorf("TryLock(\"\"): err = %v, want oem.ErrInvalidInput", err)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	if _, ok, err := m.TryLock(t.Context(), "k"); err == nil || ok {
		t.Errorf("TryLock after Close = %v, %v; want an error", ok, err)
	}
}
