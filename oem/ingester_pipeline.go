package oem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// pipeline is one connector's part of a run: the vehicles it activates.
type pipeline struct {
	i        *Ingester
	name     string
	conn     Connector
	jobs     []job
	b        *reportBuilder
	runID    int64
	dry      bool
	counters map[string]*RequestCounter
	sems     map[string]chan struct{}

	mu     sync.Mutex // guards states
	states map[VIN]*vehicleState
	save   *saver
	now    time.Time
}

// vehicleState is one vehicle as the run has it.
type vehicleState struct {
	v        Vehicle
	describe string // connector that describes it
	recorded Status // the status the store has (before the run, then as saved)
	queued   bool   // handed to the saver at least once
	listErr  bool   // the listing had an error for this vehicle
}

func (p *pipeline) progress(ph Phase, done, total int) {
	p.i.emitProgress(Progress{Connector: p.name, Phase: ph, Done: done, Total: total})
}

// run is the whole of one connector's run. It never panics: a panic in the
// connector becomes the connector's error.
func (p *pipeline) run(ctx context.Context) {
	start := p.i.now()
	p.now = start
	log := p.i.log.With("connector", p.name)

	defer func() {
		if v := recover(); v != nil {
			log.Error("connector panicked", "panic", v, "stack", string(debug.Stack()))
			p.b.fail(p.name, fmt.Errorf("%s: %w: %v", p.name, errPanic, v))
			p.finish()
		}

		p.b.update(p.name, func(cr *ConnectorReport) {
			cr.DurationMS = p.i.now().Sub(start).Milliseconds()
		})
		p.progress(PhaseDone, len(p.jobs), len(p.jobs))
		log.Info("connector finished", "duration_ms", p.i.now().Sub(start).Milliseconds())
	}()

	p.b.update(p.name, func(cr *ConnectorReport) { cr.Vehicles = len(p.jobs) })
	cctx := WithRequestCounter(ctx, p.counters[p.name])

	unlock, err := p.lock(ctx)
	if err != nil {
		log.Warn("connector skipped", "error", err)
		p.b.fail(p.name, err)

		return
	}
	defer unlock()

	p.useEntries(log)

	p.progress(PhaseListing, 0, 0)
	observed, listErrs, records, err := p.list(cctx)
	p.b.update(p.name, func(cr *ConnectorReport) { cr.Listed = records })
	if err != nil {
		log.Warn("listing failed; nothing planned or saved", "error", err)
		p.b.fail(p.name, fmt.Errorf("%s: listing: %w", p.name, err))

		return
	}

	p.save = newSaver(p.i, ctx, p.runID, func(err error) {
		log.Error("save failed", "error", err)
		p.b.fail(p.name, fmt.Errorf("%s: save: %w", p.name, err))
	})
	p.save.onRefused = func(err error) {
		log.Error("not saved", "error", err)
		p.b.countError(err, 1)
	}

	p.progress(PhasePlanning, 0, len(p.jobs))
	cands, err := p.load(ctx, observed, listErrs)
	if err != nil {
		p.b.fail(p.name, fmt.Errorf("%s: read stored vehicles: %w", p.name, err))
		return
	}

	plan, err := p.i.activator.Plan(ctx, PlanInput{Connector: p.name, Now: p.now,
		Candidates: cands})
	p.b.update(p.name, func(cr *ConnectorReport) {
		cr.Planned = plan.Counts()
		cr.Planned[ActionKeep] += len(p.jobs) - len(cands) // listing record in error
	})
	if err != nil {
		log.Warn("plan refused; nothing applied", "error", err)
		p.b.fail(p.name, err) // the Activator's errors name the connector
		p.finish()

		return
	}

	p.i.emitPlan(plan)

	if p.dry {
		p.finish()
		return
	}

	acted := make(map[VIN]bool)
	for _, it := range plan.Items {
		if it.Action == ActionActivate || it.Action == ActionDeactivate {
			acted[it.VIN] = true
		}
	}

	p.queueWhere(func(vin VIN, st *vehicleState) bool {
		return !acted[vin] && !p.needsDescribe(st)
	})

	if len(acted) > 0 && ctx.Err() == nil {
		p.apply(cctx, plan, len(acted))
	}

	if ctx.Err() == nil {
		p.describeAll(ctx)
	}

	p.finish()
}

