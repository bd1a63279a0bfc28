package oemtest_test

import (
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestMemStore(t *testing.T) {
	t.Parallel()

	oemtest.TestStore(t, func(t *testing.T) oem.Store { return oemtest.NewMemStore() })
}
