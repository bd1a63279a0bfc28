package tesla

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// Sources named in Info.Sources.
const (
	srcOptions  = "tesla:dx/vehicles/options"
	srcWarranty = "tesla:dx/warranty/details"
	srcVIN      = "tesla:vin"
	srcMake     = "tesla"
)

// Describe reads, per VIN, the option codes (version, model, and the trim
// as Info.Type) and the warranty (km and years) with the token of the
// account that lists the vehicle; the model year comes from the VIN.
// Accounts never listed in this connector's life are listed first, once per
// call, to learn which one a vehicle is in; a VIN no configured account lists
// is a *oem.VehicleError wrapping oem.ErrNotFound, sent no request. A VIN
// given twice is described once. One endpoint failing is a warning when the
// other answered; both failing is a *oem.VehicleError. A cancelled context,
// a rate limit, an unregistered application or a region that cannot be
// followed end the stream.
func (c *Connector) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		learned := false
		done := make(map[oem.VIN]bool, len(vins))

		for _, vin := range vins {
			if done[vin] {
				continue
			}

			done[vin] = true
			if err := ctx.Err(); err != nil {
				yield(oem.Info{VIN: vin}, fmt.Errorf("tesla: describe: %w", err))
				return
			}

			info, err := c.describeOne(ctx, vin, &learned)
			if err != nil {
				if stopErr(ctx, err) {
					yield(oem.Info{VIN: vin}, err)
					return
				}

				if !yield(oem.Info{VIN: vin}, oem.NewVehicleError(vin, "describe", err)) {
					return
				}

				continue
			}

			if !yield(info, nil) {
				return
			}
		}
	}
}

// describeOne finds the vehicle's account and describes it with that
// account's token; with some accounts never listed, it tries those.
func (c *Connector) describeOne(ctx context.Context, vin oem.VIN, learned *bool) (oem.Info, error) {
	rec, found, complete := c.lookupVehicle(vin)
	if !found && !complete && !*learned {
		*learned = true
		if err := c.learnAccounts(ctx); err != nil {
			return oem.Info{}, err
		}

		rec, found, complete = c.lookupVehicle(vin)
	}

	if found {
		return c.describeWith(ctx, vin, rec.Account, true)
	}

	if complete {
		return oem.Info{}, fmt.Errorf("tesla: %s is %s: %w", vin, ReasonNotShare, oem.ErrNotFound)
	}

	// Some accounts could not be listed: ask them in turn.
	var errs []error
	for _, a := range c.unlisted() {
		info, err := c.describeWith(ctx, vin, a, false)
		if err == nil {
			return info, nil
		}

		if stopErr(ctx, err) {
			return oem.Info{}, err
		}

		errs = append(errs, err)
	}

	if len(errs) == 0 {
		return oem.Info{}, fmt.Errorf("tesla: %s is %s: %w", vin, ReasonNotShare, oem.ErrNotFound)
	}

	return oem.Info{}, errors.Join(errs...)
}

// learnAccounts lists the accounts that have no complete listing yet, one
// caller at a time, so that concurrent Describe calls list them once. A
// failed account stays unlisted; only stopping errors are returned.
func (c *Connector) learnAccounts(ctx context.Context) error {
	c.learnMu.Lock()
	defer c.learnMu.Unlock()

	for _, a := range c.unlisted() {
		recs, _, err := c.listAccount(ctx, a)
		if err != nil {
			if stopErr(ctx, err) {
				return fmt.Errorf("tesla: list account %s: %w", a, err)
			}

			c.log.DebugContext(ctx, "tesla: listing to find a vehicle's account failed",
				"account", a, "error", err.Error())

			continue
		}

		c.remember(a, recs)
	}

	return nil
}

