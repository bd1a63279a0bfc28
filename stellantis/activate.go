package stellantis

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Activate makes one contract per VIN (POST /contracts, one VIN per call)
// and puts the new contracts in the fleet (PUT /fleets/{id}/vehicles, one
// call for the batch). The contract reference is derived from the VIN
// alone, so asking again after a crash meets the API's 409 ("an activation
// is already in progress"), which is success with status pending, and makes
// no second contract (CASES 21, 24). After a 409 the existing contract is
// looked up and put in the fleet too, in case the earlier run stopped
// between the two calls.
func (c *Connector) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	results := make([]oem.Result, len(vins))
	ids := make([]string, len(vins))
	c.each(ctx, len(vins), func(i int) {
		results[i], ids[i] = c.createContract(ctx, vins[i])
	})

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stellantis: activate: %w", err)
	}

	c.putInFleet(ctx, vins, ids, results)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stellantis: activate: %w", err)
	}

	return results, nil
}

// reference is the stable contract reference of a VIN.
func (c *Connector) reference(vin oem.VIN) string { return c.cfg.ReferencePrefix + string(vin) }

// createContract asks for one contract. It returns the Result and the id of
// the contract to put in the fleet ("" when there is none).
func (c *Connector) createContract(ctx context.Context, vin oem.VIN) (oem.Result, string) {
	if err := checkVIN(vin); err != nil {
		return oem.Result{VIN: vin, Status: oem.StatusError, Reason: err.Error(),
			Err: oem.NewVehicleError(vin, "activate", err)}, ""
	}

	now := c.cfg.Now().UTC()
	body := contractRequest{
		Reference: c.reference(vin),
		Company:   c.cfg.CompanyID,
		Car:       contractCar{VIN: string(vin), Note: c.cfg.Note},
		From:      now.Format(isoMillis),
		To:        now.Add(c.cfg.ContractLength).Format(isoMillis),
		Pack:      c.cfg.Pack,
	}

	var ans contractAnswer
	resp, err := c.http.DoJSON(ctx, httpx.Request{
		Op:     "create contract",
		Method: http.MethodPost,
		Path:   pathContracts,
		JSON:   body,
		Accept: []int{http.StatusConflict},
	}, &ans)

	switch {
	case err != nil && isIneligible(err):
		return oem.Result{VIN: vin, Status: oem.StatusIneligible, Reason: reasonOf(err),
			Err: oem.NewVehicleError(vin, "activate", err)}, ""
	case err != nil:
		return oem.Result{VIN: vin, Status: oem.StatusError, Reason: reasonOf(err),
			Err: oem.NewVehicleError(vin, "activate", ctxErr(ctx.Err(), "activate", err))}, ""
	case resp.StatusCode == http.StatusConflict:
		return c.existing(ctx, vin, "activation already in progress")
	case string(ans.ID) == "":
		// A success without the id: find the contract to put it in the
		// fleet.
		return c.existing(ctx, vin, "contract made; id looked up")
	}

	raw := ans.Status.V
	st := c.mapStatus(raw)
	if !ans.Status.Set {
		// The answer did not say; a new contract starts pending.
		st, raw = oem.StatusPending, ""
	}

	return oem.Result{VIN: vin, Status: st, Raw: raw}, string(ans.ID)
}

// existing looks up the live contract of a VIN the API says already has
// one, for its status and its id.
func (c *Connector) existing(ctx context.Context, vin oem.VIN, reason string) (oem.Result, string) {
	cs, err := c.contractsFor(ctx, vin)
	if err != nil {
		return oem.Result{VIN: vin, Status: oem.StatusPending, Reason: reason,
			Err: oem.NewVehicleError(vin, "activate: look up contract",
				ctxErr(ctx.Err(), "activate", err))}, ""
	}

	k := newestLive(cs)
	if k == nil {
		// The API refused a new contract but lists none yet: the
		// activation is in progress on its side.
		return oem.Result{VIN: vin, Status: oem.StatusPending, Raw: "",
			Reason: reason + " (no live contract listed yet)"}, ""
	}

	return oem.Result{VIN: vin, Status: c.mapStatus(k.Status.V), Raw: k.Status.V, Reason: reason},
		string(k.ID)
}

// newestLive returns the newest contract that is pending or activated, else
// the newest that is not cancelled, else nil.
func newestLive(cs []contract) *contract {
	var best, other *contract
	for i := range cs {
		k := &cs[i]
		switch strings.ToLower(k.Status.V) {
		case "cancelled":
			continue
		case "pending", "activated":
			if best == nil || k.newer(best) {
				best = k
			}
		default:
			if other == nil || k.newer(other) {
				other = k
			}
		}
	}

	if best != nil {
		return best
	}

	return other
}

