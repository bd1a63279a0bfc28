package stellantis

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Sources of the fields a description sets.
const (
	srcMake       = "stellantis:vin-wmi"
	srcModel      = "stellantis:contracts:car."
	srcCapacity   = "stellantis:car-states:electricity.capacity"
	srcPowertrain = "stellantis:car-states:electricity+fuel"
)

// Plausible battery capacities; a value outside is flagged, not stored.
const minKWh, maxKWh = 5, 250

// described gathers what one requested VIN got.
type described struct {
	model    string    // from its newest contract that names one
	contract bool      // some contract lists it
	state    bool      // a readable car state was found
	at       time.Time // the datetime of the car state kept
	info     oem.Info  // from the car state kept
	bad      []string  // unreadable records of this VIN
}

// Describe streams one Info or *oem.VehicleError per VIN. The car states
// carry no make, model or year, so:
//
//   - Make is the make the VIN's WMI names (oem.VIN.Make), source
//     "stellantis:vin-wmi";
//   - Model is the car's Config.ModelField member ("model") of the VIN's
//     newest contract that has one [guess: the old module's contracts are
//     not known to carry a model], source "stellantis:contracts:car.model";
//   - BatteryKWh is electricity.capacity, sent in Wh, in kWh; zero is
//     unknown and a value outside 5–250 kWh is a warning, not a fact;
//   - Powertrain is inferred from which of electricity and fuel the car
//     state has [guess: both is taken as a plug-in hybrid].
//
// Each call reads the whole contract listing once (for the models) and the
// whole car-states export once, as a stream: one line at a time, so memory
// does not grow with the export and one unreadable record does not stop the
// rest. When a VIN has several car states the one with the latest datetime
// is kept. A VIN with a contract but no readable car state gets an Info
// with what the contract and VIN say and a warning; a VIN with neither is a
// *oem.VehicleError wrapping oem.ErrNotFound. A failure reported inside
// the export, or an export cut short, ends the stream with an error after
// the VINs already found are yielded.
func (c *Connector) Describe(ctx context.Context, vins []oem.VIN) iter.Seq2[oem.Info, error] {
	return func(yield func(oem.Info, error) bool) {
		if len(vins) == 0 {
			return
		}

		want := make(map[oem.VIN]*described, len(vins))
		order := make([]oem.VIN, 0, len(vins))
		for _, v := range vins {
			if err := checkVIN(v); err != nil {
				if !yield(oem.Info{}, oem.NewVehicleError(v, "describe", err)) {
					return
				}

				continue
			}

			if _, dup := want[v]; !dup {
				want[v] = &described{}
				order = append(order, v)
			}
		}

		if len(order) == 0 {
			return
		}

		// TODO: a small batch could look its contracts up one VIN at a
		// time (conditions) instead of reading the whole listing, and
		// concurrent calls could share one export read. Neither is done
		// yet: each call costs listing pages plus one export, which
		// BatchSize (default 1000) keeps to a few calls per run.
		if err := c.contractModels(ctx, want); err != nil {
			yield(oem.Info{}, err)
			return
		}

		streamErr := c.readCarStates(ctx, want)
		if streamErr != nil && ctx.Err() != nil {
			yield(oem.Info{}, ctxErr(ctx.Err(), "describe", streamErr))
			return
		}

		for _, vin := range order {
			d := want[vin]
			if streamErr != nil && !d.state {
				continue // the rest of the export is unknown
			}

			info, err := c.finish(vin, d)
			if !yield(info, err) {
				return
			}
		}

		if streamErr != nil {
			yield(oem.Info{}, streamErr)
		}
	}
}