// describeWith asks both endpoints with account's token. When the account
// is only a guess, an options answer saying the vehicle is not there skips
// the warranty call.
func (c *Connector) describeWith(ctx context.Context, vin oem.VIN, account string, known bool) (
	oem.Info, error) {
	q := map[string]string{"vin": string(vin)}

	var opts optionsAnswer
	optErr := c.get(ctx, account, "vehicle options", "/api/1/dx/vehicles/options", q, &opts)
	if optErr != nil && stopErr(ctx, optErr) {
		return oem.Info{}, optErr
	}

	if optErr != nil && !known && (errors.Is(optErr, oem.ErrNotFound) ||
		errors.Is(optErr, oem.ErrPermissionDenied) || errors.Is(optErr, oem.ErrAuth)) {
		return oem.Info{}, fmt.Errorf("account %s: %w", account, optErr)
	}

	var war warrantyAnswer
	warErr := c.get(ctx, account, "warranty details", "/api/1/dx/warranty/details", q, &war)
	if warErr != nil && stopErr(ctx, warErr) {
		return oem.Info{}, warErr
	}

	if optErr != nil && warErr != nil {
		return oem.Info{}, fmt.Errorf("account %s: %w", account, optErr)
	}

	info := oem.Info{VIN: vin, Make: oem.MakeTesla, Powertrain: oem.PowertrainBEV}
	info.Set(oem.FieldMake, srcMake)
	info.Set(oem.FieldPowertrain, srcMake)

	if optErr != nil {
		info.Warn("options: " + optErr.Error())
	}

	applyOptions(&info, opts)
	applyVIN(&info)

	if warErr != nil {
		info.Warn("warranty: " + warErr.Error())
	} else {
		applyWarranty(&info, war)
	}

	return info, nil
}

// models maps the model letter of a $MT code or a VIN to the model name.
var models = map[byte]string{
	'3': "Model 3", 'Y': "Model Y", 'X': "Model X", 'S': "Model S",
	'1': "Model S", '7': "Model S", '9': "Model S",
}

// trims lists each model's trims as OEM-APIS.md gives them.
var trims = map[string][]string{
	"Model 3": {"RWD", "Long Range AWD", "Performance"},
	"Model Y": {"RWD", "Long Range RWD", "Long Range AWD", "Performance"},
	"Model S": {"Standard Range", "Long Range", "Long Range Plus", "Plaid", "Performance", "75D", "100D"},
	"Model X": {"Long Range", "Long Range Plus"},
}

// applyOptions takes version, model and trim from the first $MT code.
func applyOptions(info *oem.Info, a optionsAnswer) {
	for _, o := range a.Response.Codes {
		code := strings.ToUpper(strings.ReplaceAll(o.Code.V, " ", ""))
		if !strings.HasPrefix(code, "$MT") {
			continue
		}

		version := strings.TrimPrefix(code, "$")
		if len(version) < 3 {
			info.Warn(fmt.Sprintf("options: model code %q too short", o.Code.V))
			return
		}

		info.Version = version
		info.Set(oem.FieldVersion, srcOptions+":"+code)

		model, ok := models[version[2]]
		if !ok {
			info.Warn(fmt.Sprintf("options: model code %q names no known model", code))
			return
		}

		info.Model = model
		info.Set(oem.FieldModel, srcOptions+":"+code)

		if trim := matchTrim(model, o.DisplayName.V); trim != "" {
			info.Type = trim
			info.Set(oem.FieldType, srcOptions+":displayName")
		} else if o.DisplayName.V != "" {
			info.Warn(fmt.Sprintf("options: no known %s trim in %q", model, truncate(o.DisplayName.V, 80)))
		}

		return
	}

	if len(a.Response.Codes) > 0 {
		info.Warn("options: no $MT code")
	}
}

