package bmw

import (
	"context"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Plausible battery capacities; a value outside is flagged, not stored.
const (
	minKWh = 5
	maxKWh = 250
)

const source = "bmw:data/vehicle:"

// Describe reads each VIN's vehicle data: make, model and type (the model
// value "i3 94" is model i3, type 94), powertrain, battery capacity and
// construction date (with the model year it hints at). A vehicle BMW has
// no data for is a *oem.VehicleError and the stream goes on; a cancelled
// context or a refused login ends it.
func (c *Connector) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		done := make(map[oem.VIN]bool, len(vins))
		for _, vin := range vins {
			if done[vin] {
				continue
			}

			done[vin] = true

			if err := ctx.Err(); err != nil {
				yield(oem.Info{}, fmt.Errorf("bmw: describe: %w", err))
				return
			}

			info, err := c.describeOne(ctx, vin)
			if cerr := ctx.Err(); cerr != nil {
				yield(oem.Info{}, fmt.Errorf("bmw: describe: %w", cerr))
				return
			}

			if err != nil && accountWide(err) {
				yield(oem.Info{}, fmt.Errorf("bmw: describe: %w", err))
				return
			}

			if err != nil {
				err = oem.NewVehicleError(vin, "describe", err)
			}

			if !yield(info, err) {
				return
			}
		}
	}
}

func (c *Connector) describeOne(ctx context.Context, vin oem.VIN) (oem.Info, error) {
	var ans dataAnswer
	_, err := c.http.DoJSON(ctx, httpx.Request{
		Op:     "read vehicle data",
		Method: http.MethodGet,
		Path:   "/data/vehicle/" + url.PathEscape(string(vin)),
		Header: http.Header{"keys-list": {dataKeys}},
	}, &ans)
	if err != nil {
		return oem.Info{VIN: vin}, err
	}

	values := latest(ans.Data)
	if len(values) == 0 {
		return oem.Info{VIN: vin}, fmt.Errorf("bmw: no vehicle data: %w", oem.ErrNoData)
	}

	info := oem.Info{VIN: vin}
	c.describeMake(&info, values)
	describeModel(&info, values)
	c.describePowertrain(&info, values)
	describeCapacity(&info, values)
	describeBuildDate(&info, values, c.cfg.Now())

	return info, nil
}

// latest keeps, for each key with a value, the item with the newest
// date_of_value (the later one in the answer when the dates tie or are
// missing).
func latest(items []dataItem) map[string]dataItem {
	out := make(map[string]dataItem, len(items))
	for _, it := range items {
		k := strings.ToLower(strings.TrimSpace(it.Key))
		if k == "" || !it.Value.Set {
			continue
		}

		if old, ok := out[k]; ok && old.DateOfValue.V.After(it.DateOfValue.V) {
			continue
		}

		out[k] = it
	}

	return out
}

func (c *Connector) describeMake(info *oem.Info, values map[string]dataItem) {
	if it, ok := values["brand"]; ok {
		info.Make = oem.NormalizeMake(it.Value.V)
		info.Set(oem.FieldMake, source+"brand")

		return
	}

	if mk := info.VIN.Make(); mk != "" {
		info.Make = mk
		info.Set(oem.FieldMake, "bmw:vin")
	}
}

// describeModel splits the model value at its first space: the name, then
// the type ("i3 94"). One word is the name only; no value sets neither.
func describeModel(info *oem.Info, values map[string]dataItem) {
	it, ok := values["model"]
	if !ok {
		return
	}

	name, typ, _ := strings.Cut(jsonx.Collapse(it.Value.V), " ")
	info.Model = name
	info.Set(oem.FieldModel, source+"model")
	if typ != "" {
		info.Type = typ
		info.Set(oem.FieldType, source+"model")
	}
}

func (c *Connector) describePowertrain(info *oem.Info, values map[string]dataItem) {
	for _, key := range []string{"basic_drive_train", "basic_propulsion_type"} {
		it, ok := values[key]
		if !ok {
			continue
		}

		if p, known := powertrainOf(it.Value.V); known {
			info.Powertrain = p
			info.Set(oem.FieldPowertrain, source+key)

			return
		}

		c.words.Unknown("bmw "+key, it.Value.V)
		info.Warn(fmt.Sprintf("%s: unknown word %q", key, it.Value.V))
	}
}

// powertrainOf maps BMW's drive train and propulsion words, in any case
// and spelling ("PLUGIN_HYBRID", "plug-in hybrid"), onto oem.Powertrain.
func powertrainOf(word string) (oem.Powertrain, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(word) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}

	switch b.String() {
	case "bev", "ev", "electric", "elektro", "batteryelectric", "batteryelectricvehicle", "electricity":
		return oem.PowertrainBEV, true
	case "phev", "pluginhybrid", "plugin", "pluginhybridelectric", "pluginhybridelectricvehicle":
		return oem.PowertrainPHEV, true
	case "hev", "hybrid", "fullhybrid", "mhev", "mildhybrid", "hybridelectric":
		return oem.PowertrainHEV, true
	case "ice", "conv", "conventional", "combustion", "internalcombustion", "petrol", "gasoline",
		"benzin", "diesel", "otto":
		return oem.PowertrainICE, true
	case "fcev", "fuelcell", "hydrogen":
		return oem.PowertrainFCEV, true
	}

	return oem.PowertrainUnknown, false
}

// describeCapacity reads the battery capacity in kWh (Wh when the unit says
// so). "0" means unknown; a value outside 5–250 kWh or that is not a
// number is a warning and is not stored.
func describeCapacity(info *oem.Info, values map[string]dataItem) {
	it, ok := values["capacity"]
	if !ok {
		return
	}

	raw := it.Value.V
	unit := strings.ToLower(strings.TrimSpace(it.Unit.V))
	s := strings.ToLower(raw)
	switch {
	case strings.HasSuffix(s, "kwh"):
		s, unit = strings.TrimSuffix(s, "kwh"), "kwh"
	case strings.HasSuffix(s, "wh"):
		s, unit = strings.TrimSuffix(s, "wh"), "wh"
	}

	s = strings.TrimSpace(s)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}

	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		info.Warn(fmt.Sprintf("capacity: %q is not a number", raw))
		return
	}

	if unit == "wh" {
		v /= 1000
	}

	switch {
	case v == 0:
		return // unknown, never a fact
	case v < minKWh || v > maxKWh:
		info.Warn(fmt.Sprintf("capacity: %q (%g kWh) is outside %d–%d kWh; not used",
			raw, v, minKWh, maxKWh))
		return
	}

	info.BatteryKWh = v
	info.Set(oem.FieldBatteryKWh, source+"capacity")
}

// Forms of the construction date seen besides those jsonx.ParseTime reads.
var monthLayouts = []string{"2006-01", "01/2006", "200601", "01.2006"}

// describeBuildDate reads the construction date and takes its year as the
// model-year hint.
func describeBuildDate(info *oem.Info, values map[string]dataItem, now time.Time) {
	it, ok := values["basic_construction_date"]
	if !ok {
		return
	}

	t, err := parseDate(it.Value.V)
	if err != nil || t.Year() < 1990 || t.Year() > now.Year()+2 {
		info.Warn(fmt.Sprintf("basic_construction_date: %q is not a usable date", it.Value.V))
		return
	}

	info.BuildDate = t
	info.Set(oem.FieldBuildDate, source+"basic_construction_date")
	info.ModelYear = t.Year()
	info.Set(oem.FieldModelYear, source+"basic_construction_date")
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range monthLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}

	return jsonx.ParseTime(s)
}