// finish saves every vehicle not saved yet, waits for the writes, and
// counts final statuses.
// lock takes the store's lock on the connector, when the store has locks
// and the run changes things: two runs working on one connector at once
// would both ask the OEM for every change.
func (p *pipeline) lock(ctx context.Context) (func(), error) {
	lk, ok := p.i.store.(Locker)
	if !ok || p.dry {
		return func() {}, nil
	}

	unlock, held, err := lk.TryLock(ctx, "vehicleinfo/connector/"+p.name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: take the run lock: %w", p.name, err)
	case !held:
		return nil, fmt.Errorf("%s: another run is working on this connector; try again when it is done: %w",
			p.name, ErrConflict)
	}

	return unlock, nil
}

// useEntries hands the wanted entries to a connector that takes them.
func (p *pipeline) useEntries(log *slog.Logger) {
	eu, ok := p.conn.(EntryUser)
	if !ok || len(p.jobs) == 0 {
		return
	}

	entries := make([]FleetEntry, len(p.jobs))
	for k, j := range p.jobs {
		entries[k] = j.entry
	}

	if err := eu.UseEntries(entries); err != nil {
		log.Warn("the connector could not use all of the wanted fleet's details", "error", err)
	}
}

func (p *pipeline) finish() {
	if !p.dry && p.save != nil {
		p.queueWhere(func(_ VIN, st *vehicleState) bool { return !st.queued })
		p.save.flush()
	}

	p.mu.Lock()
	counts := make(map[Status]int)
	for _, st := range p.states {
		counts[st.v.Status]++
	}
	p.mu.Unlock()

	p.b.update(p.name, func(cr *ConnectorReport) { cr.Statuses = counts })
}

// list reads the whole listing. Several records for one VIN: the newest
// ChangedAt wins (a later record on a tie). A *VehicleError concerns one
// vehicle; any other error fails the listing.
func (p *pipeline) list(ctx context.Context) (obs map[VIN]Observed, listErrs map[VIN]error,
	records int, err error) {
	ctx = WithRequestKind(ctx, RequestListing)
	obs = make(map[VIN]Observed)
	listErrs = make(map[VIN]error)
	for o, err := range p.conn.Fleet(ctx) {
		if err != nil {
			if ve, ok := AsVehicleError(err); ok {
				listErrs[ve.VIN] = ve // counted in load, when the vehicle is wanted
				continue
			}

			return nil, nil, records, err
		}

		records++
		if records%100 == 0 {
			p.progress(PhaseListing, records, 0)
		}

		if prev, ok := obs[o.VIN]; ok && o.ChangedAt.Before(prev.ChangedAt) {
			continue
		}

		obs[o.VIN] = o
	}

	if err := ctx.Err(); err != nil {
		return nil, nil, records, err
	}

	return obs, listErrs, records, nil
}

