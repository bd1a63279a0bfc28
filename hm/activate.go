package hm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Activate creates clearances in batches of BatchSize. High Mobility
// answers 200 even when some items failed ("vin should be 17
// character(s)", "The brand is invalid"): each failed item gets its own
// Result with an *oem.APIError of kind oem.ErrInvalidInput, the others
// succeed. A VIN that is not normalised, or whose brand the connector
// cannot name, gets an oem.ErrInvalidInput Result and is never sent. A
// VIN that already has a clearance comes back with its current status
// ("already done" is success).
//
// The whole call fails (error returned) on a cancelled context, bad
// credentials or a spent rate limit; any other failure of one batch is
// reported in that batch's Results.
func (c *Connector) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	vins = dedupe(vins)
	out := make([]oem.Result, 0, len(vins))

	var send []clearanceVehicle
	for _, vin := range vins {
		if err := checkVIN(vin); err != nil {
			out = append(out, errResult(vin, "activate", err))
			continue
		}

		b, err := c.brandOf(vin)
		if err != nil {
			out = append(out, errResult(vin, "activate", err))
			continue
		}

		send = append(send, clearanceVehicle{VIN: string(vin), Brand: b})
	}

	for start := 0; start < len(send); start += c.cfg.BatchSize {
		batch := send[start:min(start+c.cfg.BatchSize, len(send))]
		res, err := c.activateBatch(ctx, batch)
		if err != nil {
			return nil, err
		}

		out = append(out, res...)
	}

	return out, nil
}

func (c *Connector) activateBatch(ctx context.Context, batch []clearanceVehicle) ([]oem.Result, error) {
	var cr clearanceResponse
	resp, err := c.client.DoJSON(ctx, httpx.Request{
		Op: "create clearances", Method: http.MethodPost, Path: fleetPath,
		JSON: clearanceRequest{Vehicles: batch},
	}, &cr)

	out := make([]oem.Result, 0, len(batch))
	if err != nil {
		if fatal(err) {
			return nil, err
		}

		for _, v := range batch {
			out = append(out, errResult(oem.VIN(v.VIN), "activate", err))
		}

		return out, nil
	}

	items := make(map[string]clearanceItem, len(cr.Vehicles))
	for _, it := range cr.Vehicles {
		items[strings.ToUpper(strings.TrimSpace(it.VIN.V))] = it
	}

	for _, v := range batch {
		vin := oem.VIN(v.VIN)
		it, ok := items[v.VIN]
		if !ok {
			out = append(out, errResult(vin, "activate", &oem.APIError{
				Connector: Name, Op: "create clearances", Method: http.MethodPost, Path: fleetPath,
				StatusCode: resp.StatusCode, Message: "the answer has no item for this VIN",
				Kind: oem.ErrTransient,
			}))

			continue
		}

		if it.Status.V == "error" {
			out = append(out, oem.Result{
				VIN: vin, Status: oem.StatusError, Raw: it.Status.V, Reason: it.Description.V,
				Err: oem.NewVehicleError(vin, "activate", &oem.APIError{
					Connector: Name, Op: "create clearance", Method: http.MethodPost, Path: fleetPath,
					StatusCode: resp.StatusCode, Code: "error", Message: it.Description.V,
					Kind: oem.ErrInvalidInput,
				}),
			})

			continue
		}

		out = append(out, oem.Result{
			VIN: vin, Status: c.mapStatus(it.Status.V), Raw: it.Status.V, Reason: it.Description.V,
		})
	}

	return out, nil
}

// Deactivate deletes clearances, one request per VIN, Concurrency at a
// time. An approved clearance is revoked and a pending one cancelled: both
// give oem.StatusDeactivating. High Mobility's refusals map as follows:
//
//   - 404 (no clearance) and 409 "Clearance is already removed": done,
//     oem.StatusInactive, no error.
//   - 409 "in transition mode": when the clearance is already revoking or
//     canceling (one look-up tells), that is done too; otherwise it is an
//     oem.ErrConflict Result to retry later.
//   - 422 "cancellation is not supported for this vin": oem.ErrNotSupported,
//     the clearance stays pending.
//   - 422 "the pending status could only be canceled after 1 day":
//     oem.StatusDeactivating with that reason and oem.ErrConflict, so the
//     next run asks again.
func (c *Connector) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	vins = dedupe(vins)
	if len(vins) == 0 {
		return []oem.Result{}, nil
	}

	if err := c.checkToken(ctx); err != nil {
		return nil, err
	}

	out := make([]oem.Result, len(vins))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		fatalErr error
	)
	sem := make(chan struct{}, c.cfg.Concurrency)
	for i, vin := range vins {
		if err := checkVIN(vin); err != nil {
			out[i] = errResult(vin, "deactivate", err)
			continue
		}

		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = errResult(vin, "deactivate", ctx.Err())
				return
			}
			defer func() { <-sem }()

			r, err := c.deactivateOne(ctx, vin)
			if err != nil {
				mu.Lock()
				if fatalErr == nil {
					fatalErr = err
				}
				mu.Unlock()
			}

			out[i] = r
		})
	}

	wg.Wait()
	if fatalErr != nil {
		return nil, fatalErr
	}

	if ctx.Err() != nil {
		return nil, fmt.Errorf("hm: deactivate: %w", ctx.Err())
	}

	return out, nil
}

