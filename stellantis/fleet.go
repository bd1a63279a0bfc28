package stellantis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Fleet lists the contracts and yields one Observed per VIN, from the
// newest of its contracts (CASES 8). Every page is read before anything is
// yielded, so a failure on any page fails the whole listing instead of
// passing a short list for the fleet (CASES 5). A contract whose VIN does
// not parse is a *oem.VehicleError and the listing goes on.
func (c *Connector) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		cs, err := c.listContracts(ctx, "")
		if err != nil {
			yield(oem.Observed{}, err)
			return
		}

		newest, order, bad := c.newestByVIN(cs)
		for _, e := range bad {
			if !yield(oem.Observed{}, e) {
				return
			}
		}

		for _, vin := range order {
			k := newest[vin]
			raw := k.Status.V
			o := oem.Observed{VIN: vin, Status: c.mapStatus(raw), Raw: raw}
			if k.UpdatedAt.Set {
				o.ChangedAt = k.UpdatedAt.V
			}

			if !yield(o, nil) {
				return
			}
		}
	}
}

// newestByVIN keeps the newest contract of each VIN, in the order the VINs
// first appear, and a *oem.VehicleError for each contract whose VIN is not
// a VIN.
func (c *Connector) newestByVIN(cs []contract) (map[oem.VIN]*contract, []oem.VIN, []error) {
	newest := make(map[oem.VIN]*contract, len(cs))
	var (
		order []oem.VIN
		bad   []error
	)

	for i := range cs {
		k := &cs[i]
		raw := k.carString("vin")
		vin, err := oem.ParseVIN(raw)
		if err != nil {
			bad = append(bad, oem.NewVehicleError(oem.VIN(strings.ToUpper(strings.TrimSpace(raw))),
				"list contracts", fmt.Errorf("contract %s: %w", k.ID, err)))

			continue
		}

		old, seen := newest[vin]
		if !seen {
			order = append(order, vin)
		}

		if !seen || k.newer(old) {
			newest[vin] = k
		}
	}

	return newest, order, bad
}

// contractsFor lists the contracts of one VIN, using the API's conditions
// filter; contracts of other VINs are dropped should the filter be ignored.
func (c *Connector) contractsFor(ctx context.Context, vin oem.VIN) ([]contract, error) {
	cond, err := json.Marshal(map[string]string{"car.vin": string(vin)})
	if err != nil {
		return nil, err
	}

	cs, err := c.listContracts(ctx, string(cond))
	if err != nil {
		return nil, err
	}

	out := cs[:0]
	for _, k := range cs {
		if v, err := oem.ParseVIN(k.carString("vin")); err == nil && v == vin {
			out = append(out, k)
		}
	}

	return out, nil
}

// listContracts reads GET /contracts page by page with skip and limit until
// a page shorter than the limit; a full page always means asking for the
// next one. A page that repeats the one before is an error, not a loop
// (CASES 6). Any failed page fails the call.
func (c *Connector) listContracts(ctx context.Context, conditions string) ([]contract, error) {
	var (
		all     []contract
		prevSig string
	)

	limit := c.cfg.PageSize
	for page, skip := 1, 0; ; page++ {
		q := url.Values{"skip": {strconv.Itoa(skip)}, "limit": {strconv.Itoa(limit)}}
		if conditions != "" {
			q.Set("conditions", conditions)
		}

		var items []json.RawMessage
		resp, err := c.http.DoJSON(ctx, httpx.Request{
			Op:     fmt.Sprintf("list contracts (page %d)", page),
			Method: http.MethodGet,
			Path:   pathContracts,
			Query:  q,
		}, &items)
		if err != nil {
			return nil, ctxErr(ctx.Err(), "list contracts", err)
		}

		if len(bytes.TrimSpace(resp.Body)) == 0 {
			return nil, fmt.Errorf("stellantis: list contracts (page %d): empty answer: %w",
				page, oem.ErrTransient)
		}

		sig := pageSignature(items, resp.Body)
		if len(items) > 0 && sig == prevSig {
			return nil, fmt.Errorf("stellantis: list contracts (page %d, skip %d): %w",
				page, skip, ErrRepeatedPage)
		}

		prevSig = sig
		for i, raw := range items {
			var k contract
			if err := json.Unmarshal(raw, &k); err != nil {
				// One odd element does not fail the listing; it cannot
				// be tied to a VIN, so it is logged.
				c.log.WarnContext(ctx, "unreadable contract in listing",
					slog.String("connector", Name), slog.Int("page", page),
					slog.Int("index", i), slog.String("error", err.Error()))

				continue
			}

			all = append(all, k)
		}

		if len(items) < limit {
			return all, nil
		}

		skip += len(items)
	}
}

// pageSignature identifies a page by its contract ids, or by its whole body
// when some element has no id.
func pageSignature(items []json.RawMessage, body []byte) string {
	ids := make([]string, 0, len(items))
	for _, raw := range items {
		var k struct {
			ID json.RawMessage `json:"_id"`
		}
		if json.Unmarshal(raw, &k) != nil || len(k.ID) == 0 {
			return string(bytes.TrimSpace(body))
		}

		ids = append(ids, string(k.ID))
	}

	return strings.Join(ids, ",")
}
