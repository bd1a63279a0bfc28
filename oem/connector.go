package oem

import (
	"context"
	"iter"
)

// Connector is what every OEM integration implements. Every method takes a
// context and works on batches; a method that cannot do a thing for one
// vehicle says so in that vehicle's Result or as a *VehicleError in the
// stream, and does not fail the batch. An error returned (or yielded
// without a *VehicleError) means the whole call failed.
//
// Implementations must be safe for concurrent use.
type Connector interface {
	// Name is the connector's stable lower-case name, as registered.
	Name() string

	// Fleet streams what the OEM sees now: one Observed per vehicle. A
	// yielded *VehicleError concerns one record and the stream goes on; any
	// other error means the listing is incomplete and must not be taken as
	// the whole fleet. The stream stops when the consumer stops.
	Fleet(ctx context.Context) iter.Seq2[Observed, error]

	// Activate asks the OEM to start sharing data for vins. It returns one
	// Result per VIN given, in any order.
	Activate(ctx context.Context, vins []VIN) ([]Result, error)

	// Deactivate asks the OEM to stop sharing data for vins. It returns one
	// Result per VIN given, in any order.
	Deactivate(ctx context.Context, vins []VIN) ([]Result, error)

	// Describe streams standardised information for vins: one Info, or one
	// *VehicleError, per VIN. Any other error ends the stream.
	Describe(ctx context.Context, vins []VIN) iter.Seq2[Info, error]
}

// EligibilityChecker is the optional capability of checking, before
// activation, whether vehicles can share data at all.
type EligibilityChecker interface {
	// CheckEligibility returns one Eligibility per VIN given. A per-vehicle
	// failure is in that Eligibility's Err.
	CheckEligibility(ctx context.Context, vins []VIN) ([]Eligibility, error)
}

// Eligibility is the answer of an eligibility check for one vehicle.
type Eligibility struct {
	VIN      VIN
	Eligible bool
	Reason   string
	Err      error
}

// BatchSizer is the optional capability of preferring a batch size for
// Activate, Deactivate and Describe. The Ingester never sends more VINs in
// one call than BatchSize returns (when positive).
type BatchSizer interface {
	BatchSize() int
}

// Concurrency is the optional capability of saying how many calls the
// connector can usefully have in flight at once. The Ingester takes it as
// the default bound for that connector.
type Concurrency interface {
	Concurrency() int
}

// EntryUser is the optional capability of taking what the wanted fleet says
// about the vehicles routed to the connector, for OEM APIs that want more
// than the VIN: High Mobility's clearance needs the brand, BMW's
// registration takes the licence plate and the contract's end. The
// Ingester calls UseEntries once per run, before planning, with the
// entries routed to the connector. An error names what the connector could
// not use (a brand it does not know, say); those vehicles fall back to what
// the connector knows by itself, and the run goes on.
type EntryUser interface {
	UseEntries(entries []FleetEntry) error
}

// Unimplemented can be embedded in a Connector to get "not supported"
// answers for Activate, Deactivate and Describe, so an implementation that
// only lists compiles, and keeps compiling if the interface grows.
type Unimplemented struct{}

// Activate reports ErrNotSupported for every VIN.
func (Unimplemented) Activate(_ context.Context, vins []VIN) ([]Result, error) {
	return NotSupported(vins, StatusUnknown, "activation is not supported by this connector"), nil
}

// Deactivate reports ErrNotSupported for every VIN.
func (Unimplemented) Deactivate(_ context.Context, vins []VIN) ([]Result, error) {
	return NotSupported(vins, StatusUnknown, "deactivation is not supported by this connector"), nil
}

// Describe yields an ErrNotSupported *VehicleError for every VIN.
func (Unimplemented) Describe(_ context.Context, vins []VIN) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		for _, v := range vins {
			if !yield(Info{VIN: v}, NewVehicleError(v, "describe", ErrNotSupported)) {
				return
			}
		}
	}
}

// NotSupported builds one ErrNotSupported Result per VIN, with the given
// status and reason.
func NotSupported(vins []VIN, st Status, reason string) []Result {
	out := make([]Result, len(vins))
	for i, v := range vins {
		out[i] = Result{VIN: v, Status: st, Reason: reason, Err: ErrNotSupported}
	}

	return out
}
