package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"

	"github.com/vehicleinfo/ingest/oem"
)

func TestErrorKinds(t *testing.T) {
	t.Parallel()

	deadlock := fmt.Errorf("write vehicle: %w", &pq.Error{Code: "40P01"})
	fk := fmt.Errorf("write vehicle: %w", &pq.Error{Code: "23503"})
	other := errors.New("connection reset")

	if !retryable(deadlock) || retryable(fk) || retryable(other) || retryable(nil) {
		t.Errorf("retryable: deadlock %v, foreign key %v, other %v", retryable(deadlock),
			retryable(fk), retryable(other))
	}

	if !errors.Is(classify(fk), oem.ErrInvalidInput) {
		t.Errorf("classify(foreign key violation) = %v, want oem.ErrInvalidInput", classify(fk))
	}

	if got := classify(other); got != other || classify(nil) != nil {
		t.Errorf("classify changed an error that is not a violation: %v", got)
	}
}
