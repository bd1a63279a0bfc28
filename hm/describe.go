package hm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Sources of standardised values, as recorded in oem.Info.Sources.
const (
	srcDataBrand       = "hm:vehicle-data:brand"
	srcDataBattery     = "hm:vehicle-data:charging.battery_capacity"
	srcStaticBrand     = "hm:static-data:vehicle.manufacturer.brand.name"
	srcStaticModel     = "hm:static-data:vehicle.manufacturer.model.name"
	srcStaticSubModel  = "hm:static-data:vehicle.manufacturer.sub_model.name"
	srcStaticFuelType  = "hm:static-data:vehicle.specs.fuel.type"
	minPlausibleKWh    = 5
	maxPlausibleKWh    = 250
	vehicleDataPathFmt = "/v1/vehicle-data/autoapi-13/%s"
	staticDataPathFmt  = "/v1/vehicle-static-data/%s/data"
)

// Describe reads, for each VIN in turn, the vehicle data (brand, battery
// capacity) and then the static data (make, model, sub-model, fuel type),
// and yields one oem.Info with a source for every value it sets.
//
// Per-vehicle outcomes are *oem.VehicleError values and the stream goes on:
// a 422 "Pending" from the vehicle data API (approved, nothing delivered
// yet) wraps oem.ErrNoData and the static data is not asked for; a 403
// (or 401) naming consent wraps oem.ErrConsentRevoked; a 408 (asleep or
// offline) wraps oem.ErrUnavailable. High Mobility answers a VIN without
// an approved clearance with the same 403. When the static data API does
// not know a VIN (404) the Info carries the vehicle data alone and a
// warning. A cancelled context, bad credentials or a spent rate limit end
// the stream with that error.
func (c *Connector) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		for _, vin := range vins {
			if ctx.Err() != nil {
				yield(oem.Info{}, fmt.Errorf("hm: describe: %w", ctx.Err()))
				return
			}

			info, err := c.describeOne(ctx, vin)
			if err != nil && fatal(err) {
				yield(oem.Info{}, err)
				return
			}

			if !yield(info, err) {
				return
			}
		}
	}
}

func (c *Connector) describeOne(ctx context.Context, vin oem.VIN) (oem.Info, error) {
	info := oem.Info{VIN: vin}
	if err := checkVIN(vin); err != nil {
		return info, oem.NewVehicleError(vin, "describe", err)
	}

	var vd vehicleData
	_, err := c.client.DoJSON(ctx, httpx.Request{
		Op: "get vehicle data", Method: http.MethodGet,
		Path: fmt.Sprintf(vehicleDataPathFmt, url.PathEscape(string(vin))),
	}, &vd)
	if err != nil {
		return c.describeErr(vin, err)
	}

	c.applyVehicleData(&info, vd)

	var sd staticData
	_, err = c.client.DoJSON(ctx, httpx.Request{
		Op: "get static data", Method: http.MethodGet,
		Path: fmt.Sprintf(staticDataPathFmt, url.PathEscape(string(vin))),
	}, &sd)
	if err != nil {
		if errors.Is(err, oem.ErrNotFound) {
			info.Warn("static data: High Mobility has none for this VIN")
			return info, nil
		}

		return c.describeErr(vin, err)
	}

	applyStaticData(&info, sd)

	return info, nil
}

func (c *Connector) describeErr(vin oem.VIN, err error) (oem.Info, error) {
	if fatal(err) {
		return oem.Info{}, err
	}

	return oem.Info{VIN: vin}, oem.NewVehicleError(vin, "describe", err)
}