// load reads what is stored about the pipeline's vehicles, merges the
// wanted entry and the listing into it, and returns the planning
// candidates. Vehicles whose listing record was in error are not planned:
// what the OEM has for them is unknown this run.
func (p *pipeline) load(ctx context.Context, observed map[VIN]Observed,
	listErrs map[VIN]error) ([]Candidate, error) {
	vins := make([]VIN, len(p.jobs))
	for k, j := range p.jobs {
		vins[k] = j.entry.VIN
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.i.saveTO)
	defer cancel()

	stored, err := p.i.storedByVIN(sctx, vins)
	if err != nil {
		return nil, err
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.states = make(map[VIN]*vehicleState, len(p.jobs))
	cands := make([]Candidate, 0, len(p.jobs))
	missing := 0
	for _, j := range p.jobs {
		vin := j.entry.VIN
		st := &vehicleState{describe: j.describe}
		c := Candidate{Entry: j.entry}
		if sv, ok := stored[vin]; ok {
			st.v, st.recorded = cloneVehicle(sv), sv.Status
			c.Stored = &sv
		}

		st.v.FleetEntry = mergeEntry(st.v.FleetEntry, j.entry)
		st.v.Connector = p.name
		st.v.UpdatedAt = p.now
		p.states[vin] = st

		if lerr, bad := listErrs[vin]; bad {
			st.listErr = true
			p.b.countError(lerr, 1)
			keepStatus(&st.v, lerr.Error(), p.now)

			continue
		}

		if o, seen := observed[vin]; seen {
			c.Observed = &o
			if o.Account != "" {
				st.v.Account = o.Account
			}

			if st.v.Make == "" && o.Make != "" {
				st.v.Make = o.Make
			}

			if c.CurrentStatus() == o.Status {
				at := o.ChangedAt
				if at.IsZero() {
					at = p.now
				}

				setStatus(&st.v, o.Status, o.Raw, o.Reason, at)
			}

			st.v.SeenAt = p.now
			st.v.MissingSince = time.Time{}
		} else {
			// Missing: seen before, or stored as something the OEM
			// should list (activated by us and never listed since).
			if had := st.v.Status; !st.v.SeenAt.IsZero() || had == StatusActive ||
				had == StatusPending || had == StatusDeactivating {
				missing++
				if st.v.MissingSince.IsZero() {
					st.v.MissingSince = p.now
				}
			}

			if st.v.Status == "" {
				setStatus(&st.v, StatusInactive, "", "not listed by the OEM", p.now)
			}
		}

		cands = append(cands, c)
	}

	p.b.update(p.name, func(cr *ConnectorReport) { cr.Missing = missing })

	return cands, nil
}

// apply runs the Activator's Apply and merges its outcomes.
func (p *pipeline) apply(ctx context.Context, plan *Plan, total int) {
	done := 0
	p.progress(PhaseApplying, 0, total)
	opts := ApplyOptions{
		BatchSize:   p.i.batchSize(p.conn),
		Concurrency: p.i.concurrency(p.conn),
		Now:         p.i.now,
	}

	err := p.i.activator.Apply(ctx, p.conn, plan, opts, func(outs []Outcome) {
		var ready []*vehicleState
		p.mu.Lock()
		for _, o := range outs {
			st, ok := p.states[o.VIN]
			if !ok {
				continue
			}

			at := o.At
			if at.IsZero() {
				at = p.i.now()
			}

			if o.Status.Valid() {
				setStatus(&st.v, o.Status, o.Raw, o.Reason, at)
			} else {
				// Not a canonical status: an Activator bug; keep what we have.
				keepStatus(&st.v, o.Reason, at)
			}

			if !p.needsDescribe(st) {
				ready = append(ready, st)
			}
		}
		p.mu.Unlock()

		unsupported := 0
		for _, o := range outs {
			if errors.Is(o.Err, ErrNotSupported) {
				// The connector cannot make this change itself (Tesla: the
				// owner must share the vehicle); the vehicle's reason says
				// so. Counted apart, not as an error of the run.
				unsupported++
				continue
			}

			p.b.countError(o.Err, 1)
		}

		if unsupported > 0 {
			p.b.update(p.name, func(cr *ConnectorReport) { cr.Unsupported += unsupported })
		}

		p.queue(ready...)
		done += len(outs)
		p.progress(PhaseApplying, done, total)
	})
	if err != nil && ctx.Err() == nil {
		p.b.fail(p.name, fmt.Errorf("%s: apply: %w", p.name, err))
	}
}

// needsDescribe reports whether st is active and its description missing
// or older than the TTL. Callers hold p.mu or own st.
func (p *pipeline) needsDescribe(st *vehicleState) bool {
	if st.v.Status != StatusActive || st.listErr {
		return false
	}

	return st.v.DescribedAt.IsZero() || p.now.Sub(st.v.DescribedAt) >= p.i.ttl
}

// describeAll describes the vehicles that need it, through each one's
// describing connector, in batches with that connector's bound of calls in
// flight.
func (p *pipeline) describeAll(ctx context.Context) {
	byConn := make(map[string][]VIN)
	p.mu.Lock()
	for vin, st := range p.states {
		if p.needsDescribe(st) {
			byConn[st.describe] = append(byConn[st.describe], vin)
		}
	}
	p.mu.Unlock()

	total := 0
	for _, vins := range byConn {
		slices.Sort(vins)
		total += len(vins)
	}

	if total == 0 {
		return
	}

	var (
		wg      sync.WaitGroup
		doneMu  sync.Mutex
		done    int
		stopped bool
	)

	p.progress(PhaseDescribing, 0, total)
	var breakers []*breaker
	for _, name := range slices.Sorted(maps.Keys(byConn)) {
		dc := p.i.conns[name]
		sem := p.sems[name]
		dctx, cancel := context.WithCancel(WithRequestKind(WithRequestCounter(ctx, p.counters[name]),
			RequestDescription))
		defer cancel()

		br := &breaker{cancel: cancel}
		breakers = append(breakers, br)
		vins, size := byConn[name], p.i.batchSize(dc)
		for start := 0; start < len(vins) && !stopped && br.err() == nil; start += size {
			batch := vins[start:min(start+size, len(vins))]
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				stopped = true
				continue
			}

			wg.Go(func() {
				defer func() { <-sem }()
				defer func() {
					if v := recover(); v != nil {
						p.i.log.Error("connector panicked", "connector", name, "panic", v,
							"stack", string(debug.Stack()))
						p.b.fail(name, fmt.Errorf("%s: describe: %w: %v", name, errPanic, v))
					}
				}()

				n := p.describe(dctx, dc, batch, br)

				doneMu.Lock()
				done += n
				p.progress(PhaseDescribing, done, total)
				doneMu.Unlock()
			})
		}
	}

	wg.Wait()

	for k, name := range slices.Sorted(maps.Keys(byConn)) {
		if err := breakers[k].err(); err != nil {
			p.i.log.Warn("descriptions stopped", "connector", name, "error", err)
			p.b.fail(name, fmt.Errorf("%s: descriptions stopped: %w", name, err))
		}
	}
}