// contractModels fills in, for each wanted VIN, whether a contract lists it
// and the model its newest contract naming one gives.
func (c *Connector) contractModels(ctx context.Context, want map[oem.VIN]*described) error {
	cs, err := c.listContracts(ctx, "")
	if err != nil {
		return fmt.Errorf("stellantis: describe: %w", err)
	}

	from := make(map[oem.VIN]*contract)
	for i := range cs {
		k := &cs[i]
		vin, err := oem.ParseVIN(k.carString("vin"))
		if err != nil {
			continue
		}

		d, ok := want[vin]
		if !ok {
			continue
		}

		d.contract = true
		if k.carString(c.cfg.ModelField) == "" {
			continue
		}

		if old := from[vin]; old == nil || k.newer(old) {
			from[vin] = k
		}
	}

	for vin, k := range from {
		want[vin].model = k.carString(c.cfg.ModelField)
	}

	return nil
}

// finish builds the answer for one VIN from what was found.
func (c *Connector) finish(vin oem.VIN, d *described) (oem.Info, error) {
	if !d.state && !d.contract {
		if len(d.bad) > 0 {
			err := fmt.Errorf("car state unreadable (%s): %w", d.bad[0], oem.ErrTransient)
			return oem.Info{}, oem.NewVehicleError(vin, "describe", err)
		}

		err := fmt.Errorf("no contract and no car state: %w", oem.ErrNotFound)

		return oem.Info{}, oem.NewVehicleError(vin, "describe", err)
	}

	info := d.info
	info.VIN = vin
	if !d.state {
		info.Warn("car state: none readable in the export")
	}

	for _, b := range d.bad {
		info.Warn("car state: an unreadable record was skipped: " + b)
	}

	if mk := vin.Make(); mk != "" {
		info.Make = mk
		info.Set(oem.FieldMake, srcMake)
	}

	if d.model != "" {
		info.Model = d.model
		info.Set(oem.FieldModel, srcModel+c.cfg.ModelField)
	}

	return info, nil
}

// vinRe finds a VIN in a record that does not decode, so the failure can
// be tied to its vehicle.
var vinRe = regexp.MustCompile(`"vin"\s*:\s*(?:\{[^{}]*?"value"\s*:\s*)?"\s*([A-Za-z0-9]{17})\s*"`)

// readCarStates streams GET /exports/car-states.json?v=2 and records, for
// the wanted VINs, the newest readable car state and the unreadable ones.
// The body is a line "[", one JSON object per line separated by "," lines,
// and a line "]"; a "," or bracket on the record's own line is tolerated.
func (c *Connector) readCarStates(ctx context.Context, want map[oem.VIN]*described) error {
	resp, err := c.export.Stream(ctx, httpx.Request{
		Op:     "read car states",
		Method: http.MethodGet,
		Path:   pathCarStates,
		Query:  url.Values{"v": {carStatesVersion}},
	})
	if err != nil {
		return ctxErr(ctx.Err(), "describe", fmt.Errorf("stellantis: describe: %w", err))
	}
	defer resp.Body.Close()

	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var (
		buf            []byte
		opened, closed bool
		records, line  int
	)

	for {
		var (
			tooLong bool
			rerr    error
		)
		buf, tooLong, rerr = readLine(br, c.cfg.MaxRecordBytes, buf)
		t := bytes.TrimSpace(buf)
		if len(t) > 0 {
			line++
		}

		if !opened && len(t) > 0 {
			if t[0] != '[' {
				return c.exportFailure(t, records)
			}

			opened = true
		}

		if len(t) > 0 && (rerr == nil || rerr == io.EOF) {
			t, closed = trimFraming(t, closed)
			if len(t) > 0 {
				records++
				if err := c.carStateLine(ctx, t, tooLong, line, want); err != nil {
					return err
				}
			}
		}

		if rerr == io.EOF {
			break
		}

		if rerr != nil {
			return ctxErr(ctx.Err(), "describe",
				fmt.Errorf("stellantis: describe: car states cut at line %d: %v: %w",
					line, c.http.Redactor().String(rerr.Error()), ErrExportFailed))
		}
	}

	if !closed {
		return fmt.Errorf("stellantis: describe: car states ended after %d records "+
			"without their closing bracket: %w", records, ErrExportFailed)
	}

	return nil
}

