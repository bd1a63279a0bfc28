package oemtest

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// Method names a connector call of the fake, for scripting faults and for
// counting calls.
type Method string

// The methods of a Fake.
const (
	MethodFleet       Method = "fleet"
	MethodActivate    Method = "activate"
	MethodDeactivate  Method = "deactivate"
	MethodDescribe    Method = "describe"
	MethodEligibility Method = "eligibility"
)

// requestKind is the kind a call of m counts as when its context carries no
// kind.
func (m Method) requestKind() oem.RequestKind {
	switch m {
	case MethodFleet:
		return oem.RequestListing
	case MethodActivate:
		return oem.RequestActivation
	case MethodDeactivate:
		return oem.RequestDeactivation
	case MethodDescribe:
		return oem.RequestDescription
	case MethodEligibility:
		return oem.RequestEligibility
	}

	return oem.RequestOther
}

// Fake is a scriptable in-memory connector. It holds an OEM fleet (one or
// more records per VIN), descriptions, eligibility answers and faults, and
// counts every call. Activate turns a VIN pending (see SetActivateStatus)
// and lists it from then on; Deactivate turns it inactive.
//
// Each call counts one request through oem.CountRequest (a listing one per
// page), so an Ingester's report shows what a real HTTP stack would count.
//
// *Fake itself implements only oem.Connector; Connector returns it with the
// optional capabilities that were switched on (eligibility, batch size,
// concurrency). All methods are safe for concurrent use; the setters return
// the Fake so a script reads as one expression.
type Fake struct {
	name string

	mu          sync.Mutex
	now         func() time.Time
	records     map[oem.VIN][]oem.Observed
	infos       map[oem.VIN]oem.Info
	eligible    map[oem.VIN]oem.Eligibility
	eligibility bool
	batchSize   int
	concurrency int
	pageSize    int
	activateTo  oem.Status
	deactTo     oem.Status

	vehicleFaults map[Method]map[oem.VIN]error
	callFaults    map[Method]error
	listFailAfter int
	listFailErr   error
	delays        map[Method]time.Duration
	hangs         map[Method]bool
	panics        map[Method]any
	hooks         map[Method]func(ctx context.Context, vins []oem.VIN)

	calls     map[Method]int
	vinCalls  map[Method]map[oem.VIN]int
	maxBatch  map[Method]int
	inFlight  map[Method]int
	maxFlight map[Method]int
}

// NewFake returns an empty fake connector called name.
func NewFake(name string) *Fake {
	return &Fake{
		name:          name,
		now:           time.Now,
		records:       make(map[oem.VIN][]oem.Observed),
		infos:         make(map[oem.VIN]oem.Info),
		eligible:      make(map[oem.VIN]oem.Eligibility),
		pageSize:      100,
		activateTo:    oem.StatusPending,
		deactTo:       oem.StatusInactive,
		vehicleFaults: make(map[Method]map[oem.VIN]error),
		callFaults:    make(map[Method]error),
		listFailAfter: -1,
		delays:        make(map[Method]time.Duration),
		hangs:         make(map[Method]bool),
		panics:        make(map[Method]any),
		hooks:         make(map[Method]func(context.Context, []oem.VIN)),
		calls:         make(map[Method]int),
		vinCalls:      make(map[Method]map[oem.VIN]int),
		maxBatch:      make(map[Method]int),
		inFlight:      make(map[Method]int),
		maxFlight:     make(map[Method]int),
	}
}

// Name returns the name the fake was made with.
func (f *Fake) Name() string { return f.name }

// SetClock makes the fake stamp status changes with now instead of
// time.Now.
func (f *Fake) SetClock(now func() time.Time) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.now = now

	return f
}

// SetStatus lists vin with status st (its only record), changed now.
func (f *Fake) SetStatus(vin oem.VIN, st oem.Status) *Fake {
	return f.SetObserved(oem.Observed{VIN: vin, Status: st, Raw: string(st)})
}

// SetObserved makes o the only record listed for o.VIN. A zero ChangedAt is
// set to the fake's clock.
func (f *Fake) SetObserved(o oem.Observed) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	if o.ChangedAt.IsZero() {
		o.ChangedAt = f.now()
	}

	f.records[o.VIN] = []oem.Observed{o}

	return f
}