func (c *Connector) deactivateOne(ctx context.Context, vin oem.VIN) (oem.Result, error) {
	var it clearanceItem
	_, err := c.client.DoJSON(ctx, httpx.Request{
		Op: "delete clearance", Method: http.MethodDelete, Path: vinPath(vin),
	}, &it)
	if err == nil {
		return oem.Result{VIN: vin, Status: c.mapStatus(it.Status.V), Raw: it.Status.V}, nil
	}

	if fatal(err) {
		return oem.Result{}, err
	}

	ae, ok := apiErr(err)
	switch {
	case !ok:
		return errResult(vin, "deactivate", err), nil
	case ae.StatusCode == http.StatusNotFound:
		return oem.Result{VIN: vin, Status: oem.StatusInactive, Reason: "no clearance at High Mobility"}, nil
	case ae.StatusCode == http.StatusConflict && says(ae, wordAlreadyRemoved):
		return oem.Result{VIN: vin, Status: oem.StatusInactive, Reason: ae.Message}, nil
	case ae.StatusCode == http.StatusConflict && says(ae, wordTransition):
		return c.inTransition(ctx, vin, err)
	case errors.Is(err, oem.ErrNotSupported):
		return oem.Result{VIN: vin, Status: oem.StatusPending, Raw: "pending", Reason: ae.Message,
			Err: oem.NewVehicleError(vin, "deactivate", err)}, nil
	case ae.StatusCode == http.StatusUnprocessableEntity && errors.Is(err, oem.ErrConflict):
		// CASES 23: too early to cancel. It stays pending deactivation and
		// the next run tries again.
		return oem.Result{VIN: vin, Status: oem.StatusDeactivating, Raw: "pending", Reason: ae.Message,
			Err: oem.NewVehicleError(vin, "deactivate", err)}, nil
	}

	return errResult(vin, "deactivate", err), nil
}

// inTransition looks the clearance up after a 409 "in transition mode":
// revoking or canceling means our removal is under way already.
func (c *Connector) inTransition(ctx context.Context, vin oem.VIN, conflict error) (oem.Result, error) {
	ae, _ := apiErr(conflict)
	var fv fleetVehicle
	_, err := c.client.DoJSON(ctx, httpx.Request{
		Op: "get clearance", Method: http.MethodGet, Path: vinPath(vin),
	}, &fv)
	if err != nil {
		if fatal(err) && !errors.Is(err, oem.ErrRateLimited) {
			return oem.Result{}, err
		}

		return oem.Result{VIN: vin, Status: oem.StatusDeactivating, Reason: ae.Message,
			Err: oem.NewVehicleError(vin, "deactivate", conflict)}, nil
	}

	st := c.mapStatus(fv.Status.V)
	if st == oem.StatusDeactivating || st == oem.StatusInactive {
		return oem.Result{VIN: vin, Status: st, Raw: fv.Status.V}, nil
	}

	return oem.Result{VIN: vin, Status: st, Raw: fv.Status.V, Reason: ae.Message,
		Err: oem.NewVehicleError(vin, "deactivate", conflict)}, nil
}

func vinPath(vin oem.VIN) string { return fleetPath + "/" + url.PathEscape(string(vin)) }

// errResult is a failed Result for one vehicle.
func errResult(vin oem.VIN, op string, err error) oem.Result {
	r := oem.Result{VIN: vin, Status: oem.StatusError, Err: oem.NewVehicleError(vin, op, err)}
	if ae, ok := apiErr(err); ok {
		r.Reason = ae.Message
	} else {
		r.Reason = err.Error()
	}

	return r
}
