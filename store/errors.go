package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
	msqlite "modernc.org/sqlite"

	"github.com/vehicleinfo/ingest/oem"
)

// sqliteConstraint is SQLite's primary result code for a violated
// constraint (foreign key, check, not null, unique).
const sqliteConstraint = 19

// classify wraps a violated constraint, which means the input was wrong (a
// batch naming a run that does not exist, a value a check refuses), so that
// errors.Is(err, oem.ErrInvalidInput) holds. Other errors pass unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}

	var pe *pq.Error
	if errors.As(err, &pe) && strings.HasPrefix(pe.SQLState(), "23") {
		return fmt.Errorf("%w: %w", oem.ErrInvalidInput, err)
	}

	var se *msqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteConstraint {
		return fmt.Errorf("%w: %w", oem.ErrInvalidInput, err)
	}

	return err
}

// retryable reports whether err is PostgreSQL ending a transaction that can
// simply be run again: a deadlock victim or a serialization failure.
func retryable(err error) bool {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return false
	}

	return pe.SQLState() == "40P01" || pe.SQLState() == "40001"
}