// AddRecord lists one more record for o.VIN, as an OEM with two contracts
// for one vehicle does.
func (f *Fake) AddRecord(o oem.Observed) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.records[o.VIN] = append(f.records[o.VIN], o)

	return f
}

// Unlist removes vin from the listing.
func (f *Fake) Unlist(vin oem.VIN) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	delete(f.records, vin)

	return f
}

// Observed returns the newest record listed for vin.
func (f *Fake) Observed(vin oem.VIN) (oem.Observed, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	recs := f.records[vin]
	if len(recs) == 0 {
		return oem.Observed{}, false
	}

	return recs[len(recs)-1], true
}

// SetInfo makes Describe answer info for info.VIN. A VIN without an Info is
// unknown to Describe (a *oem.VehicleError wrapping oem.ErrNotFound).
func (f *Fake) SetInfo(info oem.Info) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.infos[info.VIN] = info

	return f
}

// EnableEligibility gives the connector returned by Connector the
// oem.EligibilityChecker capability. VINs without an answer set by
// SetEligibility are eligible.
func (f *Fake) EnableEligibility() *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.eligibility = true

	return f
}

// SetEligibility sets the eligibility answer for vin and switches the
// capability on. Activating an ineligible VIN fails for that VIN with
// status ineligible.
func (f *Fake) SetEligibility(vin oem.VIN, eligible bool, reason string) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.eligibility = true
	f.eligible[vin] = oem.Eligibility{VIN: vin, Eligible: eligible, Reason: reason}

	return f
}

// SetBatchSize gives the connector returned by Connector the oem.BatchSizer
// capability. A call with more VINs than n then fails as a whole with
// oem.ErrInvalidInput.
func (f *Fake) SetBatchSize(n int) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.batchSize = n

	return f
}

// SetConcurrency gives the connector returned by Connector the
// oem.Concurrency capability.
func (f *Fake) SetConcurrency(n int) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.concurrency = n

	return f
}

// SetPageSize sets how many records one listing request returns (default
// 100); each page counts as one listing request.
func (f *Fake) SetPageSize(n int) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	if n > 0 {
		f.pageSize = n
	}

	return f
}

// SetActivateStatus sets the status an activated VIN gets (default pending).
func (f *Fake) SetActivateStatus(st oem.Status) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.activateTo = st

	return f
}

// SetDeactivateStatus sets the status a deactivated VIN gets (default
// inactive).
func (f *Fake) SetDeactivateStatus(st oem.Status) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.deactTo = st

	return f
}

// FailVehicle makes m fail for vin alone with err: a Result's Err for
// Activate and Deactivate, an Eligibility's Err, a *oem.VehicleError in the
// Describe and Fleet streams. A nil err clears the fault.
func (f *Fake) FailVehicle(m Method, vin oem.VIN, err error) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	if f.vehicleFaults[m] == nil {
		f.vehicleFaults[m] = make(map[oem.VIN]error)
	}

	if err == nil {
		delete(f.vehicleFaults[m], vin)
	} else {
		f.vehicleFaults[m][vin] = err
	}

	return f
}

// FailCall makes every call of m fail as a whole with err (the listing
// yields it first). A nil err clears the fault.
func (f *Fake) FailCall(m Method, err error) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	if err == nil {
		delete(f.callFaults, m)
	} else {
		f.callFaults[m] = err
	}

	return f
}

// FailListingAfter makes the listing yield n records and then fail with
// err, as an OEM whose third page errors does. A nil err clears it.
func (f *Fake) FailListingAfter(n int, err error) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	if err == nil {
		f.listFailAfter, f.listFailErr = -1, nil
	} else {
		f.listFailAfter, f.listFailErr = n, err
	}

	return f
}

// Delay makes each call of m wait d (or until its context is done) before
// answering. Zero clears it.
func (f *Fake) Delay(m Method, d time.Duration) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.delays[m] = d

	return f
}

