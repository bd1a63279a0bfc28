package oem

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// Report is what one Ingester run did. Its JSON form is what programs print
// and what the store keeps with the run; the keys are stable.
type Report struct {
	RunID     int64     `json:"run_id,omitempty"` // 0 in a dry run
	Owner     string    `json:"owner,omitempty"`
	DryRun    bool      `json:"dry_run"`
	StartedAt time.Time `json:"started_at"`
	// Total is how many wanted vehicles the run considered (after the owner
	// and connector filters), unroutable ones included.
	Total int `json:"total"`
	// Cancelled is set when the run's context ended before the run did;
	// the counts then describe what was done until then.
	Cancelled  bool  `json:"cancelled"`
	DurationMS int64 `json:"duration_ms"`
	// Errors counts failures by kind (KindOf, plus "activation_cap"): one
	// per vehicle for per-vehicle failures, one per connector for a failed
	// connector.
	Errors map[string]int `json:"errors"`
	// Unroutable counts the vehicles no open connector serves; they are
	// saved with a reason, and status error when they never had a status.
	Unroutable int `json:"unroutable"`
	// Connectors has one entry per connector the run used.
	Connectors map[string]*ConnectorReport `json:"connectors"`
	// Failed names, sorted, the connectors whose run did not complete: a
	// failed or cancelled listing, a refused plan, a panic, a failed save.
	Failed []string `json:"failed"`
}

// ConnectorReport is one connector's part of a run.
type ConnectorReport struct {
	// Vehicles is how many wanted vehicles were routed to it for
	// activation.
	Vehicles int `json:"vehicles"`
	// Listed is how many records its listing yielded; Missing how many of
	// its wanted vehicles that a listing showed before the complete
	// listing of this run did not show (their MissingSince is set).
	Listed  int `json:"listed"`
	Missing int `json:"missing"`
	// Statuses counts the final status of its vehicles (in a dry run, the
	// status seen, as the plan would start from it).
	Statuses map[Status]int `json:"statuses"`
	// Planned counts the plan's actions, every action present.
	Planned map[Action]int `json:"planned"`
	// Described counts successful descriptions it made.
	Described int `json:"described"`
	// Unsupported counts the planned changes the connector cannot make
	// itself (oem.ErrNotSupported: Tesla cannot enrol or remove a vehicle;
	// its owner must share it). They are not errors of the run; each such
	// vehicle keeps its status with the reason.
	Unsupported int `json:"unsupported"`
	// Requests counts the OEM requests sent, by kind, every kind present.
	Requests map[RequestKind]int64 `json:"requests"`
	// Error is why its run failed; empty when it succeeded.
	Error      string `json:"error"`
	DurationMS int64  `json:"duration_ms"`
}

func newConnectorReport() *ConnectorReport {
	cr := &ConnectorReport{
		Statuses: make(map[Status]int),
		Planned:  (*Plan)(nil).Counts(),
		Requests: make(map[RequestKind]int64),
	}
	for _, k := range RequestKinds() {
		cr.Requests[k] = 0
	}

	return cr
}

// Phase names a step of a connector's run, for progress bars.
type Phase string

// The phases a run reports.
const (
	PhaseListing    Phase = "listing"    // reading the OEM fleet; Total unknown (0)
	PhasePlanning   Phase = "planning"   // deciding what to change
	PhaseApplying   Phase = "applying"   // eligibility, activation and deactivation
	PhaseDescribing Phase = "describing" // fetching vehicle information
	PhaseDone       Phase = "done"       // this connector is finished
)

// Progress is one progress event. Done and Total count vehicles (records in
// the listing phase).
type Progress struct {
	Connector string
	Phase     Phase
	Done      int
	Total     int
}

// errorKind names err for Report.Errors.
func errorKind(err error) string {
	if errors.Is(err, ErrActivationCap) {
		return "activation_cap"
	}

	return KindOf(err)
}

// reportBuilder fills a Report from several goroutines.
type reportBuilder struct {
	mu  sync.Mutex
	rep *Report
}

func (b *reportBuilder) connector(name string) *ConnectorReport {
	b.mu.Lock()
	defer b.mu.Unlock()

	cr, ok := b.rep.Connectors[name]
	if !ok {
		cr = newConnectorReport()
		b.rep.Connectors[name] = cr
	}

	return cr
}

func (b *reportBuilder) countError(err error, n int) {
	if err == nil || n <= 0 {
		return
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	b.rep.Errors[errorKind(err)] += n
}

// fail records that connector name did not complete, keeping the first
// reason.
func (b *reportBuilder) fail(name string, err error) {
	cr := b.connector(name)

	b.mu.Lock()
	defer b.mu.Unlock()

	if cr.Error == "" {
		cr.Error = err.Error()
		b.rep.Errors[errorKind(err)]++
	}

	if !slices.Contains(b.rep.Failed, name) {
		b.rep.Failed = append(b.rep.Failed, name)
		slices.Sort(b.rep.Failed)
	}
}

// update runs fn on the connector's report under the lock.
func (b *reportBuilder) update(name string, fn func(cr *ConnectorReport)) {
	cr := b.connector(name)

	b.mu.Lock()
	defer b.mu.Unlock()

	fn(cr)
}
