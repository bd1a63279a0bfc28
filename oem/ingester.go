package oem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of the Ingester's options.
const (
	DefaultConcurrency   = 4
	DefaultBatchSize     = 10
	DefaultDescribeTTL   = 30 * 24 * time.Hour
	DefaultSaveBatchSize = 200
	DefaultSaveTimeout   = 30 * time.Second
)

// Ingester keeps the store in step with the OEMs: for each run it reads the
// wanted fleet, routes every vehicle to a connector, and per connector
// (concurrently, each isolated from the others) lists the OEM fleet, lets
// the Activator plan and apply, describes active vehicles whose
// information is missing or stale, and saves in batches as results arrive.
// It is safe to call Run from several goroutines, though runs over the same
// vehicles at once make little sense.
type Ingester struct {
	store      Store
	activator  Activator
	conns      map[string]Connector
	routing    Routing
	conc       map[string]int
	batch      map[string]int
	ttl        time.Duration
	saveBatch  int
	saveTO     time.Duration
	progress   func(Progress)
	progressMu sync.Mutex
	plans      func(*Plan)
	log        *slog.Logger
	now        func() time.Time
}

// IngesterOption configures an Ingester.
type IngesterOption func(*Ingester)

// WithRouting replaces DefaultRouting.
func WithRouting(r Routing) IngesterOption {
	return func(i *Ingester) { i.routing = r.Clone() }
}

// WithConcurrency bounds the calls in flight to the named connector
// (default: its Concurrency capability, else DefaultConcurrency).
func WithConcurrency(connector string, n int) IngesterOption {
	return func(i *Ingester) { i.conc[connector] = n }
}

// WithBatchSize sets how many VINs one call to the named connector carries
// (default: its BatchSizer capability, else DefaultBatchSize). It is capped
// by BatchSizer when the connector has one.
func WithBatchSize(connector string, n int) IngesterOption {
	return func(i *Ingester) { i.batch[connector] = n }
}

// WithDescribeTTL sets how old a vehicle's description may be before it is
// described again (default DefaultDescribeTTL).
func WithDescribeTTL(d time.Duration) IngesterOption {
	return func(i *Ingester) { i.ttl = d }
}

// WithSaveBatchSize sets how many vehicles one store write carries (default
// DefaultSaveBatchSize).
func WithSaveBatchSize(n int) IngesterOption {
	return func(i *Ingester) { i.saveBatch = n }
}

// WithSaveTimeout bounds each store write, which runs on even when the run
// is cancelled, so results already fetched are kept (default
// DefaultSaveTimeout).
func WithSaveTimeout(d time.Duration) IngesterOption {
	return func(i *Ingester) { i.saveTO = d }
}

// WithProgress receives progress events. fn is never called from two
// goroutines at once, and should return quickly.
func WithProgress(fn func(Progress)) IngesterOption {
	return func(i *Ingester) { i.progress = fn }
}

// WithPlans calls fn with each connector's plan once it is made, before
// anything is applied (in a dry run, instead of applying). Calls never
// overlap; fn must not keep or change the plan.
func WithPlans(fn func(*Plan)) IngesterOption {
	return func(i *Ingester) { i.plans = fn }
}

// WithLogger makes the Ingester log to l; by default it is quiet. It logs
// connector names, counts, phases and errors, never credentials.
func WithLogger(l *slog.Logger) IngesterOption {
	return func(i *Ingester) { i.log = l }
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) IngesterOption {
	return func(i *Ingester) { i.now = now }
}

// NewIngester returns an Ingester over store, planning with activator and
// working through connectors (their names must be distinct).
func NewIngester(store Store, activator Activator, connectors []Connector,
	opts ...IngesterOption) (*Ingester, error) {
	if store == nil {
		return nil, fmt.Errorf("oem: NewIngester: store is nil: %w", ErrInvalidInput)
	}

	if activator == nil {
		return nil, fmt.Errorf("oem: NewIngester: activator is nil (use activation.New): %w",
			ErrInvalidInput)
	}

	i := &Ingester{
		store:     store,
		activator: activator,
		conns:     make(map[string]Connector, len(connectors)),
		routing:   DefaultRouting(),
		conc:      make(map[string]int),
		batch:     make(map[string]int),
		ttl:       DefaultDescribeTTL,
		saveBatch: DefaultSaveBatchSize,
		saveTO:    DefaultSaveTimeout,
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
	}

	for _, c := range connectors {
		if c == nil {
			return nil, fmt.Errorf("oem: NewIngester: nil connector: %w", ErrInvalidInput)
		}

		name := c.Name()
		if _, dup := i.conns[name]; dup {
			return nil, fmt.Errorf("oem: NewIngester: two connectors named %q: %w", name,
				ErrInvalidInput)
		}

		i.conns[name] = c
	}

	for _, o := range opts {
		o(i)
	}

	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}

	if i.saveBatch <= 0 {
		i.saveBatch = DefaultSaveBatchSize
	}

	if i.saveTO <= 0 {
		i.saveTO = DefaultSaveTimeout
	}

	return i, nil
}

