package oem

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxKeyBytes is the longest name a store keeps as a key (owner, make,
// model, type, version, country, connector, account): PostgreSQL cannot
// index much longer text, and no real name comes near it.
const MaxKeyBytes = 512

// CheckVehicle reports whether a store can keep v as it is. It fails, with
// a *VehicleError (op "save") wrapping ErrInvalidInput that names the
// field, for a VIN that does not parse, a status or powertrain that is not
// canonical, a number outside a 32-bit column, a time outside the years
// 1 to 9999, text that is not UTF-8 or holds a NUL byte, and a key name
// longer than MaxKeyBytes. Both stores in this module check every vehicle
// of a batch with it before writing; the Ingester leaves out of a batch the
// vehicles it refuses, so that they do not fail the rest.
func CheckVehicle(v Vehicle) error {
	vin, err := ParseVIN(string(v.VIN))
	if err != nil {
		return &VehicleError{VIN: v.VIN, Op: "save", Err: err}
	}

	fail := func(format string, args ...any) error {
		return &VehicleError{VIN: vin, Op: "save",
			Err: fmt.Errorf(format+": %w", append(args, ErrInvalidInput)...)}
	}

	if err := checkEntry(v.FleetEntry); err != nil {
		return fail("%v", err)
	}

	if v.Status != "" && !v.Status.Valid() {
		return fail("status %q", v.Status)
	}

	if !v.Powertrain.Valid() {
		return fail("powertrain %q", v.Powertrain)
	}

	for _, f := range []struct {
		name string
		n    int
	}{{"model year", v.ModelYear}, {"range km", v.RangeKm}, {"warranty km", v.WarrantyKm},
		{"warranty years", v.WarrantyYears}} {
		if err := checkInt(f.name, f.n); err != nil {
			return fail("%v", err)
		}
	}

	for _, f := range []struct {
		name string
		t    time.Time
	}{{"status changed at", v.StatusChangedAt}, {"described at", v.DescribedAt},
		{"seen at", v.SeenAt}, {"missing since", v.MissingSince}, {"updated at", v.UpdatedAt}} {
		if err := checkTime(f.name, f.t); err != nil {
			return fail("%v", err)
		}
	}

	err = checkTexts(
		[]text{{"connector", v.Connector}, {"account", v.Account}, {"model", v.Model},
			{"version", v.Version}, {"type", v.Type}},
		[]text{{"raw status", v.RawStatus}, {"reason", v.Reason}, {"image URL", v.ImageURL}})
	if err != nil {
		return fail("%v", err)
	}

	for f, src := range v.Sources {
		if err := checkText("source field", string(f), MaxKeyBytes); err != nil {
			return fail("%v", err)
		}

		if err := checkText("source of "+string(f), src, 0); err != nil {
			return fail("%v", err)
		}
	}

	return nil
}

// NormalizeVehicle is CheckVehicle, then v as stores keep it: its VIN in
// canonical form and the names that key its model record (model, type,
// version) trimmed, so " i3" is "i3" and a blank name is no name.
func NormalizeVehicle(v Vehicle) (Vehicle, error) {
	if err := CheckVehicle(v); err != nil {
		return v, err
	}

	v.VIN, _ = ParseVIN(string(v.VIN)) // checked above
	v.Model = strings.TrimSpace(v.Model)
	v.Type, v.Version = strings.TrimSpace(v.Type), strings.TrimSpace(v.Version)

	return v, nil
}

// CheckEntry is CheckVehicle for a wanted fleet entry: the VIN, the names,
// the dates and the line number.
func CheckEntry(e FleetEntry) error {
	vin, err := ParseVIN(string(e.VIN))
	if err != nil {
		return &VehicleError{VIN: e.VIN, Op: "save", Err: err}
	}

	if err := checkEntry(e); err != nil {
		return &VehicleError{VIN: vin, Op: "save", Err: fmt.Errorf("%w: %w", err, ErrInvalidInput)}
	}

	return nil
}

// CheckModel reports whether a store can keep m: a name, numbers within a
// 32-bit column, text that is UTF-8 without NUL bytes and key names no
// longer than MaxKeyBytes. Its error wraps ErrInvalidInput.
func CheckModel(m Model) error {
	name := strings.TrimSpace(m.Name)
	if name == "" {
		return fmt.Errorf("model has no name: %w", ErrInvalidInput)
	}

	fail := func(err error) error {
		return fmt.Errorf("model %q: %w: %w", name, err, ErrInvalidInput)
	}

	for _, f := range []struct {
		name string
		n    int
	}{{"warranty km", m.WarrantyKm}, {"warranty years", m.WarrantyYears}} {
		if err := checkInt(f.name, f.n); err != nil {
			return fail(err)
		}
	}

	if math.IsNaN(m.BatteryKWh) || math.IsInf(m.BatteryKWh, 0) || m.BatteryKWh < 0 {
		return fail(fmt.Errorf("battery capacity %v", m.BatteryKWh))
	}

	err := checkTexts(
		[]text{{"make", m.Make}, {"model", m.Name}, {"type", m.Type}, {"version", m.Version}},
		[]text{{"vehicle type", m.VehicleType}, {"image URL", m.ImageURL}})
	if err != nil {
		return fail(err)
	}

	return nil
}

func checkEntry(e FleetEntry) error {
	if err := checkInt("line", e.Line); err != nil {
		return err
	}

	for _, f := range []struct {
		name string
		t    time.Time
	}{{"start date", e.StartDate}, {"end of contract date", e.EndDate}} {
		if err := checkTime(f.name, f.t); err != nil {
			return err
		}
	}

	return checkTexts(
		[]text{{"owner", e.Owner}, {"make", e.Make}, {"wanted model", e.Model},
			{"wanted type", e.Type}, {"wanted connector", e.Connector}, {"country", e.Country}},
		[]text{{"licence plate", e.LicencePlate}})
}

func checkInt(name string, n int) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("%s %d out of range", name, n)
	}

	return nil
}

