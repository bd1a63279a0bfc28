package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
	msqlite "modernc.org/sqlite"

	"github.com/vehicleinfo/ingest/oem"
)

// SQLite's primary result codes for a database another connection holds
// (busy) and for a violated constraint (foreign key, check, not null,
// unique).
const (
	sqliteBusy       = 5
	sqliteConstraint = 19
)

// classify wraps a violated constraint or a value PostgreSQL cannot take
// (SQLSTATE classes 23 and 22), which means the input was wrong (a batch
// naming a run that does not exist, a value a check refuses), so that
// errors.Is(err, oem.ErrInvalidInput) holds. Other errors pass unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}

	var pe *pq.Error
	if errors.As(err, &pe) && (strings.HasPrefix(pe.SQLState(), "23") ||
		strings.HasPrefix(pe.SQLState(), "22")) {
		return fmt.Errorf("%w: %w", oem.ErrInvalidInput, err)
	}

	var se *msqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteConstraint {
		return fmt.Errorf("%w: %w", oem.ErrInvalidInput, err)
	}

	return err
}

// retryable reports whether err ends a transaction that can simply be run
// again: on PostgreSQL a deadlock victim or a serialization failure, on
// SQLite a database another writer held for longer than the busy timeout.
func retryable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.SQLState() == "40P01" || pe.SQLState() == "40001"
	}

	var se *msqlite.Error

	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}
