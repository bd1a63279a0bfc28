package bmw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Activate enrols each VIN in the fleet: a registered vehicle already in
// the fleet is left as it is, a registered one outside it is added, and an
// unknown one is checked (vin-checker), registered and added. Every
// "already done" answer is success. The fleet is resolved before anything
// is registered, so a fleet that cannot be found fails the whole call and
// leaves no vehicle registered outside it.
//
// The call fails as a whole (results so far and an error) when ctx ends or
// the login is refused; any other failure is in that vehicle's Result,
// with status pending when the vehicle is registered but could not be put
// in the fleet.
func (c *Connector) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bmw: activate: %w", err)
	}

	ref, err := c.resolveFleet(ctx)
	if err != nil {
		return nil, fmt.Errorf("bmw: activate: nothing registered: %w", err)
	}

	return c.each(ctx, "activate", vins, func(vin oem.VIN) oem.Result {
		return c.activateOne(ctx, ref, vin)
	})
}

// each runs one per-vehicle step for every distinct VIN, stopping the call
// when ctx ends or the account's login fails.
func (c *Connector) each(ctx context.Context, op string, vins []oem.VIN,
	one func(oem.VIN) oem.Result) ([]oem.Result, error) {
	out := make([]oem.Result, 0, len(vins))
	done := make(map[oem.VIN]bool, len(vins))
	for _, vin := range vins {
		if done[vin] {
			continue
		}

		done[vin] = true

		r := one(vin)
		if err := ctx.Err(); err != nil {
			// What BMW answered for this vehicle before the cancel stands
			// (an ineligible refusal, say); a step the cancel cut off is
			// left out, for the next run's listing to tell.
			if r.Err == nil || !errors.Is(r.Err, context.Canceled) && !errors.Is(r.Err, context.DeadlineExceeded) {
				out = append(out, r)
			}

			return out, fmt.Errorf("bmw: %s: %w", op, err)
		}

		if accountWide(r.Err) {
			return out, fmt.Errorf("bmw: %s: %w", op, r.Err)
		}

		out = append(out, r)
	}

	return out, nil
}

// accountWide reports whether err concerns the account, not one vehicle: a
// failed login or a refused token. Going on with the next vehicle would
// only repeat the login.
func accountWide(err error) bool {
	var lf *loginFailure

	return errors.As(err, &lf) || errors.Is(err, oem.ErrAuth) || errors.Is(err, oem.ErrLoginRequired)
}

func failed(vin oem.VIN, op string, st oem.Status, raw string, err error) oem.Result {
	return oem.Result{VIN: vin, Status: st, Raw: raw, Reason: err.Error(),
		Err: oem.NewVehicleError(vin, op, err)}
}

func (c *Connector) activateOne(ctx context.Context, ref fleetRef, vin oem.VIN) oem.Result {
	const op = "activate"

	reg, err := c.registration(ctx, vin)
	if err != nil {
		return failed(vin, op, oem.StatusError, "", err)
	}

	switch {
	case reg != nil && reg.fleetID() == ref.ID:
		return oem.Result{VIN: vin, Status: oem.StatusActive, Raw: rawInFleet,
			Reason: "already in fleet " + ref.Name}
	case reg == nil:
		if r, stop := c.register(ctx, vin); stop {
			return r
		}
	}

	_, err = c.http.Do(ctx, httpx.Request{
		Op:     "add vehicle to fleet",
		Method: http.MethodPost,
		Path:   "/fleet/" + url.PathEscape(ref.ID) + "/vehicle/" + url.PathEscape(string(vin)),
		Accept: []int{http.StatusUnprocessableEntity}, // already in this fleet
	})
	if err != nil {
		// Registered but not in the fleet: the next Activate adds it.
		return failed(vin, op, oem.StatusPending, rawRegistered, err)
	}

	return oem.Result{VIN: vin, Status: oem.StatusActive, Raw: rawInFleet}
}

// registration returns BMW's record of vin, or nil when BMW answers 404
// (not registered).
func (c *Connector) registration(ctx context.Context, vin oem.VIN) (*vehicleAnswer, error) {
	var ans vehicleAnswer
	resp, err := c.http.DoJSON(ctx, httpx.Request{
		Op:     "look up vehicle",
		Method: http.MethodGet,
		Path:   "/vehicle/" + url.PathEscape(string(vin)),
		Accept: []int{http.StatusNotFound},
	}, &ans)
	if err != nil {
		return nil, err
	}

	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}

	return &ans, nil
}

// register checks eligibility and registers vin. It returns the Result and
// true when activation stops here (ineligible or failed), false to go on
// with adding the vehicle to the fleet.
func (c *Connector) register(ctx context.Context, vin oem.VIN) (oem.Result, bool) {
	const op = "activate"

	el, ok := c.recentCheck(vin)
	if !ok {
		el = c.checkOne(ctx, vin)
	}

	switch {
	case el.Err != nil:
		return failed(vin, op, oem.StatusError, "", el.Err), true
	case !el.Eligible:
		return failed(vin, op, oem.StatusIneligible, rawIneligible,
			fmt.Errorf("%s: %w", el.Reason, oem.ErrPermissionDenied)), true
	}

	_, err := c.http.Do(ctx, httpx.Request{
		Op: "register vehicle", Method: http.MethodPost, Path: "/vehicle",
		// The plate, the owner as the note and the contract's end come
		// from the wanted fleet when the Ingester handed it over.
		JSON: c.registerBody(vin),
	})
	if err == nil {
		return oem.Result{}, false
	}

	ae, ok := apiError(err)
	switch {
	case ok && ae.Code == codeAlreadyExists:
		return oem.Result{}, false
	case ok && (ae.Code == codeNotAllowed || ae.StatusCode == http.StatusPreconditionFailed):
		return failed(vin, op, oem.StatusIneligible, rawNotAllowed, err), true
	}

	return failed(vin, op, oem.StatusError, "", err), true
}

