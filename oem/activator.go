package oem

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Activator turns what the company wants and what an OEM lists into a plan
// for one connector, and carries the plan out. The Ingester calls Plan once
// per connector and run, after a complete listing, and Apply only when the
// run is not a dry run. The default implementation is package activation.
type Activator interface {
	// Plan decides what to do with each candidate. It must not call the
	// connector or change anything. A plan the activator refuses (say, more
	// activations than a run may make) is an error; the Ingester then
	// applies nothing for that connector.
	Plan(ctx context.Context, in PlanInput) (*Plan, error)

	// Apply carries out p through c: eligibility checks where c can, then
	// activations and deactivations in batches of at most o.BatchSize, with
	// up to o.Concurrency calls in flight. It reports what happened to each
	// vehicle it acted on through emit, once per finished batch, never
	// from two goroutines at once. Per-vehicle and per-batch failures are
	// Outcomes with Err set; Apply returns an error only when it could not
	// go on (a cancelled context, a panic in the connector).
	Apply(ctx context.Context, c Connector, p *Plan, o ApplyOptions, emit func([]Outcome)) error
}

// PlanInput is what an Activator plans from: the wanted vehicles routed to
// one connector, each with what is stored and what the listing showed.
type PlanInput struct {
	Connector  string
	Now        time.Time
	Candidates []Candidate
}

// Candidate is one wanted vehicle as the planner sees it.
type Candidate struct {
	Entry FleetEntry
	// Stored is what the store held before this run; nil for a vehicle
	// never stored.
	Stored *Vehicle
	// Observed is the listing's record for the vehicle (the newest, when
	// the OEM listed several); nil when the complete listing omitted it.
	Observed *Observed
}

// CurrentStatus is the vehicle's status as far as we know now: the
// listing's, else the stored one, else "" (never had one). A listed
// "inactive" does not replace a stored ineligible or rejected: OEMs list a
// vehicle they refused as not enrolled, and its cool-down must survive
// that.
func (c Candidate) CurrentStatus() Status {
	if c.Observed != nil {
		if c.Observed.Status == StatusInactive && c.Stored != nil &&
			(c.Stored.Status == StatusIneligible || c.Stored.Status == StatusRejected) {
			return c.Stored.Status
		}

		return c.Observed.Status
	}

	if c.Stored != nil {
		return c.Stored.Status
	}

	return ""
}

// MissingSince is when complete listings began to omit the vehicle, as
// stored before this run; zero when it was listed or never stored.
func (c Candidate) MissingSince() time.Time {
	if c.Observed != nil || c.Stored == nil {
		return time.Time{}
	}

	return c.Stored.MissingSince
}

// StatusSince is when the current status began: the listing's change time
// when the status is the listing's, else the stored change time when the
// stored status is the same, else the zero time.
func (c Candidate) StatusSince() time.Time {
	cur := c.CurrentStatus()
	if c.Observed != nil && c.Observed.Status == cur && !c.Observed.ChangedAt.IsZero() {
		return c.Observed.ChangedAt
	}

	if c.Stored != nil && c.Stored.Status == cur {
		return c.Stored.StatusChangedAt
	}

	return time.Time{}
}

// Action is what a plan does with one vehicle.
type Action string

// The actions of a plan.
const (
	ActionActivate   Action = "activate"   // ask the OEM to start sharing
	ActionDeactivate Action = "deactivate" // ask the OEM to stop sharing
	ActionKeep       Action = "keep"       // the state is as wanted
	ActionWait       Action = "wait"       // the OEM is on it (pending, deactivating)
	ActionCooldown   Action = "cooldown"   // rejected or ineligible not long ago
)

// Actions lists the actions in report order.
func Actions() []Action {
	return []Action{ActionActivate, ActionDeactivate, ActionKeep, ActionWait, ActionCooldown}
}

// Plan is what an Activator decided for one connector.
type Plan struct {
	Connector string
	Items     []PlanItem
}

// PlanItem is the decision for one vehicle.
type PlanItem struct {
	VIN    VIN
	Action Action
	// Status is the vehicle's current status (Candidate.CurrentStatus); ""
	// for a vehicle that never had one.
	Status Status
	Reason string // why, in a few words
}

// Counts returns how many items the plan has for each action, every action
// present.
func (p *Plan) Counts() map[Action]int {
	out := make(map[Action]int, len(Actions()))
	for _, a := range Actions() {
		out[a] = 0
	}

	if p == nil {
		return out
	}

	for _, it := range p.Items {
		out[it.Action]++
	}

	return out
}

// VINs returns the VINs of the items with action a, in plan order.
func (p *Plan) VINs(a Action) []VIN {
	if p == nil {
		return nil
	}

	var out []VIN
	for _, it := range p.Items {
		if it.Action == a {
			out = append(out, it.VIN)
		}
	}

	return out
}

// ApplyOptions bound how Apply calls the connector.
type ApplyOptions struct {
	BatchSize   int // most VINs in one call; 0 means the activator's default
	Concurrency int // most calls in flight; 0 means 1
	// Now stamps outcomes; nil means time.Now.
	Now func() time.Time
}

// Outcome is what applying a plan did to one vehicle.
type Outcome struct {
	VIN    VIN
	Action Action // the action carried out (activate or deactivate)
	// Status is the status to record: the OEM's answer on success; on
	// failure the status the vehicle had, or StatusError when it never had
	// one, or what the failure implies (ineligible, pending deactivation).
	Status Status
	Raw    string
	Reason string
	Err    error // the failure, typed with the sentinels; nil on success
	At     time.Time
}

// ErrActivationCap is what a plan refused for having too many activations
// wraps.
var ErrActivationCap = errors.New("too many activations for one run")

// ActivationCapError is a plan refused because it would activate more
// vehicles than one run may (each activation can cost money). Raise the cap
// for the connector, or activate in several runs with a smaller fleet file.
type ActivationCapError struct {
	Connector string
	Count     int // activations the plan has
	Cap       int // activations a run may make
}

func (e *ActivationCapError) Error() string {
	return fmt.Sprintf("%s: plan has %d activations, more than the cap of %d per run; "+
		"nothing was activated", e.Connector, e.Count, e.Cap)
}

// Unwrap exposes ErrActivationCap.
func (e *ActivationCapError) Unwrap() error { return ErrActivationCap }