// trimFraming strips the array's brackets and separators around a record
// on one line; it reports whether the closing bracket was seen.
func trimFraming(t []byte, closed bool) ([]byte, bool) {
	t = bytes.TrimSpace(bytes.TrimPrefix(t, []byte("[")))
	t = bytes.TrimSpace(bytes.TrimPrefix(t, []byte(",")))
	if bytes.HasSuffix(t, []byte("]")) {
		closed = true
		t = bytes.TrimSpace(bytes.TrimSuffix(t, []byte("]")))
	}

	return bytes.TrimSpace(bytes.TrimSuffix(t, []byte(","))), closed
}

// carStateLine handles one record. It returns an error only when the
// record is the export's own failure report.
func (c *Connector) carStateLine(ctx context.Context, t []byte, tooLong bool, line int,
	want map[oem.VIN]*described) error {
	var (
		st       carState
		err      error
		typeWarn string
	)
	if tooLong {
		err = fmt.Errorf("line %d longer than %d bytes", line, c.cfg.MaxRecordBytes)
	} else {
		err = json.Unmarshal(t, &st)
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			// A member of the wrong type (an object where a number
			// was expected): encoding/json decoded the rest, so that
			// one field is a warning and the record stands (CASES 9).
			typeWarn = fmt.Sprintf("%s: unexpected JSON %s; skipped", ute.Field, ute.Value)
			err = nil
		}

		if err != nil {
			err = fmt.Errorf("line %d: %w", line, err)
		}
	}

	if err != nil {
		vin := salvageVIN(t)
		c.log.WarnContext(ctx, "unreadable car state record", slog.String("connector", Name),
			slog.Int("line", line), slog.String("vin", string(vin)),
			slog.String("error", err.Error()))
		if d := want[vin]; d != nil {
			d.bad = append(d.bad, err.Error())
		}

		return nil
	}

	raw := st.VIN.text()
	if raw == "" && (st.Name.Set || st.Message.Set) {
		return c.exportFailure(t, line)
	}

	vin, verr := oem.ParseVIN(raw)
	if verr != nil {
		c.log.WarnContext(ctx, "car state record without a usable VIN",
			slog.String("connector", Name), slog.Int("line", line),
			slog.String("error", verr.Error()))

		return nil
	}

	d := want[vin]
	if d == nil {
		return nil
	}

	info, at := stateInfo(&st)
	if typeWarn != "" {
		info.Warn(typeWarn)
	}
	if d.state && !at.IsZero() && at.Before(d.at) {
		return nil // an older state than the one kept
	}

	d.state, d.at, d.info = true, at, info

	return nil
}

// exportFailure turns the export's {"name","message"} report (or any other
// text where records should be) into the error that ends the description.
func (c *Connector) exportFailure(t []byte, at int) error {
	var f struct {
		Name    jsonx.String `json:"name"`
		Message jsonx.String `json:"message"`
	}
	if json.Unmarshal(t, &f) == nil && (f.Name.Set || f.Message.Set) {
		return &oem.APIError{
			Connector: Name, Op: "read car states", Method: http.MethodGet, Path: pathCarStates,
			StatusCode: http.StatusOK, Code: f.Name.V,
			Message: c.http.Redactor().String(f.Message.V),
			Kind:    ErrExportFailed,
		}
	}

	snip := string(t)
	if len(snip) > 120 {
		snip = snip[:120] + "…"
	}

	return fmt.Errorf("stellantis: describe: car states: unexpected %q at %d: %w",
		c.http.Redactor().String(snip), at, ErrExportFailed)
}