// Hang makes each call of m block until its context is done, then fail with
// the context's error.
func (f *Fake) Hang(m Method) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.hangs[m] = true

	return f
}

// Panic makes each call of m panic with v, to show a caller survives a
// broken connector.
func (f *Fake) Panic(m Method, v any) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.panics[m] = v

	return f
}

// OnCall makes each call of m run hook first, with the call's context and
// VINs (nil for the listing). Tests use it to cancel a run at a chosen
// point. The hook runs without the fake's lock held.
func (f *Fake) OnCall(m Method, hook func(ctx context.Context, vins []oem.VIN)) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.hooks[m] = hook

	return f
}

// ClearFaults removes every scripted failure, delay, hang, panic and hook.
func (f *Fake) ClearFaults() *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()

	clear(f.vehicleFaults)
	clear(f.callFaults)
	clear(f.delays)
	clear(f.hangs)
	clear(f.panics)
	clear(f.hooks)
	f.listFailAfter, f.listFailErr = -1, nil

	return f
}

// Calls returns how many times m was called.
func (f *Fake) Calls(m Method) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.calls[m]
}

// VINCalls returns how many calls of m included vin.
func (f *Fake) VINCalls(m Method, vin oem.VIN) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.vinCalls[m][vin]
}

// Requested returns the sorted VINs that calls of m included at least once.
func (f *Fake) Requested(m Method) []oem.VIN {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Sorted(maps.Keys(f.vinCalls[m]))
}

// MaxBatch returns the most VINs one call of m carried.
func (f *Fake) MaxBatch(m Method) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.maxBatch[m]
}

// MaxInFlight returns the most calls of m that were running at once.
func (f *Fake) MaxInFlight(m Method) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.maxFlight[m]
}

// Connector returns the fake with the optional capabilities switched on by
// EnableEligibility, SetBatchSize and SetConcurrency.
func (f *Fake) Connector() oem.Connector {
	f.mu.Lock()
	e, b, c := f.eligibility, f.batchSize > 0, f.concurrency > 0
	f.mu.Unlock()

	switch {
	case e && b && c:
		return fakeEBC{f}
	case e && b:
		return fakeEB{f}
	case e && c:
		return fakeEC{f}
	case b && c:
		return fakeBC{f}
	case e:
		return fakeE{f}
	case b:
		return fakeB{f}
	case c:
		return fakeC{f}
	}

	return f
}

// begin records a call of m and runs its scripted behaviour: panic, hook,
// whole-call fault, hang and delay, in that order. It returns the error the
// call must fail with, if any, and a function ending the call.
func (f *Fake) begin(ctx context.Context, m Method, vins []oem.VIN) (end func(), err error) {
	f.mu.Lock()
	f.calls[m]++
	if f.vinCalls[m] == nil {
		f.vinCalls[m] = make(map[oem.VIN]int)
	}

	for _, v := range vins {
		f.vinCalls[m][v]++
	}

	f.maxBatch[m] = max(f.maxBatch[m], len(vins))
	f.inFlight[m]++
	f.maxFlight[m] = max(f.maxFlight[m], f.inFlight[m])
	pv, doPanic := f.panics[m]
	hook := f.hooks[m]
	fault := f.callFaults[m]
	hang := f.hangs[m]
	delay := f.delays[m]
	batch := f.batchSize
	f.mu.Unlock()

	end = func() {
		f.mu.Lock()
		f.inFlight[m]--
		f.mu.Unlock()
	}

	if doPanic {
		end()
		panic(pv)
	}

	if hook != nil {
		hook(ctx, vins)
	}

	if err := ctx.Err(); err != nil {
		return end, fmt.Errorf("%s: %s: %w", f.name, m, err)
	}

	if m != MethodFleet {
		countAs(ctx, m)
	}

	if batch > 0 && len(vins) > batch && m != MethodFleet {
		return end, fmt.Errorf("%s: %s: %d VINs in one call, at most %d: %w",
			f.name, m, len(vins), batch, oem.ErrInvalidInput)
	}

	if fault != nil {
		return end, fault
	}

	if hang {
		<-ctx.Done()
		return end, fmt.Errorf("%s: %s: %w", f.name, m, ctx.Err())
	}

	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return end, fmt.Errorf("%s: %s: %w", f.name, m, ctx.Err())
		case <-timer.C:
		}
	}

	return end, nil
}