// RunOptions select what one run does.
type RunOptions struct {
	// Owner keeps only the wanted vehicles of this owner (trimmed,
	// case-insensitive, exact). Empty means all.
	Owner string
	// DryRun plans without calling anything that changes state and
	// without writing to the store; the report shows the plan.
	DryRun bool
	// Connectors, when set, limits the run to the vehicles routed to these
	// connectors (for activation or description); the others, and the
	// unroutable ones, are left untouched.
	Connectors []string
}

// concurrency is the bound of calls in flight for a connector.
func (i *Ingester) concurrency(c Connector) int {
	if n := i.conc[c.Name()]; n > 0 {
		return n
	}

	if cc, ok := c.(Concurrency); ok && cc.Concurrency() > 0 {
		return cc.Concurrency()
	}

	return DefaultConcurrency
}

// batchSize is the most VINs one call to c carries.
func (i *Ingester) batchSize(c Connector) int {
	n := i.batch[c.Name()]
	if bs, ok := c.(BatchSizer); ok && bs.BatchSize() > 0 {
		if n <= 0 || n > bs.BatchSize() {
			n = bs.BatchSize()
		}
	}

	if n <= 0 {
		n = DefaultBatchSize
	}

	return n
}

func (i *Ingester) emitPlan(p *Plan) {
	if i.plans == nil {
		return
	}

	i.progressMu.Lock()
	defer i.progressMu.Unlock()

	i.plans(p)
}

func (i *Ingester) emitProgress(p Progress) {
	if i.progress == nil {
		return
	}

	i.progressMu.Lock()
	defer i.progressMu.Unlock()

	i.progress(p)
}

// job is one wanted vehicle and its route.
type job struct {
	entry    FleetEntry
	describe string // the open connector that describes it
}

// Run does one ingestion run and returns its report. Connector failures are
// in the report, not the error: the error is for a run that could not start
// (the wanted fleet or the run record could not be read or written, an
// unknown connector in opts). When ctx is cancelled, Run stops new
// requests, saves what it already has and returns the partial report
// (Cancelled set) together with ctx's error.
func (i *Ingester) Run(ctx context.Context, opts RunOptions) (*Report, error) {
	start := i.now()
	rep := &Report{
		Owner:      normalizeSpace(opts.Owner),
		DryRun:     opts.DryRun,
		StartedAt:  start,
		Errors:     make(map[string]int),
		Connectors: make(map[string]*ConnectorReport),
		Failed:     []string{},
	}

	selected := make(map[string]bool, len(opts.Connectors))
	for _, n := range opts.Connectors {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, ok := i.conns[n]; !ok {
			return nil, fmt.Errorf("oem: run: connector %q is not open (open: %s): %w",
				n, strings.Join(slices.Sorted(maps.Keys(i.conns)), ", "), ErrInvalidInput)
		}

		selected[n] = true
	}

	entries, err := i.store.Fleet(ctx, FleetFilter{Owner: opts.Owner})
	if err != nil {
		return nil, fmt.Errorf("oem: run: read the wanted fleet: %w", err)
	}

	groups, unroutable := i.route(entries, selected)
	rep.Total = len(unroutable)
	for _, g := range groups {
		rep.Total += len(g)
	}

	if !opts.DryRun {
		id, err := i.store.StartRun(ctx, Run{Owner: rep.Owner, StartedAt: start,
			State: "running"})
		if err != nil {
			return nil, fmt.Errorf("oem: run: record the start: %w", err)
		}

		rep.RunID = id
	}

	b := &reportBuilder{rep: rep}
	counters := make(map[string]*RequestCounter, len(i.conns))
	sems := make(map[string]chan struct{}, len(i.conns))
	for name, c := range i.conns {
		counters[name] = new(RequestCounter)
		sems[name] = make(chan struct{}, i.concurrency(c))
	}

	i.log.Info("run started", "run_id", rep.RunID, "owner", rep.Owner, "dry_run", opts.DryRun,
		"vehicles", rep.Total, "connectors", len(groups), "unroutable", len(unroutable))

	var wg sync.WaitGroup
	if len(unroutable) > 0 {
		wg.Go(func() { i.saveUnroutable(ctx, b, rep.RunID, opts.DryRun, unroutable) })
	}

	for name, jobs := range groups {
		b.connector(name)
		for _, j := range jobs {
			if j.describe != name {
				b.connector(j.describe)
			}
		}

		p := &pipeline{i: i, name: name, conn: i.conns[name], jobs: jobs, b: b,
			runID: rep.RunID, dry: opts.DryRun, counters: counters, sems: sems}
		wg.Go(func() { p.run(ctx) })
	}

	wg.Wait()

	for name, cr := range rep.Connectors {
		for k, n := range counters[name].Snapshot() {
			cr.Requests[k] = n
		}
	}

	rep.Cancelled = ctx.Err() != nil
	rep.DurationMS = i.now().Sub(start).Milliseconds()
	i.log.Info("run finished", "run_id", rep.RunID, "cancelled", rep.Cancelled,
		"failed", strings.Join(rep.Failed, ","), "duration_ms", rep.DurationMS)

	if !opts.DryRun {
		if err := i.finishRun(ctx, rep); err != nil {
			return rep, err
		}
	}

	if rep.Cancelled {
		return rep, ctx.Err()
	}

	return rep, nil
}