// matchTrim finds the longest known trim of model in a display name, read
// without case, with "All-Wheel Drive" and "Rear-Wheel Drive" as AWD and RWD.
func matchTrim(model, display string) string {
	low := " " + strings.ToLower(display) + " "
	for _, r := range [][2]string{
		{"all-wheel drive", "awd"}, {"all wheel drive", "awd"}, {"dual motor", "awd"},
		{"rear-wheel drive", "rwd"}, {"rear wheel drive", "rwd"},
	} {
		low = strings.ReplaceAll(low, r[0], r[1])
	}

	low = strings.Join(strings.FieldsFunc(low, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == ',' || r == '(' || r == ')' || r == '-'
	}), " ")
	low = " " + low + " "

	best := ""
	for _, t := range trims[model] {
		if strings.Contains(low, " "+strings.ToLower(t)+" ") && len(t) > len(best) {
			best = t
		}
	}

	return best
}

// applyVIN fills the model from the VIN's fourth character when the
// options did not, warns when the two disagree, and reads the model year
// from the tenth.
func applyVIN(info *oem.Info) {
	v := string(info.VIN)
	if len(v) != 17 {
		return
	}

	if m, ok := models[v[3]]; ok {
		switch {
		case info.Model == "":
			info.Model = m
			info.Set(oem.FieldModel, srcVIN+":4")
		case info.Model != m:
			info.Warn(fmt.Sprintf("options say %s, the VIN says %s", info.Model, m))
		}
	} else if info.Model == "" {
		info.Warn(fmt.Sprintf("VIN character 4 %q names no known Tesla model", v[3]))
	}

	if y := modelYear(v[9]); y > 0 {
		info.ModelYear = y
		info.Set(oem.FieldModelYear, srcVIN+":10")
	}
}

// modelYear reads the VIN's year code in the cycle that starts in 2008, the
// first year Tesla built cars for sale.
func modelYear(c byte) int {
	const codes = "ABCDEFGHJKLMNPRSTVWXY123456789"
	i := strings.IndexByte(codes, c)
	if i < 0 {
		return 0
	}

	y := 2010 + i // A is 2010
	if y >= 2038 {
		y -= 30 // 8 and 9 are 2008 and 2009
	}

	return y
}

// applyWarranty takes km and years from one warranty entry: the battery
// warranty when there is one (what the model record keeps for an electric
// car), else the first entry; active ones before upcoming, then expired.
// Any number of entries, none included, is fine.
func applyWarranty(info *oem.Info, a warrantyAnswer) {
	var all []wireWarranty
	all = append(all, a.Response.Active...)
	all = append(all, a.Response.Upcoming...)
	all = append(all, a.Response.Expired...)
	if len(all) == 0 {
		info.Warn("warranty: no warranty entry")
		return
	}

	pick := all[0]
	for _, w := range all {
		if strings.Contains(strings.ToLower(w.Type.V+" "+w.DisplayName.V), "battery") {
			pick = w
			break
		}
	}

	src := srcWarranty + ":" + pick.Type.V
	if pick.Odometer.Odd != "" {
		info.Warn(fmt.Sprintf("warranty: expirationOdometer %q is not a number", pick.Odometer.Odd))
	}

	if pick.Odometer.Set && pick.Odometer.V > 0 {
		switch unit := strings.ToLower(strings.TrimSpace(pick.Unit.V)); unit {
		case "mi", "mile", "miles":
			info.WarrantyKm = int(math.Round(pick.Odometer.V * 1.609344))
			info.Set(oem.FieldWarrantyKm, src)
		case "km", "kms", "kilometer", "kilometers", "kilometre", "kilometres":
			info.WarrantyKm = int(math.Round(pick.Odometer.V))
			info.Set(oem.FieldWarrantyKm, src)
		default:
			info.Warn(fmt.Sprintf("warranty: unknown odometerUnit %q", truncate(pick.Unit.V, 20)))
		}
	}

	if pick.Years.Odd != "" {
		info.Warn(fmt.Sprintf("warranty: coverageAgeInYears %q is not a number", pick.Years.Odd))
	}

	if pick.Years.Set && pick.Years.V > 0 {
		info.WarrantyYears = int(math.Round(pick.Years.V))
		info.Set(oem.FieldWarrantyYears, src)
	}
}