// countAs counts one request, as kind m unless ctx already names a kind.
func countAs(ctx context.Context, m Method) {
	if !hasKind(ctx) {
		ctx = oem.WithRequestKind(ctx, m.requestKind())
	}

	oem.CountRequest(ctx)
}

// hasKind reports whether ctx carries a request kind, by counting into a
// throw-away counter.
func hasKind(ctx context.Context) bool {
	var c oem.RequestCounter
	oem.CountRequest(oem.WithRequestCounter(ctx, &c))

	return c.Get(oem.RequestOther) == 0
}

// Fleet lists the fake's records in VIN order, a VIN's records in the order
// they were added, paged by the page size.
func (f *Fake) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		end, err := f.begin(ctx, MethodFleet, nil)
		defer end()
		if err != nil {
			yield(oem.Observed{}, err)
			return
		}

		f.mu.Lock()
		var all []oem.Observed
		for _, vin := range slices.Sorted(maps.Keys(f.records)) {
			all = append(all, f.records[vin]...)
		}

		faults := maps.Clone(f.vehicleFaults[MethodFleet])
		failAfter, failErr := f.listFailAfter, f.listFailErr
		page := f.pageSize
		f.mu.Unlock()

		for i, o := range all {
			if i%page == 0 {
				if err := ctx.Err(); err != nil {
					yield(oem.Observed{}, fmt.Errorf("%s: fleet: %w", f.name, err))
					return
				}

				countAs(ctx, MethodFleet)
			}

			if failErr != nil && i == failAfter {
				yield(oem.Observed{}, failErr)
				return
			}

			if verr := faults[o.VIN]; verr != nil {
				if !yield(oem.Observed{}, oem.NewVehicleError(o.VIN, "list", verr)) {
					return
				}

				continue
			}

			if !yield(o, nil) {
				return
			}
		}

		if failErr != nil && failAfter >= len(all) {
			yield(oem.Observed{}, failErr)
		}

		if len(all) == 0 {
			countAs(ctx, MethodFleet)
		}
	}
}

// Activate turns each VIN to the activation status (pending by default).
// A VIN already pending or active is left as it is ("already done"); an
// ineligible one fails with status ineligible.
func (f *Fake) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return f.change(ctx, MethodActivate, vins)
}

// Deactivate turns each VIN to the deactivation status (inactive by
// default). A VIN not listed, or already inactive or deactivating, is
// "already done".
func (f *Fake) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return f.change(ctx, MethodDeactivate, vins)
}

func (f *Fake) change(ctx context.Context, m Method, vins []oem.VIN) ([]oem.Result, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	end, err := f.begin(ctx, m, vins)
	defer end()
	if err != nil {
		return nil, err
	}

	f.mu.Lock()
	defer f.mu.Unlock()

	out := make([]oem.Result, 0, len(vins))
	for _, vin := range vins {
		cur := oem.StatusInactive
		if recs := f.records[vin]; len(recs) > 0 {
			cur = recs[len(recs)-1].Status
		}

		if verr := f.vehicleFaults[m][vin]; verr != nil {
			out = append(out, oem.Result{VIN: vin, Status: cur, Reason: verr.Error(),
				Err: oem.NewVehicleError(vin, string(m), verr)})
			continue
		}

		to := f.deactTo
		done := cur == oem.StatusInactive || cur == oem.StatusDeactivating
		if m == MethodActivate {
			to = f.activateTo
			done = cur.Sharing()
			if e, ok := f.eligible[vin]; f.eligibility && ok && !e.Eligible {
				out = append(out, oem.Result{VIN: vin, Status: oem.StatusIneligible,
					Reason: e.Reason,
					Err:    oem.NewVehicleError(vin, string(m), oem.ErrPermissionDenied)})
				continue
			}
		}

		if done {
			out = append(out, oem.Result{VIN: vin, Status: cur, Raw: string(cur),
				Reason: "already done"})
			continue
		}

		if _, listed := f.records[vin]; listed || m == MethodActivate {
			f.records[vin] = []oem.Observed{{VIN: vin, Status: to, Raw: string(to),
				ChangedAt: f.now()}}
		}

		out = append(out, oem.Result{VIN: vin, Status: to, Raw: string(to)})
	}

	return out, nil
}

