package activation

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// Apply carries out p through c: it checks the eligibility of the vehicles
// to activate when c is an oem.EligibilityChecker, activates the eligible
// ones, then deactivates. Each phase sends batches of at most o.BatchSize
// VINs with up to o.Concurrency calls in flight; each call's context is
// marked with its oem.RequestKind. Outcomes are emitted per batch.
//
// A cancelled context stops new batches; batches cut short by it emit
// nothing (what the OEM did is read from the next listing). Apply then
// returns the context's error. A panic in the connector is returned as an
// error. A vehicle refused for a rate limit that outlasted the retries
// stops new batches too, and Apply returns that error.
func (a *Activator) Apply(ctx context.Context, c oem.Connector, p *oem.Plan,
	o oem.ApplyOptions, emit func([]oem.Outcome)) error {
	if p == nil {
		return nil
	}

	r := &runner{
		a:       a,
		c:       c,
		items:   make(map[oem.VIN]oem.PlanItem, len(p.Items)),
		batch:   o.BatchSize,
		workers: max(o.Concurrency, 1),
		now:     o.Now,
		emit:    emit,
	}
	if r.batch <= 0 {
		r.batch = a.cfg.BatchSize
	}

	if r.now == nil {
		r.now = time.Now
	}

	for _, it := range p.Items {
		r.items[it.VIN] = it
	}

	activate := p.VINs(oem.ActionActivate)
	if ec, ok := c.(oem.EligibilityChecker); ok && len(activate) > 0 {
		eligible, err := r.checkEligibility(ctx, ec, activate)
		if err != nil {
			return err
		}

		activate = eligible
	}

	if err := r.run(ctx, activate, r.activate); err != nil {
		return err
	}

	return r.run(ctx, p.VINs(oem.ActionDeactivate), r.deactivate)
}

// runner holds one Apply call's state.
type runner struct {
	a       *Activator
	c       oem.Connector
	items   map[oem.VIN]oem.PlanItem
	batch   int
	workers int
	now     func() time.Time

	emitMu sync.Mutex
	emit   func([]oem.Outcome)
}

func (r *runner) send(out []oem.Outcome) {
	if len(out) == 0 || r.emit == nil {
		return
	}

	r.emitMu.Lock()
	defer r.emitMu.Unlock()

	r.emit(out)
}

// run calls fn on batches of vins with up to r.workers in flight. It stops
// starting batches when ctx is done or a batch panicked, waits for the
// running ones and returns the first of those errors.
func (r *runner) run(ctx context.Context, vins []oem.VIN,
	fn func(ctx context.Context, batch []oem.VIN) []oem.Outcome) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)

	slots := make(chan struct{}, r.workers)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()

		if firstErr == nil {
			firstErr = err
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()

		return firstErr != nil
	}

	for start := 0; start < len(vins); start += r.batch {
		batch := vins[start:min(start+r.batch, len(vins))]

		select {
		case <-ctx.Done():
		case slots <- struct{}{}:
		}

		if ctx.Err() != nil {
			fail(ctx.Err())
			break
		}

		if failed() {
			<-slots
			break
		}

		wg.Go(func() {
			defer func() { <-slots }()
			defer func() {
				if v := recover(); v != nil {
					r.a.log.Error("connector panicked", "connector", r.c.Name(), "panic", v,
						"stack", string(debug.Stack()))
					fail(fmt.Errorf("%s: connector panicked: %v", r.c.Name(), v))
				}
			}()

			out := fn(ctx, batch)
			r.send(out)

			// A rate limit that outlasted the retries (CASES 15): asking
			// for the next vehicles would only be refused, and billed. The
			// connector's run ends here. (A quota answer stays the
			// vehicle's own: some OEMs count quotas per vehicle.)
			for _, o := range out {
				if errors.Is(o.Err, oem.ErrRateLimited) {
					fail(fmt.Errorf("%s: stopped: %w", r.c.Name(), o.Err))
					break
				}
			}
		})
	}

	wg.Wait()

	return firstErr
}

