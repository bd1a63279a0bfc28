package hm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// CheckEligibility asks High Mobility, one VIN per request and Concurrency
// at a time, whether each vehicle can share data. The eligibility API
// accepts fewer brands than the clearance API: a VIN of another brand gets
// an oem.ErrNotSupported Err without a request, as does a VIN whose brand
// is unknown (oem.ErrInvalidInput). A not-eligible answer gives a Reason
// built from the connectivity status and data delivery methods.
func (c *Connector) CheckEligibility(ctx context.Context, vins []oem.VIN) ([]oem.Eligibility, error) {
	vins = dedupe(vins)
	if len(vins) == 0 {
		return []oem.Eligibility{}, nil
	}

	if err := c.checkToken(ctx); err != nil {
		return nil, err
	}

	out := make([]oem.Eligibility, len(vins))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		fatalErr error
	)
	sem := make(chan struct{}, c.cfg.Concurrency)
	for i, vin := range vins {
		out[i].VIN = vin
		if err := checkVIN(vin); err != nil {
			out[i].Err = oem.NewVehicleError(vin, "check eligibility", err)
			continue
		}

		b, err := c.brandOf(vin)
		if err != nil {
			out[i].Err = oem.NewVehicleError(vin, "check eligibility", err)
			continue
		}

		if !eligibilityBrands[b] {
			out[i].Err = oem.NewVehicleError(vin, "check eligibility",
				fmt.Errorf("the eligibility API does not take brand %q: %w", b, oem.ErrNotSupported))

			continue
		}

		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = oem.NewVehicleError(vin, "check eligibility", ctx.Err())
				return
			}
			defer func() { <-sem }()

			e, err := c.eligibility(ctx, vin, b)
			if err != nil && fatal(err) {
				mu.Lock()
				if fatalErr == nil {
					fatalErr = err
				}
				mu.Unlock()
			}

			out[i] = e
		})
	}

	wg.Wait()
	if fatalErr != nil {
		return nil, fatalErr
	}

	return out, nil
}

func (c *Connector) eligibility(ctx context.Context, vin oem.VIN, b string) (oem.Eligibility, error) {
	var er eligibilityResponse
	_, err := c.client.DoJSON(ctx, httpx.Request{
		Op: "check eligibility", Method: http.MethodPost, Path: "/v1/eligibility",
		JSON: eligibilityRequest{VIN: string(vin), Brand: b},
	}, &er)
	if err != nil {
		return oem.Eligibility{VIN: vin, Err: oem.NewVehicleError(vin, "check eligibility", err)}, err
	}

	if !er.Eligible.Set {
		return oem.Eligibility{VIN: vin, Err: oem.NewVehicleError(vin, "check eligibility",
			fmt.Errorf("answer without a usable \"eligible\" (%q): %w", er.Eligible.Odd, oem.ErrTransient))}, nil
	}

	e := oem.Eligibility{VIN: vin, Eligible: er.Eligible.V}
	if !e.Eligible {
		var why []string
		if s := er.ConnectivityStatus.V; s != "" {
			why = append(why, "connectivity "+s)
		}

		if len(er.DataDelivery) == 0 {
			why = append(why, "no data delivery")
		}

		if er.PrimaryUserAssigned.Set && !er.PrimaryUserAssigned.V {
			why = append(why, "no primary user assigned")
		}

		e.Reason = "not eligible"
		if len(why) > 0 {
			e.Reason += ": " + strings.Join(why, ", ")
		}
	}

	return e, nil
}