// Describe yields the Info set for each VIN, a *oem.VehicleError wrapping
// oem.ErrNotFound for a VIN without one.
func (f *Fake) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		end, err := f.begin(ctx, MethodDescribe, vins)
		defer end()
		if err != nil {
			yield(oem.Info{}, err)
			return
		}

		for _, vin := range vins {
			if err := ctx.Err(); err != nil {
				yield(oem.Info{}, fmt.Errorf("%s: describe: %w", f.name, err))
				return
			}

			f.mu.Lock()
			info, ok := f.infos[vin]
			verr := f.vehicleFaults[MethodDescribe][vin]
			f.mu.Unlock()

			switch {
			case verr != nil:
				err = oem.NewVehicleError(vin, "describe", verr)
			case !ok:
				err = oem.NewVehicleError(vin, "describe", oem.ErrNotFound)
			default:
				info.Sources = maps.Clone(info.Sources)
				info.Warnings = slices.Clone(info.Warnings)
				err = nil
			}

			if !yield(info, err) {
				return
			}
		}
	}
}

func (f *Fake) checkEligibility(ctx context.Context, vins []oem.VIN) ([]oem.Eligibility, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	end, err := f.begin(ctx, MethodEligibility, vins)
	defer end()
	if err != nil {
		return nil, err
	}

	f.mu.Lock()
	defer f.mu.Unlock()

	out := make([]oem.Eligibility, 0, len(vins))
	for _, vin := range vins {
		if verr := f.vehicleFaults[MethodEligibility][vin]; verr != nil {
			out = append(out, oem.Eligibility{VIN: vin,
				Err: oem.NewVehicleError(vin, "check eligibility", verr)})
			continue
		}

		e, ok := f.eligible[vin]
		if !ok {
			e = oem.Eligibility{VIN: vin, Eligible: true}
		}

		out = append(out, e)
	}

	return out, nil
}

func (f *Fake) batch() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.batchSize
}

func (f *Fake) conc() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.concurrency
}

// The capability combinations Connector hands out.
type (
	fakeE   struct{ *Fake }
	fakeB   struct{ *Fake }
	fakeC   struct{ *Fake }
	fakeEB  struct{ *Fake }
	fakeEC  struct{ *Fake }
	fakeBC  struct{ *Fake }
	fakeEBC struct{ *Fake }
)

func (c fakeE) CheckEligibility(ctx context.Context, v []oem.VIN) ([]oem.Eligibility, error) {
	return c.checkEligibility(ctx, v)
}

func (c fakeEB) CheckEligibility(ctx context.Context, v []oem.VIN) ([]oem.Eligibility, error) {
	return c.checkEligibility(ctx, v)
}

func (c fakeEC) CheckEligibility(ctx context.Context, v []oem.VIN) ([]oem.Eligibility, error) {
	return c.checkEligibility(ctx, v)
}

func (c fakeEBC) CheckEligibility(ctx context.Context, v []oem.VIN) ([]oem.Eligibility, error) {
	return c.checkEligibility(ctx, v)
}

func (c fakeB) BatchSize() int   { return c.batch() }
func (c fakeEB) BatchSize() int  { return c.batch() }
func (c fakeBC) BatchSize() int  { return c.batch() }
func (c fakeEBC) BatchSize() int { return c.batch() }

func (c fakeC) Concurrency() int   { return c.conc() }
func (c fakeEC) Concurrency() int  { return c.conc() }
func (c fakeBC) Concurrency() int  { return c.conc() }
func (c fakeEBC) Concurrency() int { return c.conc() }

// ErrFake is a ready-made failure for scripts: errors.Is(err,
// oem.ErrTransient) holds for it.
var ErrFake = fmt.Errorf("fake failure: %w", oem.ErrTransient)
