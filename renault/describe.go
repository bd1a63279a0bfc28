package renault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// The API paths, relative to Config.APIURL.
const (
	pathVehicle = "/vehicle-information/v1/vehicles/"
	pathWLTP    = "/import-vehicle-info/v1/wltp/vin"
)

// Plausibility bounds: a value outside them is reported, not stored.
const (
	minKWh, maxKWh     = 5, 250
	maxRangeKm         = 2000
	transientInARowMax = 3
)

// The sources Info.Sources names.
const (
	srcVehicle = Name + ":vehicle-information:"
	srcWLTP    = Name + ":wltp:wltpElecRangeCombined"
)

// Describe streams one Info, or one *oem.VehicleError, per VIN, from the
// vehicle-information call (model, version and type, first registration,
// battery capacity when known) and the WLTP call (electric range). A 400,
// 403 or 404 is final for that vehicle; a failed WLTP call leaves the range
// unknown with a warning. The stream ends with a plain error when no
// vehicle can be described any more: the login failed, the API key is
// refused, a rate limit asks for longer than Config.MaxWait, the API keeps
// failing after retries (three vehicles in a row), or ctx is done.
func (c *Connector) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		transient := 0
		seen := make(map[oem.VIN]bool, len(vins))
		for _, vin := range vins {
			if seen[vin] {
				continue // one answer per VIN, however often it is asked for
			}

			seen[vin] = true

			if err := ctx.Err(); err != nil {
				yield(oem.Info{}, fmt.Errorf("%s: describe: %w", Name, err))
				return
			}

			info, err := c.describe(ctx, vin)
			if err == nil {
				transient = 0
				if !yield(info, nil) {
					return
				}

				continue
			}

			if errors.Is(err, oem.ErrTransient) {
				transient++
			} else {
				transient = 0
			}

			if endsStream(ctx, err) || transient >= transientInARowMax {
				yield(oem.Info{}, err)
				return
			}

			if !yield(oem.Info{VIN: vin}, oem.NewVehicleError(vin, "describe", err)) {
				return
			}
		}
	}
}

// endsStream reports whether err concerns every vehicle, not just one.
func endsStream(ctx context.Context, err error) bool {
	var lf *loginFailed
	switch {
	case ctx.Err() != nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &lf):
		return true
	case errors.Is(err, oem.ErrAuth), errors.Is(err, oem.ErrLoginRequired),
		errors.Is(err, oem.ErrRateLimited), errors.Is(err, oem.ErrQuotaExhausted):
		return true
	}

	return false
}

// describe makes the two calls for one vehicle.
func (c *Connector) describe(ctx context.Context, vin oem.VIN) (oem.Info, error) {
	if v, err := oem.ParseVIN(string(vin)); err != nil || v != vin {
		return oem.Info{}, fmt.Errorf("%s: describe: not a normalised VIN: %w", Name, oem.ErrInvalidInput)
	}

	info := oem.Info{VIN: vin}

	var va vehicleAnswer
	if err := c.get(ctx, "get vehicle information",
		httpx.Request{Path: pathVehicle + url.PathEscape(string(vin))}, &va); err != nil {
		return oem.Info{}, err
	}

	if va.VIN.Set && !strings.EqualFold(va.VIN.V, string(vin)) {
		return oem.Info{}, fmt.Errorf("%s: vehicle information for %s names another VIN: %w",
			Name, vin, oem.ErrConflict)
	}

	applyVehicle(&info, va)

	var wa wltpAnswer
	err := c.get(ctx, "get WLTP range",
		httpx.Request{Path: pathWLTP, Query: url.Values{"vin": {string(vin)}}}, &wa)
	switch {
	case err == nil:
		applyWLTP(&info, wa)
	case endsStream(ctx, err):
		return oem.Info{}, err
	default:
		info.Warn(fmt.Sprintf("WLTP range unknown: %v", err))
	}

	return info, nil
}