// applyVehicleData takes the brand and the battery capacity.
func (c *Connector) applyVehicleData(info *oem.Info, vd vehicleData) {
	if mk := MakeOf(vd.Brand.V); mk != "" {
		info.Make = mk
		info.Set(oem.FieldMake, srcDataBrand)
	} else if vd.Brand.V != "" && vd.Brand.V != "unknown" && vd.Brand.V != "sandbox" {
		c.words.Unknown("vehicle data brand", vd.Brand.V)
	}

	if vd.Charging == nil || vd.Charging.BatteryCapacity == nil {
		return
	}

	p := vd.Charging.BatteryCapacity
	if p.Failure != nil {
		info.Warn(fmt.Sprintf("charging.battery_capacity: failure %s: %s",
			p.Failure.Reason.V, p.Failure.Description.V))
	}

	if p.Data == nil {
		return
	}

	if !p.Data.Value.Set {
		if p.Data.Value.Odd != "" {
			info.Warn(fmt.Sprintf("charging.battery_capacity: value %s is not a number", p.Data.Value.Odd))
		}

		return
	}

	kwh, ok := toKWh(p.Data.Value.V, p.Data.Unit.V)
	switch {
	case !ok:
		info.Warn(fmt.Sprintf("charging.battery_capacity: unit %q cannot be read as energy", p.Data.Unit.V))
	case kwh == 0:
		// Zero means unknown, never a fact.
	case kwh < minPlausibleKWh || kwh > maxPlausibleKWh:
		info.Warn(fmt.Sprintf("charging.battery_capacity: %.1f kWh is outside %d–%d kWh; not used",
			kwh, minPlausibleKWh, maxPlausibleKWh))
	default:
		info.BatteryKWh = kwh
		info.Set(oem.FieldBatteryKWh, srcDataBattery)
	}
}

// toKWh converts an energy value to kWh. Ampere hours cannot be converted
// without the voltage.
func toKWh(v float64, unit string) (float64, bool) {
	switch unit {
	case "kilowatt_hours":
		return v, true
	case "watt_hours":
		return v / 1000, true
	case "kilojoules":
		return v / 3600, true
	case "joules":
		return v / 3.6e6, true
	}

	return 0, false
}

// applyStaticData takes make, model, sub-model and powertrain.
func applyStaticData(info *oem.Info, sd staticData) {
	m := sd.Vehicle.Manufacturer
	if info.Make == "" && m.Brand.Name.V != "" {
		info.Make = oem.NormalizeMake(m.Brand.Name.V)
		info.Set(oem.FieldMake, srcStaticBrand)
	}

	if model := cleanModel(m.Model.Name.V); model != "" {
		info.Model = model
		info.Set(oem.FieldModel, srcStaticModel)
	}

	if sub := jsonx.Collapse(m.SubModel.Name.V); sub != "" {
		info.Version = sub
		info.Set(oem.FieldVersion, srcStaticSubModel)
	}

	ft := sd.Vehicle.Specs.Fuel.Type
	if pt := powertrainOf(ft.Name.V, ft.Code.V); pt != oem.PowertrainUnknown {
		info.Powertrain = pt
		info.Set(oem.FieldPowertrain, srcStaticFuelType)
	} else if ft.Name.V != "" || ft.Code.V != "" {
		info.Warn(fmt.Sprintf("static data: fuel type %q (code %q) not recognised", ft.Name.V, ft.Code.V))
	}
}

var parenRe = regexp.MustCompile(`\([^)]*\)`)

// cleanModel drops the generation and years that the static data puts in
// brackets: "C-Max (CB7)(2012->)" gives "C-Max".
func cleanModel(s string) string {
	s = jsonx.Collapse(s)
	if c := jsonx.Collapse(parenRe.ReplaceAllString(s, " ")); c != "" {
		return c
	}

	return s
}

// powertrainOf reads the static data's fuel type.
func powertrainOf(name, code string) oem.Powertrain {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "plug-in") || strings.Contains(n, "plugin") || strings.Contains(n, "phev"):
		return oem.PowertrainPHEV
	case strings.Contains(n, "hybrid"):
		return oem.PowertrainHEV
	case strings.Contains(n, "hydrogen") || strings.Contains(n, "fuel cell"):
		return oem.PowertrainFCEV
	case strings.Contains(n, "electric") || strings.Contains(n, "elektro"):
		return oem.PowertrainBEV
	case strings.Contains(n, "diesel") || strings.Contains(n, "petrol") || strings.Contains(n, "gasoline") ||
		strings.Contains(n, "benzin") || n == "lpg" || n == "cng" || strings.Contains(n, "gas"):
		return oem.PowertrainICE
	}

	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "D", "B":
		return oem.PowertrainICE
	case "E":
		return oem.PowertrainBEV
	}

	return oem.PowertrainUnknown
}