// stateInfo reads the standardised fields of one car state, with a warning
// for each odd field, and the state's datetime.
func stateInfo(st *carState) (oem.Info, time.Time) {
	var info oem.Info
	var at time.Time
	if st.Datetime.present {
		if s := st.Datetime.text(); s != "" {
			t, err := jsonx.ParseTime(s)
			if err != nil {
				info.Warn(fmt.Sprintf("datetime: unreadable %q", s))
			} else {
				at = t
			}
		}
	}

	hasElec, hasFuel := false, st.Fuel != nil && st.Fuel.Level.present
	if e := st.Electricity; e != nil {
		hasElec = e.Capacity.present || e.Level.present
		if e.Capacity.present {
			capacity(&info, &e.Capacity)
		}

		checkLeaf(&info, "electricity.level", &e.Level)
		if b := e.Battery; b != nil && b.StateOfHealth != nil {
			checkLeaf(&info, "electricity.battery.stateOfHealth.percentage",
				&b.StateOfHealth.Percentage)
		}
	}

	checkLeaf(&info, "odometer", &st.Odometer)

	switch {
	case hasElec && hasFuel:
		info.Powertrain = oem.PowertrainPHEV
	case hasElec:
		info.Powertrain = oem.PowertrainBEV
	case hasFuel:
		info.Powertrain = oem.PowertrainICE
	}

	if info.Powertrain != oem.PowertrainUnknown {
		info.Set(oem.FieldPowertrain, srcPowertrain)
	}

	return info, at
}

// capacity reads electricity.capacity, in Wh (kWh is accepted when the
// unit says so). Zero is unknown; an implausible value is a warning.
func capacity(info *oem.Info, l *leaf) {
	f := l.float()
	switch {
	case !f.Set && f.Odd != "":
		info.Warn(fmt.Sprintf("electricity.capacity: unreadable value %s", f.Odd))
		return
	case !f.Set || f.V == 0:
		return
	}

	kwh := f.V / 1000
	switch u := l.Unit.V; u {
	case "", "Wh", "wh", "WH":
	case "kWh", "kwh", "KWH":
		kwh = f.V
	default:
		info.Warn(fmt.Sprintf("electricity.capacity: unknown unit %q", u))
		return
	}

	if kwh < minKWh || kwh > maxKWh {
		info.Warn(fmt.Sprintf("electricity.capacity: %g kWh is outside %d–%d kWh; not stored",
			kwh, minKWh, maxKWh))
		return
	}

	info.BatteryKWh = kwh
	info.Set(oem.FieldBatteryKWh, srcCapacity)
}

// checkLeaf warns about a present leaf whose value, percentage or datetime
// cannot be read. Those values are not standardised fields, but an odd one
// should be seen.
func checkLeaf(info *oem.Info, name string, l *leaf) {
	if !l.present {
		return
	}

	if len(l.Value) > 0 {
		if f := l.float(); !f.Set && f.Odd != "" {
			info.Warn(fmt.Sprintf("%s: unreadable value %s", name, f.Odd))
		}
	}

	if len(l.Percentage) > 0 {
		p := pct(l.Percentage)
		if !p.Set && p.Odd != "" {
			info.Warn(fmt.Sprintf("%s.percentage: unreadable value %s", name, p.Odd))
		}
	}

	if l.Datetime.Odd != "" {
		info.Warn(fmt.Sprintf("%s.datetime: unreadable %s", name, l.Datetime.Odd))
	}
}

// pct reads a percentage: a number, a string ("81.5"), or a leaf.
func pct(raw json.RawMessage) jsonx.Float {
	var l leaf
	if json.Unmarshal(raw, &l) == nil && l.present {
		return l.float()
	}

	var f jsonx.Float
	_ = f.UnmarshalJSON(raw)

	return f
}

// salvageVIN finds the VIN of a record that does not decode, or "".
func salvageVIN(t []byte) oem.VIN {
	m := vinRe.FindSubmatch(t)
	if m == nil {
		return ""
	}

	v, err := oem.ParseVIN(string(m[1]))
	if err != nil {
		return ""
	}

	return v
}

// readLine reads one line into buf (reused), keeping at most max bytes of
// it; tooLong says the line was longer and was cut. The error is the
// reader's (io.EOF after the last line).
func readLine(br *bufio.Reader, max int, buf []byte) ([]byte, bool, error) {
	buf = buf[:0]
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max {
				buf = append(buf, chunk[:max-len(buf)]...)
				tooLong = true
			} else {
				buf = append(buf, chunk...)
			}
		}

		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}

		return buf, tooLong, err
	}
}