// get sends one GET and decodes the answer. A body that is not a JSON
// object is an ErrTransient failure naming the call, without the body.
func (c *Connector) get(ctx context.Context, op string, r httpx.Request, out any) error {
	r.Op, r.Method = op, http.MethodGet

	resp, err := c.hc.Do(ctx, r)
	if err != nil {
		return err
	}

	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &oem.APIError{
			Connector: Name, Op: op, Method: r.Method, Path: r.Path, StatusCode: resp.StatusCode,
			Message: "the answer is not a JSON object", Kind: oem.ErrTransient,
			Snippet: truncate(c.hc.Redactor().String(string(resp.Body)), 128),
		}
	}

	return nil
}

// applyVehicle takes the vehicle-information answer: the model, the
// version (its first word) and type (the rest), the make, the first
// registration and a plausible battery capacity.
func applyVehicle(info *oem.Info, va vehicleAnswer) {
	if va.Brand.Set {
		info.Make = oem.NormalizeMake(va.Brand.V)
		info.Set(oem.FieldMake, srcVehicle+"brand")
	}

	if va.Model.Set {
		info.Model = va.Model.V
		info.Set(oem.FieldModel, srcVehicle+"model")
	}

	version, typ := SplitVersion(va.Version.V)
	if version != "" {
		info.Version = version
		info.Set(oem.FieldVersion, srcVehicle+"version")
	}

	if typ != "" {
		info.Type = typ
		info.Set(oem.FieldType, srcVehicle+"version")
	}

	if va.FirstRegistrationDate.Set {
		info.FirstRegistration = va.FirstRegistrationDate.V
		info.Set(oem.FieldFirstRegistration, srcVehicle+"firstRegistrationDate")
	}

	switch kwh := va.BatteryCapacity.V; {
	case !va.BatteryCapacity.Set || kwh == 0:
		// 0 means unknown, never a fact.
	case kwh < minKWh || kwh > maxKWh:
		info.Warn(fmt.Sprintf("batteryCapacity %g kWh is outside %d–%d kWh; not taken", kwh, minKWh, maxKWh))
	default:
		info.BatteryKWh = kwh
		info.Set(oem.FieldBatteryKWh, srcVehicle+"batteryCapacity")
	}

	for name, odd := range map[string]string{
		"brand": va.Brand.Odd, "model": va.Model.Odd, "version": va.Version.Odd,
		"firstRegistrationDate": va.FirstRegistrationDate.Odd, "batteryCapacity": va.BatteryCapacity.Odd,
	} {
		if odd != "" {
			info.Warn(fmt.Sprintf("%s: odd value %s skipped", name, odd))
		}
	}
}

// applyWLTP takes the combined electric range, rounded to whole km. Zero
// or absent means no electric range is known; an answer about another VIN
// is not taken.
func applyWLTP(info *oem.Info, wa wltpAnswer) {
	r := wa.WLTPElecRangeCombined
	switch {
	case wa.VIN.Set && !strings.EqualFold(wa.VIN.V, string(info.VIN)):
		info.Warn(fmt.Sprintf("the WLTP answer names another VIN (%s); range not taken", wa.VIN.V))
	case r.Odd != "":
		info.Warn(fmt.Sprintf("wltpElecRangeCombined: odd value %s skipped", r.Odd))
	case !r.Set || r.V == 0:
	case r.V < 0 || r.V > maxRangeKm:
		info.Warn(fmt.Sprintf("wltpElecRangeCombined %g km is implausible; not taken", r.V))
	default:
		info.RangeKm = int(math.Round(r.V))
		info.Set(oem.FieldRangeKm, srcWLTP)
	}
}

// SplitVersion splits Renault's version text into the version (its first
// word) and the type (the rest), after collapsing white space: "ZE50\n
// R135 " gives "ZE50" and "R135". An empty text gives two empty strings.
func SplitVersion(s string) (version, typ string) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", ""
	}

	return f[0], strings.Join(f[1:], " ")
}