// putInFleet puts the contracts made (or found) for the batch in the fleet,
// in one call. The body shape is Config.FleetBody: OEM-APIS.md marks it a
// guess (an array of contract ids by default, {"vins":[…]} otherwise). A
// 409 is taken as "already in the fleet". A failure becomes each VIN's
// Err: its contract exists, and a rerun finds it through the 409 path.
func (c *Connector) putInFleet(ctx context.Context, vins []oem.VIN, ids []string,
	results []oem.Result) {
	var (
		idx     []int
		payload []string
	)

	for i, id := range ids {
		if id == "" || results[i].Err != nil {
			continue
		}

		idx = append(idx, i)
		if c.cfg.FleetBody == FleetBodyVINs {
			payload = append(payload, string(vins[i]))
		} else {
			payload = append(payload, id)
		}
	}

	if len(idx) == 0 {
		return
	}

	var body any = payload
	if c.cfg.FleetBody == FleetBodyVINs {
		body = fleetVINs{VINs: payload}
	}

	_, err := c.http.Do(ctx, httpx.Request{
		Op:     "put contracts in the fleet",
		Method: http.MethodPut,
		Path:   pathAPI + "/fleets/" + url.PathEscape(c.cfg.FleetID) + "/vehicles",
		JSON:   body,
		Accept: []int{http.StatusConflict},
	})
	if err == nil {
		return
	}

	err = ctxErr(ctx.Err(), "put contracts in the fleet", err)
	for _, i := range idx {
		results[i].Reason = "contract made but not put in the fleet: " + reasonOf(err)
		results[i].Err = oem.NewVehicleError(vins[i], "activate: put in fleet", err)
	}
}

// Deactivate deletes the live contracts of each VIN (DELETE
// /contracts/{_id}, ids found in the listing). A VIN without a live
// contract, or whose contract is already gone (404), is inactive: success.
func (c *Connector) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	if len(vins) == 0 {
		return nil, nil
	}

	results := make([]oem.Result, len(vins))
	c.each(ctx, len(vins), func(i int) { results[i] = c.deactivate(ctx, vins[i]) })

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stellantis: deactivate: %w", err)
	}

	return results, nil
}

func (c *Connector) deactivate(ctx context.Context, vin oem.VIN) oem.Result {
	if err := checkVIN(vin); err != nil {
		return oem.Result{VIN: vin, Status: oem.StatusError, Reason: err.Error(),
			Err: oem.NewVehicleError(vin, "deactivate", err)}
	}

	cs, err := c.contractsFor(ctx, vin)
	if err != nil {
		err = ctxErr(ctx.Err(), "deactivate", err)
		return oem.Result{VIN: vin, Status: oem.StatusError, Reason: reasonOf(err),
			Err: oem.NewVehicleError(vin, "deactivate: look up contract", err)}
	}

	deleted := 0
	for i := range cs {
		k := &cs[i]
		if strings.EqualFold(k.Status.V, "cancelled") {
			continue
		}

		if k.ID == "" {
			err := fmt.Errorf("contract without _id: %w", oem.ErrInvalidInput)
			return oem.Result{VIN: vin, Status: c.mapStatus(k.Status.V), Raw: k.Status.V,
				Reason: err.Error(), Err: oem.NewVehicleError(vin, "deactivate", err)}
		}

		_, err := c.http.Do(ctx, httpx.Request{
			Op:     "delete contract",
			Method: http.MethodDelete,
			Path:   pathContracts + "/" + url.PathEscape(string(k.ID)),
			Accept: []int{http.StatusNotFound}, // already gone
		})
		if err != nil {
			err = ctxErr(ctx.Err(), "deactivate", err)
			return oem.Result{VIN: vin, Status: c.mapStatus(k.Status.V), Raw: k.Status.V,
				Reason: reasonOf(err), Err: oem.NewVehicleError(vin, "deactivate", err)}
		}

		deleted++
	}

	if deleted == 0 {
		return oem.Result{VIN: vin, Status: oem.StatusInactive, Raw: "cancelled",
			Reason: "no live contract"}
	}

	return oem.Result{VIN: vin, Status: oem.StatusInactive, Raw: "cancelled"}
}

// each runs fn(0..n-1) with at most Config.Concurrency at once, stopping
// to start new ones once ctx is done.
func (c *Connector) each(ctx context.Context, n int, fn func(i int)) {
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}

		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}

	wg.Wait()
}

// checkVIN refuses a VIN that is not normalised: nothing invalid is sent to
// the OEM.
func checkVIN(vin oem.VIN) error {
	v, err := oem.ParseVIN(string(vin))
	if err != nil {
		return err
	}

	if v != vin {
		return fmt.Errorf("vin %q is not normalised: %w", vin, oem.ErrInvalidInput)
	}

	return nil
}

// reasonOf is the OEM's message in err, or err's text.
func reasonOf(err error) string {
	if ae, ok := asAPIError(err); ok && ae.Message != "" {
		return ae.Message
	}

	return err.Error()
}
