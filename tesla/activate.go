package tesla

import (
	"context"
	"fmt"

	"github.com/vehicleinfo/ingest/oem"
)

// Reasons given with the not-supported answers.
const (
	ReasonShare    = "the owner must share the vehicle with a configured Tesla account"
	ReasonUnshare  = "the owner must stop sharing the vehicle with the Tesla account"
	ReasonNotShare = "not shared in any Tesla account"
)

// Activate cannot enrol vehicles: Tesla has no such call, the owner shares
// a vehicle with an account. Each VIN gets oem.ErrNotSupported, with status
// active when the last listing showed it in an account, inactive when every
// account's last listing left it out, and unknown before any listing. It
// sends no request.
func (c *Connector) Activate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return c.notSupported(ctx, vins, "activate", ReasonShare)
}

// Deactivate cannot remove vehicles either: the owner stops sharing. Each
// VIN gets oem.ErrNotSupported with its status as for Activate. It sends no
// request.
func (c *Connector) Deactivate(ctx context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return c.notSupported(ctx, vins, "deactivate", ReasonUnshare)
}

func (c *Connector) notSupported(ctx context.Context, vins []oem.VIN, op, reason string) (
	[]oem.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	out := make([]oem.Result, 0, len(vins))
	for _, vin := range vins {
		rec, found, complete := c.lookupVehicle(vin)
		r := oem.Result{VIN: vin, Reason: reason,
			Err: fmt.Errorf("tesla: %s %s: %w: %s", op, vin, oem.ErrNotSupported, reason)}

		switch {
		case found:
			r.Status, r.Raw = oem.StatusActive, RawShared
			r.Reason = reason + " (shared with account " + rec.Account + ")"
		case complete:
			r.Status = oem.StatusInactive
			r.Reason = reason + " (" + ReasonNotShare + ")"
		default:
			r.Status = oem.StatusUnknown
		}

		out = append(out, r)
	}

	return out, nil
}