// cancelled reports whether err is only the run's context ending.
func cancelled(ctx context.Context, err error) bool {
	return ctx.Err() != nil &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// checkEligibility asks ec about vins and returns the eligible ones. The
// others get an outcome: ineligible, or the failure.
func (r *runner) checkEligibility(ctx context.Context, ec oem.EligibilityChecker,
	vins []oem.VIN) ([]oem.VIN, error) {
	var (
		mu       sync.Mutex
		eligible []oem.VIN
	)

	kctx := oem.WithRequestKind(ctx, oem.RequestEligibility)
	err := r.run(ctx, vins, func(_ context.Context, batch []oem.VIN) []oem.Outcome {
		answers, err := ec.CheckEligibility(kctx, batch)
		if errors.Is(err, oem.ErrNotSupported) {
			mu.Lock()
			eligible = append(eligible, batch...)
			mu.Unlock()

			return nil
		}

		if err != nil {
			if cancelled(ctx, err) {
				return nil
			}

			return r.failAll(oem.ActionActivate, batch, fmt.Errorf("check eligibility: %w", err))
		}

		byVIN := make(map[oem.VIN]oem.Eligibility, len(answers))
		for _, e := range answers {
			byVIN[e.VIN] = e
		}

		var out []oem.Outcome
		for _, vin := range batch {
			e, ok := byVIN[vin]
			switch {
			case !ok:
				out = append(out, r.failed(oem.ActionActivate, vin, "", "",
					fmt.Errorf("no eligibility answer for %s: %w", vin, oem.ErrTransient)))
			case e.Err != nil && cancelled(ctx, e.Err):
				// Cut short by the cancel: nothing to record.
			case e.Err != nil && errors.Is(e.Err, oem.ErrNotSupported):
				// The OEM cannot check this vehicle (a brand its
				// eligibility API does not take): activation decides.
				mu.Lock()
				eligible = append(eligible, vin)
				mu.Unlock()
			case e.Err != nil:
				out = append(out, r.failed(oem.ActionActivate, vin, "", e.Reason, e.Err))
			case !e.Eligible:
				reason := e.Reason
				if reason == "" {
					reason = "not eligible"
				}

				out = append(out, oem.Outcome{VIN: vin, Action: oem.ActionActivate,
					Status: oem.StatusIneligible, Reason: reason, At: r.now()})
			default:
				mu.Lock()
				eligible = append(eligible, vin)
				mu.Unlock()
			}
		}

		return out
	})

	return eligible, err
}

func (r *runner) activate(ctx context.Context, batch []oem.VIN) []oem.Outcome {
	res, err := r.c.Activate(oem.WithRequestKind(ctx, oem.RequestActivation), batch)

	return r.outcomes(ctx, oem.ActionActivate, batch, res, err)
}

func (r *runner) deactivate(ctx context.Context, batch []oem.VIN) []oem.Outcome {
	res, err := r.c.Deactivate(oem.WithRequestKind(ctx, oem.RequestDeactivation), batch)

	return r.outcomes(ctx, oem.ActionDeactivate, batch, res, err)
}

// outcomes turns one call's results into outcomes, one per VIN of the batch.
// A call that failed may still have returned results for some VINs (a
// connector that works vehicle by vehicle and was stopped part-way): those
// stand, and only the VINs without one take the call's error. Nothing is
// recorded for a VIN that the run's cancel cut short: the next listing says
// what the OEM did.
func (r *runner) outcomes(ctx context.Context, act oem.Action, batch []oem.VIN,
	res []oem.Result, err error) []oem.Outcome {
	byVIN := make(map[oem.VIN]oem.Result, len(res))
	for _, res := range res {
		if _, asked := r.items[res.VIN]; !asked {
			r.a.log.Warn("result for a VIN not asked for", "connector", r.c.Name(),
				"vin", res.VIN)
			continue
		}

		byVIN[res.VIN] = res
	}

	out := make([]oem.Outcome, 0, len(batch))
	for _, vin := range batch {
		res, ok := byVIN[vin]
		switch {
		case !ok && err != nil && cancelled(ctx, err):
		case !ok && err != nil:
			out = append(out, r.failed(act, vin, "", "", err))
		case !ok && ctx.Err() != nil:
		case !ok:
			out = append(out, r.failed(act, vin, "", "",
				fmt.Errorf("%s: no result for %s: %w", r.c.Name(), vin, oem.ErrTransient)))
		case res.Err != nil && cancelled(ctx, res.Err):
		case res.Err != nil:
			out = append(out, r.failed(act, vin, res.Status, res.Reason, res.Err, res.Raw))
		default:
			out = append(out, oem.Outcome{VIN: vin, Action: act, Status: succeeded(act, res.Status),
				Raw: res.Raw, Reason: res.Reason, At: r.now()})
		}
	}

	return out
}

// succeeded is the status to record for a successful call that answered st.
func succeeded(act oem.Action, st oem.Status) oem.Status {
	if act == oem.ActionActivate {
		switch st {
		case "", oem.StatusUnknown, oem.StatusInactive:
			return oem.StatusPending
		}

		return st
	}

	switch st {
	case oem.StatusInactive, oem.StatusDeactivating:
		return st
	}

	// The OEM took the request without saying where it stands: removal is
	// on its way, and the next listing says when it is done.
	return oem.StatusDeactivating
}

func (r *runner) failAll(act oem.Action, batch []oem.VIN, err error) []oem.Outcome {
	out := make([]oem.Outcome, 0, len(batch))
	for _, vin := range batch {
		out = append(out, r.failed(act, vin, "", "", err))
	}

	return out
}

// failed builds the outcome of a failure. The vehicle keeps the status it
// had (StatusError when it never had one) unless the answer itself settles
// it: ineligible or rejected for an activation, and a deactivation refused
// for now (oem.ErrConflict: too early, in transition) stays pending
// deactivation, to be tried again next run.
func (r *runner) failed(act oem.Action, vin oem.VIN, answered oem.Status, reason string,
	err error, raw ...string) oem.Outcome {
	st := r.items[vin].Status
	switch {
	case act == oem.ActionActivate &&
		(answered == oem.StatusIneligible || answered == oem.StatusRejected):
		st = answered
	case act == oem.ActionDeactivate &&
		(answered == oem.StatusDeactivating || errors.Is(err, oem.ErrConflict)):
		st = oem.StatusDeactivating
	case errors.Is(err, oem.ErrNotSupported) && answered != "" && answered != oem.StatusUnknown:
		// The connector cannot do it but knows where the vehicle stands
		// (Tesla: shared with an account or not).
		st = answered
	case st == "":
		st = oem.StatusError
	}

	if reason == "" {
		reason = err.Error()
	}

	o := oem.Outcome{VIN: vin, Action: act, Status: st, Reason: reason, Err: err, At: r.now()}
	if len(raw) > 0 {
		o.Raw = raw[0]
	}

	return o
}