func checkTime(name string, t time.Time) error {
	if t.IsZero() {
		return nil
	}

	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s in year %d", name, y)
	}

	return nil
}

// text is a named text field.
type text struct{ name, s string }

// checkTexts checks key names (at most MaxKeyBytes) and other text.
func checkTexts(keys, texts []text) error {
	for _, t := range keys {
		if err := checkText(t.name, t.s, MaxKeyBytes); err != nil {
			return err
		}
	}

	for _, t := range texts {
		if err := checkText(t.name, t.s, 0); err != nil {
			return err
		}
	}

	return nil
}

var errBadText = errors.New("is not UTF-8 text without NUL bytes")

// checkText checks s is UTF-8 without NUL bytes and, when max > 0, at most
// max bytes.
func checkText(name, s string, max int) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %w", name, errBadText)
	}

	if max > 0 && len(s) > max {
		return fmt.Errorf("%s is %d bytes, more than %d", name, len(s), max)
	}

	return nil
}

// CheckStatusChange reports whether a store can keep h: a VIN that parses,
// a canonical status (From may be empty), a time within the years 1 to
// 9999, and text that is UTF-8 without NUL bytes. Its error wraps
// ErrInvalidInput and names the VIN.
func CheckStatusChange(h StatusChange) error {
	vin, err := ParseVIN(string(h.VIN))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}

	fail := func(err error) error {
		return fmt.Errorf("history of %s: %w: %w", vin, err, ErrInvalidInput)
	}

	if !h.To.Valid() || (h.From != "" && !h.From.Valid()) {
		return fail(fmt.Errorf("status %q → %q", h.From, h.To))
	}

	if h.At.IsZero() {
		return fail(errors.New("no time"))
	}

	if err := checkTime("time", h.At); err != nil {
		return fail(err)
	}

	err = checkTexts([]text{{"connector", h.Connector}},
		[]text{{"raw status", h.Raw}, {"reason", h.Reason}})
	if err != nil {
		return fail(err)
	}

	return nil
}