// breakerTransients is how many transient failures in a row stop a
// connector's descriptions: an endpoint that is down is not asked once per
// vehicle.
const breakerTransients = 10

// breaker stops a connector's descriptions at the first rate-limit or
// quota answer that outlasted the retries (CASES 15, 16), or after
// breakerTransients transient failures in a row.
type breaker struct {
	cancel context.CancelFunc

	mu      sync.Mutex
	inARow  int
	stopped error
}

// record notes one description's outcome (nil for a success).
func (b *breaker) record(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	switch {
	case b.stopped != nil:
		return
	case err == nil:
		b.inARow = 0
		return
	case errors.Is(err, ErrRateLimited), errors.Is(err, ErrQuotaExhausted):
		b.stopped = err
	case errors.Is(err, ErrTransient):
		b.inARow++
		if b.inARow >= breakerTransients {
			b.stopped = fmt.Errorf("%d transient failures in a row, the last: %w", b.inARow, err)
		}
	}

	if b.stopped != nil {
		b.cancel()
	}
}

func (b *breaker) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.stopped
}

// describe describes one batch and queues the described vehicles. It
// returns how many VINs it dealt with.
func (p *pipeline) describe(ctx context.Context, dc Connector, batch []VIN, br *breaker) int {
	want := make(map[VIN]bool, len(batch))
	for _, v := range batch {
		want[v] = true
	}

	described := 0
	at := p.i.now()
	for info, err := range dc.Describe(ctx, batch) {
		if err != nil {
			if ve, ok := AsVehicleError(err); ok {
				// A connector that cannot describe says so for every
				// vehicle, every run: not worth counting as an error.
				if want[ve.VIN] && !errors.Is(ve, ErrNotSupported) && ctx.Err() == nil {
					p.b.countError(ve, 1)
					br.record(ve)
				}

				delete(want, ve.VIN)

				continue
			}

			if ctx.Err() == nil {
				p.i.log.Warn("describe failed", "connector", dc.Name(), "vins", len(want),
					"error", err)
				p.b.countError(err, len(want))
				br.record(err)
			}

			break
		}

		if !want[info.VIN] {
			continue
		}

		delete(want, info.VIN)
		p.mu.Lock()
		st := p.states[info.VIN]
		st.v.Apply(info, at)
		st.v.Make = NormalizeMake(st.v.Make)
		p.mu.Unlock()

		p.queue(st)
		described++
		br.record(nil)
	}

	p.b.update(dc.Name(), func(cr *ConnectorReport) { cr.Described += described })

	return len(batch)
}