// finishRun records the end of the run, even when ctx is cancelled.
func (i *Ingester) finishRun(ctx context.Context, rep *Report) error {
	state := "ok"
	switch {
	case rep.Cancelled:
		state = "cancelled"
	case len(rep.Failed) > 0:
		state = "failed"
	}

	js, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("oem: run: encode the report: %w", err)
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.saveTO)
	defer cancel()

	err = i.store.FinishRun(sctx, Run{ID: rep.RunID, Owner: rep.Owner, StartedAt: rep.StartedAt,
		FinishedAt: i.now(), State: state, Report: js})
	if err != nil {
		return fmt.Errorf("oem: run: record the end: %w", err)
	}

	return nil
}

// route groups entries by the connector that activates them. Entries no
// open connector serves come back with their reason.
func (i *Ingester) route(entries []FleetEntry, selected map[string]bool) (
	map[string][]job, []unroutableEntry) {
	groups := make(map[string][]job)
	var unroutable []unroutableEntry
	for _, e := range entries {
		rt, ok := i.routing.Route(e)
		if len(selected) > 0 && (!ok || !selected[rt.Activate] && !selected[rt.Describe]) {
			continue
		}

		if !ok {
			unroutable = append(unroutable, unroutableEntry{e,
				&UnroutableError{VIN: e.VIN, Make: NormalizeMake(e.Make)}})
			continue
		}

		if _, open := i.conns[rt.Activate]; !open {
			unroutable = append(unroutable, unroutableEntry{e,
				&UnroutableError{VIN: e.VIN, Make: NormalizeMake(e.Make), Connector: rt.Activate}})
			continue
		}

		d := rt.Describe
		if _, open := i.conns[d]; !open {
			d = rt.Activate
		}

		groups[rt.Activate] = append(groups[rt.Activate], job{entry: e, describe: d})
	}

	return groups, unroutable
}

type unroutableEntry struct {
	entry FleetEntry
	err   *UnroutableError
}

// saveUnroutable records the reason on each unroutable vehicle; one that
// never had a status gets status error.
func (i *Ingester) saveUnroutable(ctx context.Context, b *reportBuilder, runID int64, dry bool,
	list []unroutableEntry) {
	b.mu.Lock()
	b.rep.Unroutable = len(list)
	b.rep.Errors[errorKind(ErrUnroutable)] += len(list)
	b.mu.Unlock()

	if dry {
		return
	}

	vins := make([]VIN, len(list))
	for k, u := range list {
		vins[k] = u.entry.VIN
	}

	stored, err := i.storedByVIN(ctx, vins)
	if err != nil {
		i.log.Error("read unroutable vehicles", "error", err)
		return
	}

	now := i.now()
	s := newSaver(i, ctx, runID, func(err error) {
		i.log.Error("save unroutable vehicles", "error", err)
	})

	for _, u := range list {
		var v Vehicle
		var from Status
		if sv, ok := stored[u.entry.VIN]; ok {
			v, from = cloneVehicle(sv), sv.Status
		}

		v.FleetEntry = mergeEntry(v.FleetEntry, u.entry)
		v.UpdatedAt = now
		keepStatus(&v, u.err.Error(), now)

		var hist []StatusChange
		if v.Status != from {
			hist = append(hist, StatusChange{VIN: v.VIN, From: from, To: v.Status,
				Reason: v.Reason, At: v.StatusChangedAt, RunID: runID})
		}

		s.add([]Vehicle{v}, hist)
	}

	s.flush()
}

// storedByVIN reads the stored vehicles among vins.
func (i *Ingester) storedByVIN(ctx context.Context, vins []VIN) (map[VIN]Vehicle, error) {
	out := make(map[VIN]Vehicle, len(vins))
	if len(vins) == 0 {
		return out, nil
	}

	vs, err := i.store.Vehicles(ctx, VehicleQuery{VINs: vins})
	if err != nil {
		return nil, err
	}

	for _, v := range vs {
		out[v.VIN] = v
	}

	return out, nil
}

// errPanic marks a connector that panicked.
var errPanic = errors.New("connector panicked")
