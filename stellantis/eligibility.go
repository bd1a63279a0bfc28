package stellantis

import (
	"context"
	"fmt"
	"net/http"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// CheckEligibility asks POST /vehicles/eligibilities in batches of
// Config.EligibilityBatchSize. Each answer item says eligible true or
// false, or carries an error_code: that item's Eligibility then has an Err
// (a 200 that is partly an error, CASES 18), the others stand. A VIN the
// answer leaves out gets an Err too. A batch that fails as a whole (after
// the HTTP client's retries, 502s included) fails the call.
func (c *Connector) CheckEligibility(ctx context.Context, vins []oem.VIN) (
	[]oem.Eligibility, error) {
	out := make([]oem.Eligibility, 0, len(vins))
	for start := 0; start < len(vins); start += c.cfg.EligibilityBatchSize {
		batch := vins[start:min(start+c.cfg.EligibilityBatchSize, len(vins))]
		got, err := c.eligibilityBatch(ctx, batch)
		if err != nil {
			return nil, err
		}

		out = append(out, got...)
	}

	return out, nil
}

func (c *Connector) eligibilityBatch(ctx context.Context, vins []oem.VIN) (
	[]oem.Eligibility, error) {
	out := make([]oem.Eligibility, 0, len(vins))
	send := make([]string, 0, len(vins))
	for _, v := range vins {
		if err := checkVIN(v); err != nil {
			out = append(out, oem.Eligibility{VIN: v, Reason: err.Error(),
				Err: oem.NewVehicleError(v, "check eligibility", err)})

			continue
		}

		send = append(send, string(v))
	}

	if len(send) == 0 {
		return out, nil
	}

	var items []eligibilityItem
	_, err := c.http.DoJSON(ctx, httpx.Request{
		Op:     "check eligibility",
		Method: http.MethodPost,
		Path:   pathEligibility,
		JSON:   eligibilityRequest{VINs: send, ResultByEmail: false},
	}, &items)
	if err != nil {
		return nil, ctxErr(ctx.Err(), "check eligibility", err)
	}

	byVIN := make(map[oem.VIN]eligibilityItem, len(items))
	for _, it := range items {
		if v, err := oem.ParseVIN(it.VIN.V); err == nil {
			if _, dup := byVIN[v]; !dup {
				byVIN[v] = it
			}
		}
	}

	for _, s := range send {
		vin := oem.VIN(s)
		it, ok := byVIN[vin]
		switch {
		case !ok:
			err := fmt.Errorf("the eligibility answer does not mention it: %w", oem.ErrTransient)
			out = append(out, oem.Eligibility{VIN: vin, Reason: err.Error(),
				Err: oem.NewVehicleError(vin, "check eligibility", err)})
		case it.ErrorCode.Set:
			ae := &oem.APIError{
				Connector: Name, Op: "check eligibility", Method: http.MethodPost,
				Path: pathEligibility, StatusCode: http.StatusOK, Code: it.ErrorCode.V,
				Message: it.Message.V, Kind: codeKind(it.ErrorCode.V),
			}
			out = append(out, oem.Eligibility{VIN: vin, Reason: it.ErrorCode.V,
				Err: oem.NewVehicleError(vin, "check eligibility", ae)})
		case it.Eligible.Set:
			e := oem.Eligibility{VIN: vin, Eligible: it.Eligible.V}
			if !e.Eligible {
				e.Reason = "not eligible"
				if it.Message.Set {
					e.Reason = it.Message.V
				}
			}

			out = append(out, e)
		default:
			err := fmt.Errorf("eligibility item without eligible or error_code: %w",
				oem.ErrTransient)
			out = append(out, oem.Eligibility{VIN: vin, Reason: err.Error(),
				Err: oem.NewVehicleError(vin, "check eligibility", err)})
		}
	}

	return out, nil
}