// queueWhere hands the vehicles that match to the saver, in VIN order.
func (p *pipeline) queueWhere(match func(VIN, *vehicleState) bool) {
	var sel []*vehicleState
	p.mu.Lock()
	for _, vin := range slices.Sorted(maps.Keys(p.states)) {
		if st := p.states[vin]; match(vin, st) {
			sel = append(sel, st)
		}
	}
	p.mu.Unlock()

	p.queue(sel...)
}

// queue hands copies of the vehicles to the saver, each with a history row
// when its status changed since it was last recorded.
func (p *pipeline) queue(sts ...*vehicleState) {
	if p.dry || len(sts) == 0 {
		return
	}

	vs := make([]Vehicle, 0, len(sts))
	var hist []StatusChange
	p.mu.Lock()
	for _, st := range sts {
		st.queued = true
		if st.v.Status != "" && st.v.Status != st.recorded {
			hist = append(hist, StatusChange{VIN: st.v.VIN, Connector: p.name, From: st.recorded,
				To: st.v.Status, Raw: st.v.RawStatus, Reason: st.v.Reason,
				At: st.v.StatusChangedAt, RunID: p.runID})
			st.recorded = st.v.Status
		}

		vs = append(vs, cloneVehicle(st.v))
	}
	p.mu.Unlock()

	p.save.add(vs, hist)
}

// saver writes vehicles and history rows in batches. Writes run on after
// the run's context is cancelled, each bounded by the save timeout.
type saver struct {
	i     *Ingester
	ctx   context.Context
	runID int64
	onErr func(error)
	// onRefused hears of each vehicle or history row left out of a batch
	// because a store cannot keep it (CheckVehicle, CheckStatusChange), so
	// that it does not fail the rest of the batch.
	onRefused func(error)

	mu   sync.Mutex
	vs   []Vehicle
	hist []StatusChange
}

func newSaver(i *Ingester, ctx context.Context, runID int64, onErr func(error)) *saver {
	return &saver{i: i, ctx: context.WithoutCancel(ctx), runID: runID, onErr: onErr}
}

func (s *saver) add(vs []Vehicle, hist []StatusChange) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.vs = append(s.vs, vs...)
	s.hist = append(s.hist, hist...)
	for len(s.vs) >= s.i.saveBatch {
		s.writeLocked(s.i.saveBatch)
	}
}

// flush writes whatever is buffered.
func (s *saver) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()

	for len(s.vs) > 0 || len(s.hist) > 0 {
		s.writeLocked(s.i.saveBatch)
	}
}

