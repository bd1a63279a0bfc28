package oem

import (
	"context"
	"time"
)

// Store persists the wanted fleet, what we know of each vehicle, the
// activation history, model records and runs. Implementations must be safe
// for concurrent use. The SQL store lives in package store; an in-memory one
// in oemtest.
type Store interface {
	// PutFleet upserts wanted-fleet entries by VIN. Within one call the first
	// entry for a VIN wins. Stored fields are replaced by the entry's
	// (the wanted fleet is the company's word), except that an empty string
	// or zero date never replaces a known value. An entry CheckEntry refuses
	// fails the whole call with an error wrapping ErrInvalidInput.
	PutFleet(ctx context.Context, entries []FleetEntry) error

	// Fleet returns the wanted fleet, ordered by VIN, filtered as f says.
	Fleet(ctx context.Context, f FleetFilter) ([]FleetEntry, error)

	// Vehicles returns what is stored about the vehicles q selects, ordered
	// by VIN. VINs with no vehicle row are absent from the answer.
	Vehicles(ctx context.Context, q VehicleQuery) ([]Vehicle, error)

	// SaveBatch writes vehicles and history rows atomically: all of it lands
	// or none. Vehicles are upserted by VIN; a known value is never replaced
	// by an unknown one (empty string, zero number, zero time). Each
	// vehicle with a known model name is linked to the model record of
	// its merged make, model, type and version (names trimmed), created
	// when missing, so that a description leaving out the type or version
	// keeps the more precise record; the vehicle's warranty, capacity and
	// image fill that record's metadata only where the record does not know
	// it. History rows are append-only and a row equal to one already
	// stored (same VIN, from, to, time) is not added twice. A vehicle
	// CheckVehicle refuses, or a history row CheckStatusChange refuses,
	// fails the whole batch with an error wrapping ErrInvalidInput (for a
	// vehicle, a *VehicleError naming it).
	SaveBatch(ctx context.Context, b Batch) error

	// History returns a vehicle's status changes, oldest first.
	History(ctx context.Context, vin VIN) ([]StatusChange, error)

	// Models returns every model with at least one of image URL, warranty
	// km, warranty years or capacity set, ordered by make, model, type.
	Models(ctx context.Context) ([]Model, error)

	// UpsertModels writes model records by (make, name, type, version),
	// names trimmed. Values given replace stored ones; unknown values never
	// do. A model CheckModel refuses fails the whole call with an error
	// wrapping ErrInvalidInput.
	UpsertModels(ctx context.Context, models []Model) error

	// CleanupModels deletes models no vehicle uses and that carry no
	// metadata, and returns how many it deleted.
	CleanupModels(ctx context.Context) (int64, error)

	// StartRun records the start of a run and returns its ID.
	StartRun(ctx context.Context, r Run) (int64, error)

	// FinishRun records the end of a run (r.ID set by StartRun).
	FinishRun(ctx context.Context, r Run) error

	// Close releases the store's resources.
	Close() error
}

// FleetFilter selects wanted-fleet entries.
type FleetFilter struct {
	// Owner keeps only entries of this owner: trimmed, case-insensitive,
	// exact ("ayvens" selects "Ayvens", not "Ayvens NV"). Empty keeps all.
	Owner string
}

// VehicleQuery selects stored vehicles. Zero fields select everything.
type VehicleQuery struct {
	Owner string // as FleetFilter.Owner
	VINs  []VIN  // only these VINs when non-empty
}

// Batch is one atomic write of a run.
type Batch struct {
	RunID    int64
	Vehicles []Vehicle
	History  []StatusChange
}

// Run is one ingestion run as the store records it.
type Run struct {
	ID         int64
	Owner      string
	DryRun     bool
	StartedAt  time.Time
	FinishedAt time.Time
	State      string // "running", "ok", "failed", "cancelled"
	Report     []byte // the run's Report as JSON, when finished
}

// OwnerMatches applies the owner filter rule: trimmed, case-insensitive,
// exact. An empty filter matches every owner.
func OwnerMatches(filter, owner string) bool {
	f := normalizeSpace(filter)
	if f == "" {
		return true
	}

	return equalFoldTrim(f, owner)
}

// Locker is the optional capability of a Store to hold named locks that
// every process sharing the store respects, so that two runs (two
// replicas, two scripts) never work on the same connector at once and ask
// an OEM twice for the same change. A holder that dies releases its locks.
type Locker interface {
	// TryLock takes the lock named key without waiting. It reports false
	// when another holder has it. The returned unlock releases it; it is
	// safe to call more than once.
	TryLock(ctx context.Context, key string) (unlock func(), ok bool, err error)
}