// CheckEligibility asks BMW's vin-checker about each VIN: a head unit
// without the extended capability cannot share fleet data.
func (c *Connector) CheckEligibility(ctx context.Context, vins []oem.VIN) ([]oem.Eligibility, error) {
	out := make([]oem.Eligibility, 0, len(vins))
	done := make(map[oem.VIN]bool, len(vins))
	for _, vin := range vins {
		if done[vin] {
			continue
		}

		done[vin] = true

		el := c.checkOne(ctx, vin)
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("bmw: check eligibility: %w", err)
		}

		if accountWide(el.Err) {
			return out, fmt.Errorf("bmw: check eligibility: %w", el.Err)
		}

		out = append(out, el)
	}

	return out, nil
}

// eligibilityTTL is how long a vin-checker answer is taken as still true.
const eligibilityTTL = time.Hour

type checkedAnswer struct {
	el oem.Eligibility
	at time.Time
}

// recentCheck returns the vin-checker's answer for vin when it was asked
// within eligibilityTTL.
func (c *Connector) recentCheck(vin oem.VIN) (oem.Eligibility, bool) {
	v, ok := c.checked.Load(vin)
	if !ok {
		return oem.Eligibility{}, false
	}

	a := v.(checkedAnswer)
	if c.cfg.Now().Sub(a.at) > eligibilityTTL {
		c.checked.Delete(vin)
		return oem.Eligibility{}, false
	}

	return a.el, true
}

// checkOne asks the vin-checker about vin and remembers a definite answer.
func (c *Connector) checkOne(ctx context.Context, vin oem.VIN) oem.Eligibility {
	el := c.askVINChecker(ctx, vin)
	if el.Err == nil {
		c.checked.Store(vin, checkedAnswer{el: el, at: c.cfg.Now()})
	}

	return el
}

func (c *Connector) askVINChecker(ctx context.Context, vin oem.VIN) oem.Eligibility {
	var ans vinCheckAnswer
	_, err := c.http.DoJSON(ctx, httpx.Request{
		Op: "check eligibility", Method: http.MethodGet,
		Path: "/vin-checker/" + url.PathEscape(string(vin)),
	}, &ans)

	switch {
	case err != nil:
		return oem.Eligibility{VIN: vin, Err: oem.NewVehicleError(vin, "check eligibility", err)}
	case !ans.ExtendedCapability.Set:
		return oem.Eligibility{VIN: vin, Err: oem.NewVehicleError(vin, "check eligibility",
			fmt.Errorf("bmw: vin-checker answer without extended_capability: %w", oem.ErrTransient))}
	case !ans.ExtendedCapability.V:
		return oem.Eligibility{VIN: vin, Reason: "head unit without the extended capability " +
			"(vin-checker extended_capability false)"}
	}

	return oem.Eligibility{VIN: vin, Eligible: true}
}

// Deactivate deletes each VIN's registration, then checks that BMW no
// longer knows it. A vehicle BMW does not know is already inactive; one it
// still answers for after the deletion stays deactivating, with the reason,
// for a later run to check.
func (c *Connector) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bmw: deactivate: %w", err)
	}

	return c.each(ctx, "deactivate", vins, func(vin oem.VIN) oem.Result {
		return c.deactivateOne(ctx, vin)
	})
}

func (c *Connector) deactivateOne(ctx context.Context, vin oem.VIN) oem.Result {
	resp, err := c.http.Do(ctx, httpx.Request{
		Op: "delete vehicle", Method: http.MethodDelete,
		Path:   "/vehicle/" + url.PathEscape(string(vin)),
		Accept: []int{http.StatusNotFound},
	})
	if err != nil {
		return failed(vin, "deactivate", oem.StatusError, "", err)
	}

	if resp.StatusCode == http.StatusNotFound {
		return oem.Result{VIN: vin, Status: oem.StatusInactive, Raw: rawUnknown,
			Reason: "not registered at BMW"}
	}

	reg, err := c.registration(ctx, vin)
	switch {
	case err != nil:
		return oem.Result{VIN: vin, Status: oem.StatusDeactivating, Raw: rawDeleted,
			Reason: "deleted, but the check that it is gone failed: " + err.Error()}
	case reg != nil:
		return oem.Result{VIN: vin, Status: oem.StatusDeactivating, Raw: rawStillThere,
			Reason: "BMW accepted the deletion but still knows the vehicle"}
	}

	return oem.Result{VIN: vin, Status: oem.StatusInactive, Raw: rawDeleted}
}
