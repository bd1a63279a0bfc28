package hm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

const fleetPath = "/v1/fleets/vehicles"

// Fleet streams every clearance of the application. The answer is one bare
// JSON array with no paging, possibly large: it is decoded element by
// element, so memory does not grow with the fleet. A record whose VIN does
// not parse is a *oem.VehicleError and the stream goes on; a broken body
// or a failed request ends the stream with an error, and the listing must
// then not be taken as the whole fleet.
func (c *Connector) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		resp, err := c.client.Stream(ctx, httpx.Request{
			Op: "list clearances", Method: http.MethodGet, Path: fleetPath,
		})
		if err != nil {
			yield(oem.Observed{}, err)
			return
		}
		defer resp.Body.Close()

		dec := json.NewDecoder(resp.Body)
		if err := expectDelim(dec, '['); err != nil {
			yield(oem.Observed{}, c.listErr(ctx, err))
			return
		}

		for dec.More() {
			if ctx.Err() != nil {
				yield(oem.Observed{}, fmt.Errorf("hm: list clearances: %w", ctx.Err()))
				return
			}

			var fv fleetVehicle
			if err := dec.Decode(&fv); err != nil {
				yield(oem.Observed{}, c.listErr(ctx, err))
				return
			}

			obs, err := c.observe(fv)
			if !yield(obs, err) {
				return
			}
		}

		if err := expectDelim(dec, ']'); err != nil {
			yield(oem.Observed{}, c.listErr(ctx, err))
		}
	}
}

// listErr wraps a failure to read the listing body.
func (c *Connector) listErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("hm: list clearances: %w", ctx.Err())
	}

	if errors.Is(err, httpx.ErrResponseTooLarge) {
		return fmt.Errorf("hm: list clearances: %w", err)
	}

	return fmt.Errorf("hm: list clearances: malformed answer: %v: %w", err, oem.ErrTransient)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}

	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}

	return nil
}

// observe maps one listed clearance. The newest changelog entry gives the
// time of the last change and, when it has one, the reason (a rejection
// reason); changelog timestamps without a zone are UTC.
func (c *Connector) observe(fv fleetVehicle) (oem.Observed, error) {
	vin, err := oem.ParseVIN(fv.VIN.V)
	if err != nil {
		return oem.Observed{VIN: oem.VIN(fv.VIN.V), Status: oem.StatusError, Raw: fv.Status.V},
			oem.NewVehicleError(oem.VIN(fv.VIN.V), "list", err)
	}

	obs := oem.Observed{
		VIN:    vin,
		Raw:    fv.Status.V,
		Status: c.mapStatus(fv.Status.V),
		Make:   MakeOf(fv.Brand.V),
	}

	var newest *changelogEntry
	for i := range fv.Changelog {
		e := &fv.Changelog[i]
		if !e.Timestamp.Set {
			continue
		}

		if newest == nil || !e.Timestamp.V.Before(newest.Timestamp.V) {
			newest = e
		}
	}

	if newest != nil {
		obs.ChangedAt = newest.Timestamp.V
		obs.Reason = newest.Reason.V
	}

	if obs.Reason == "" && obs.Status == oem.StatusRejected {
		obs.Reason = newestReason(fv.Changelog)
	}

	return obs, nil
}

// newestReason is the reason of the newest changelog entry that has one.
func newestReason(log []changelogEntry) string {
	var (
		at     time.Time
		reason string
	)
	for _, e := range log {
		if e.Reason.V != "" && (reason == "" || !e.Timestamp.V.Before(at)) {
			at, reason = e.Timestamp.V, e.Reason.V
		}
	}

	return reason
}

// mapStatus maps High Mobility's clearance words to canonical statuses. An
// unknown word gives oem.StatusUnknown and is logged once.
func (c *Connector) mapStatus(word string) oem.Status {
	switch word {
	case "approved":
		return oem.StatusActive
	case "pending":
		return oem.StatusPending
	case "rejected":
		return oem.StatusRejected
	case "revoking", "canceling":
		return oem.StatusDeactivating
	case "revoked", "canceled":
		return oem.StatusInactive
	case "error":
		return oem.StatusError
	}

	c.words.Unknown("clearance status", word)

	return oem.StatusUnknown
}