// writeLocked writes up to n vehicles with their history rows.
func (s *saver) writeLocked(n int) {
	n = min(n, len(s.vs))
	batch := Batch{RunID: s.runID, Vehicles: s.vs[:n:n]}
	in := make(map[VIN]bool, n)
	for _, v := range batch.Vehicles {
		in[v.VIN] = true
	}

	var rest []StatusChange
	for _, h := range s.hist {
		if in[h.VIN] || n == len(s.vs) {
			batch.History = append(batch.History, h)
		} else {
			rest = append(rest, h)
		}
	}

	s.vs, s.hist = s.vs[n:], rest
	batch = s.leaveOutRefused(batch)
	if len(batch.Vehicles) == 0 && len(batch.History) == 0 {
		return
	}

	ctx, cancel := context.WithTimeout(s.ctx, s.i.saveTO)
	defer cancel()

	if err := s.i.store.SaveBatch(ctx, batch); err != nil && s.onErr != nil {
		s.onErr(fmt.Errorf("%d vehicles: %w", len(batch.Vehicles), err))
	}
}

// leaveOutRefused drops from b the vehicles and history rows a store would
// refuse, with the history of the vehicles dropped, telling onRefused of
// each vehicle and row.
func (s *saver) leaveOutRefused(b Batch) Batch {
	refused := make(map[VIN]bool)
	var vs []Vehicle
	for _, v := range b.Vehicles {
		if err := CheckVehicle(v); err != nil {
			refused[v.VIN] = true
			s.refuse(err)

			continue
		}

		vs = append(vs, v)
	}

	var hist []StatusChange
	for _, h := range b.History {
		if refused[h.VIN] {
			continue
		}

		if err := CheckStatusChange(h); err != nil {
			s.refuse(err)

			continue
		}

		hist = append(hist, h)
	}

	if len(refused) == 0 && len(hist) == len(b.History) {
		return b
	}

	b.Vehicles, b.History = vs, hist

	return b
}

func (s *saver) refuse(err error) {
	if s.onRefused != nil {
		s.onRefused(err)
	}
}

// mergeEntry lays the wanted entry over what was stored: the entry is the
// company's word, but an empty value does not hide a known one.
func mergeEntry(old, e FleetEntry) FleetEntry {
	out := e
	keep := func(dst *string, prev string) {
		if *dst == "" {
			*dst = prev
		}
	}

	keep(&out.Owner, old.Owner)
	keep(&out.Make, old.Make)
	keep(&out.Model, old.Model)
	keep(&out.Type, old.Type)
	keep(&out.Connector, old.Connector)
	keep(&out.LicencePlate, old.LicencePlate)
	keep(&out.Country, old.Country)
	if out.StartDate.IsZero() {
		out.StartDate = old.StartDate
	}

	if out.EndDate.IsZero() {
		out.EndDate = old.EndDate
	}

	if out.Eligible == nil {
		out.Eligible = old.Eligible
	}

	out.Make = NormalizeMake(out.Make)
	if out.Make == "" {
		out.Make = e.VIN.Make()
	}

	return out
}

// setStatus records a status with its raw word and reason; the change time
// moves only when the status changes, and an empty raw word keeps the old
// one only while the status stays the same.
func setStatus(v *Vehicle, st Status, raw, reason string, at time.Time) {
	if st != v.Status || v.StatusChangedAt.IsZero() {
		v.StatusChangedAt = at
	}

	if raw != "" || st != v.Status {
		v.RawStatus = raw
	}

	v.Status = st

	v.Reason = reason
}

// keepStatus records a failure's reason without changing a known status; a
// vehicle that never had one gets StatusError.
func keepStatus(v *Vehicle, reason string, at time.Time) {
	st := v.Status
	if st == "" {
		st = StatusError
	}

	setStatus(v, st, "", reason, at)
}

func cloneVehicle(v Vehicle) Vehicle {
	v.Sources = maps.Clone(v.Sources)
	if v.Eligible != nil {
		e := *v.Eligible
		v.Eligible = &e
	}

	return v
}
