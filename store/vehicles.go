package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/vehicleinfo/ingest/oem"
)

// keep is the merge of one nullable column: the new value when known, else
// the stored one.
func keep(col string) string {
	return fmt.Sprintf("%s = coalesce(excluded.%s, vehicle.%s)", col, col, col)
}

var vehicleCols = []string{
	"vin", "fleet_id", "region_id", "make", "model_id", "connector", "wanted_connector",
	"wanted_model", "wanted_type", "licence_plate", "start_date", "end_of_contract_date",
	"want_active", "displayed", "eligible", "line", "account", "model_name", "version",
	"type", "model_year", "powertrain", "battery_capacity_kwh", "range_km", "warranty_km",
	"warranty_years", "image_url", "activation_status", "raw_status", "status_reason",
	"status_changed_at", "described_at", "last_seen_at", "missing_since", "updated_at",
	"sources",
}

// vehicleUpsert merges vehicles by VIN. Every nullable column keeps its
// stored value when the new one is unknown (NULL). The exceptions:
// want_active and displayed are always the new values; raw status and
// reason go with the status (a new status replaces all three, so a stale
// rejection reason does not outlive the rejection); missing_since is
// cleared when the vehicle is seen again; updated_at is always new; sources
// are merged key by key.
func vehicleUpsert(d dialect) upsert {
	var set []string
	for _, c := range vehicleCols {
		switch c {
		case "vin":
		case "want_active", "displayed", "updated_at":
			set = append(set, fmt.Sprintf("%s = excluded.%s", c, c))
		case "raw_status", "status_reason":
			set = append(set, fmt.Sprintf("%s = CASE WHEN excluded.activation_status IS NULL "+
				"THEN vehicle.%s ELSE excluded.%s END", c, c, c))
		case "missing_since":
			set = append(set, "missing_since = CASE "+
				"WHEN excluded.missing_since IS NOT NULL THEN excluded.missing_since "+
				"WHEN excluded.last_seen_at IS NOT NULL THEN NULL "+
				"ELSE vehicle.missing_since END")
		case "sources":
			set = append(set, fmt.Sprintf("sources = coalesce(%s, excluded.sources, vehicle.sources)",
				d.jsonMerge("vehicle.sources", "excluded.sources")))
		default:
			set = append(set, keep(c))
		}
	}

	return upsert{
		table:    "vehicle",
		cols:     vehicleCols,
		conflict: "(vin)",
		action:   "DO UPDATE SET " + strings.Join(set, ",\n\t"),
		order:    "vin",
	}
}

var historyUpsert = upsert{
	table: "vehicle_activation_history",
	cols: []string{"vehicle_id", "oem_id", "from_status", "to_status", "raw_status", "reason",
		"observed_at", "run_id"},
	conflict: "(vehicle_id, from_status, to_status, observed_at)",
	action:   "DO NOTHING",
	order:    "vehicle_id, observed_at, from_status, to_status",
}

// SaveBatch writes vehicles and history rows atomically, as oem.Store says.
//
// A vehicle's known values replace stored ones and unknown values (empty,
// zero, nil) never do, with these exceptions: WantActive and Displayed are
// always the new values; a known Status replaces Status, RawStatus and
// Reason together (a stale rejection reason does not outlive the
// rejection), an empty one keeps all three; a SeenAt without MissingSince
// clears MissingSince (the OEM lists the vehicle again); Sources are merged
// key by key; a zero UpdatedAt is the store's clock. A vehicle without a make
// links to a model of its VIN's WMI make.
//
// A vehicle whose VIN does not parse or whose status or powertrain is not a
// canonical one, a history row with such a VIN, a status that is not
// canonical (From may be empty) or a zero time, and a history row for a VIN
// that has no vehicle row (stored or in the batch) fail the whole batch with
// an error wrapping oem.ErrInvalidInput. The same VIN twice in one batch is
// merged in order, later known values over earlier ones.
func (s *DB) SaveBatch(ctx context.Context, b oem.Batch) error {
	vs, err := prepareVehicles(b.Vehicles)
	if err != nil {
		return fmt.Errorf("store: save batch: %w", err)
	}

	hs, err := prepareHistory(b)
	if err != nil {
		return fmt.Errorf("store: save batch: %w", err)
	}

	if len(vs) == 0 && len(hs) == 0 {
		return nil
	}

	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		return s.saveBatch(ctx, tx, vs, hs)
	})
	if err != nil {
		return fmt.Errorf("store: save batch: %w", err)
	}

	return nil
}

func (s *DB) saveBatch(ctx context.Context, tx *sqlx.Tx, vs []oem.Vehicle,
	hs []oem.StatusChange) error {
	n := names{
		fleets:  collect(vs, true, func(v oem.Vehicle) string { return v.Owner }),
		regions: collect(vs, false, func(v oem.Vehicle) string { return v.Country }),
		makes:   map[string]string{},
		oems:    map[string]string{},
	}
	for _, h := range hs {
		addName(n.oems, false, h.Connector)
	}

	if err := s.fillModelKeys(ctx, tx, vs); err != nil {
		return err
	}

	models := modelsOf(vs)
	for _, m := range models {
		addName(n.makes, false, m.Make)
		if strings.TrimSpace(m.Make) == "" {
			n.makes[""] = "" // the unknown make, so the model key stays whole
		}
	}

	ids, err := s.ensureAll(ctx, tx, n)
	if err != nil {
		return err
	}

	modelIDs, err := s.writeModels(ctx, tx, ids, models, false)
	if err != nil {
		return err
	}

	now := s.now()
	rows := make([][]any, 0, len(vs))
	for _, v := range vs {
		var modelID any
		if k, ok := modelKeyOf(v); ok {
			modelID = modelIDs[k]
		}

		updated := v.UpdatedAt
		if updated.IsZero() {
			updated = now
		}

		var sources any
		if len(v.Sources) > 0 {
			js, err := json.Marshal(v.Sources)
			if err != nil {
				return fmt.Errorf("vehicle %s: sources: %w", v.VIN, err)
			}

			sources = string(js)
		}

		rows = append(rows, []any{
			string(v.VIN), ids.fleet(v.Owner), ids.region(v.Country),
			nstr(strings.TrimSpace(v.Make)), modelID, nstr(strings.TrimSpace(v.Connector)),
			nstr(v.FleetEntry.Connector), nstr(v.FleetEntry.Model),
			nstr(v.FleetEntry.Type), nstr(v.LicencePlate), ndate(v.StartDate), ndate(v.EndDate),
			v.WantActive, v.Displayed, nbool(v.Eligible), nint(v.Line), nstr(v.Account),
			nstr(v.Model), nstr(v.Version), nstr(v.Type), nint(v.ModelYear),
			nstr(string(v.Powertrain)), nfloat(v.BatteryKWh), nint(v.RangeKm),
			nint(v.WarrantyKm), nint(v.WarrantyYears), nstr(v.ImageURL), nstr(string(v.Status)),
			nstr(v.RawStatus), nstr(v.Reason), ntime(v.StatusChangedAt), ntime(v.DescribedAt),
			ntime(v.SeenAt), ntime(v.MissingSince), ntime(updated), sources,
		})
	}

	if err := s.write(ctx, tx, vehicleUpsert(s.d), rows); err != nil {
		return err
	}

	if len(hs) == 0 {
		return nil
	}

	return s.writeHistory(ctx, tx, ids, hs)
}

// fillModelKeys completes the make, type and version of each vehicle that
// names a model but leaves one of them out from its stored row, as the
// merge completes the vehicle's own columns: the vehicle then links to the
// model its row names, and a description that leaves out the version does
// not move it to a less precise model record.
func (s *DB) fillModelKeys(ctx context.Context, tx *sqlx.Tx, vs []oem.Vehicle) error {
	at := make(map[string]int)
	var vins []string
	for i, v := range vs {
		if v.Model != "" && (v.Type == "" || v.Version == "" || strings.TrimSpace(v.Make) == "") {
			at[string(v.VIN)] = i
			vins = append(vins, string(v.VIN))
		}
	}

	if len(vins) == 0 {
		return nil
	}

	err := s.selectIn(ctx, tx, "SELECT vin, coalesce(make, ''), coalesce(type, ''), "+
		"coalesce(version, '') FROM vehicle WHERE vin IN (?)", vins, func(r *sqlx.Rows) error {
		var vin, mk, typ, version string
		if err := r.Scan(&vin, &mk, &typ, &version); err != nil {
			return err
		}

		v := &vs[at[vin]]
		if strings.TrimSpace(v.Make) == "" {
			v.Make = mk
		}

		v.Type = cmp.Or(v.Type, typ)
		v.Version = cmp.Or(v.Version, version)

		return nil
	})
	if err != nil {
		return fmt.Errorf("read stored models: %w", err)
	}

	return nil
}

func (s *DB) writeHistory(ctx context.Context, tx *sqlx.Tx, ids ids, hs []oem.StatusChange) error {
	var vins []string
	for _, h := range hs {
		if len(vins) == 0 || vins[len(vins)-1] != string(h.VIN) {
			vins = append(vins, string(h.VIN))
		}
	}

	vehicleIDs := make(map[string]int64, len(vins))
	err := s.selectIn(ctx, tx, "SELECT id, vin FROM vehicle WHERE vin IN (?)", vins,
		func(r *sqlx.Rows) error {
			var id int64
			var vin string
			if err := r.Scan(&id, &vin); err != nil {
				return err
			}

			vehicleIDs[vin] = id

			return nil
		})
	if err != nil {
		return fmt.Errorf("read vehicle ids: %w", err)
	}

	rows := make([][]any, 0, len(hs))
	for _, h := range hs {
		id, ok := vehicleIDs[string(h.VIN)]
		if !ok {
			return fmt.Errorf("history of %s: no such vehicle: %w", h.VIN, oem.ErrInvalidInput)
		}

		rows = append(rows, []any{id, ids.oem(h.Connector), string(h.From), string(h.To),
			nstr(h.Raw), nstr(h.Reason), ntime(h.At), nid(h.RunID)})
	}

	return s.write(ctx, tx, historyUpsert, rows)
}

// prepareVehicles validates a batch's vehicles, merges repeated VINs and
// sorts them by VIN.
func prepareVehicles(in []oem.Vehicle) ([]oem.Vehicle, error) {
	byVIN := make(map[oem.VIN]int, len(in))
	out := make([]oem.Vehicle, 0, len(in))
	for _, v := range in {
		v, err := oem.NormalizeVehicle(v)
		if err != nil {
			return nil, err
		}

		vin := v.VIN
		if j, ok := byVIN[vin]; ok {
			out[j] = oem.MergeVehicle(out[j], v)

			continue
		}

		byVIN[vin] = len(out)
		out = append(out, v)
	}

	slices.SortFunc(out, func(a, b oem.Vehicle) int { return cmp.Compare(a.VIN, b.VIN) })

	return out, nil
}

// prepareHistory validates a batch's history rows, drops repeats and sorts
// them by VIN and time.
func prepareHistory(b oem.Batch) ([]oem.StatusChange, error) {
	type key struct {
		vin      oem.VIN
		from, to oem.Status
		at       time.Time
	}

	seen := make(map[key]bool, len(b.History))
	out := make([]oem.StatusChange, 0, len(b.History))
	for _, h := range b.History {
		if err := oem.CheckStatusChange(h); err != nil {
			return nil, err
		}

		vin, _ := oem.ParseVIN(string(h.VIN)) // checked above
		h.VIN = vin
		h.At = h.At.UTC().Truncate(time.Microsecond)
		if h.RunID == 0 {
			h.RunID = b.RunID
		}

		k := key{vin, h.From, h.To, h.At}
		if seen[k] {
			continue
		}

		seen[k] = true
		out = append(out, h)
	}

	slices.SortFunc(out, func(a, b oem.StatusChange) int {
		return cmp.Or(cmp.Compare(a.VIN, b.VIN), a.At.Compare(b.At),
			cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})

	return out, nil
}

const vehicleSelect = `
SELECT v.vin, coalesce(f.name, ''), coalesce(v.make, ''), coalesce(v.wanted_model, ''),
	coalesce(v.wanted_type, ''), coalesce(v.wanted_connector, ''),
	coalesce(v.licence_plate, ''), coalesce(r.country, ''), v.start_date,
	v.end_of_contract_date, v.want_active, v.displayed, v.eligible, coalesce(v.line, 0),
	coalesce(v.connector, ''), coalesce(v.account, ''), coalesce(v.model_name, ''),
	coalesce(v.version, ''), coalesce(v.type, ''), coalesce(v.model_year, 0),
	coalesce(v.powertrain, ''), coalesce(v.battery_capacity_kwh, 0), coalesce(v.range_km, 0),
	coalesce(v.warranty_km, 0), coalesce(v.warranty_years, 0), coalesce(v.image_url, ''),
	coalesce(v.activation_status, ''), coalesce(v.raw_status, ''),
	coalesce(v.status_reason, ''), v.status_changed_at, coalesce(v.model_id, 0),
	v.described_at, v.last_seen_at, v.missing_since, v.updated_at, v.sources
FROM vehicle v
LEFT JOIN fleet f ON f.id = v.fleet_id
LEFT JOIN region r ON r.id = v.region_id
WHERE (? = '' OR f.name_key = ?)`

// Vehicles returns the stored vehicles q selects, ordered by VIN.
func (s *DB) Vehicles(ctx context.Context, q oem.VehicleQuery) ([]oem.Vehicle, error) {
	key := ownerKey(q.Owner)
	var out []oem.Vehicle
	scan := func(r *sqlx.Rows) error {
		v, err := scanVehicle(r)
		if err != nil {
			return err
		}

		out = append(out, v)

		return nil
	}

	if len(q.VINs) == 0 {
		rows, err := s.db.QueryxContext(ctx, s.db.Rebind(vehicleSelect+" ORDER BY v.vin"), key, key)
		if err != nil {
			return nil, fmt.Errorf("store: vehicles: %w", err)
		}
		defer rows.Close()

		for rows.Next() {
			if err := scan(rows); err != nil {
				return nil, fmt.Errorf("store: vehicles: %w", err)
			}
		}

		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: vehicles: %w", err)
		}

		return out, nil
	}

	vins := make([]string, 0, len(q.VINs))
	for _, v := range q.VINs {
		vins = append(vins, string(v))
	}

	slices.Sort(vins)
	vins = slices.Compact(vins)
	err := s.selectIn(ctx, s.db, vehicleSelect+" AND v.vin IN (?) ORDER BY v.vin", vins, scan,
		key, key)
	if err != nil {
		return nil, fmt.Errorf("store: vehicles: %w", err)
	}

	return out, nil
}

func scanVehicle(r *sqlx.Rows) (oem.Vehicle, error) {
	var v oem.Vehicle
	var vin, powertrain, status string
	var start, end, changed, described, seen, missing, updated dbTime
	var eligible nullBool
	var sources []byte
	err := r.Scan(&vin, &v.Owner, &v.Make, &v.FleetEntry.Model, &v.FleetEntry.Type,
		&v.FleetEntry.Connector, &v.LicencePlate, &v.Country, &start, &end, &v.WantActive,
		&v.Displayed, &eligible, &v.Line, &v.Connector, &v.Account, &v.Model, &v.Version,
		&v.Type, &v.ModelYear, &powertrain, &v.BatteryKWh, &v.RangeKm, &v.WarrantyKm,
		&v.WarrantyYears, &v.ImageURL, &status, &v.RawStatus, &v.Reason, &changed, &v.ModelID,
		&described, &seen, &missing, &updated, &sources)
	if err != nil {
		return v, err
	}

	v.VIN = oem.VIN(vin)
	v.Powertrain = oem.Powertrain(powertrain)
	v.Status = oem.Status(status)
	v.StartDate, v.EndDate = start.T, end.T
	v.StatusChangedAt, v.DescribedAt, v.SeenAt = changed.T, described.T, seen.T
	v.MissingSince, v.UpdatedAt = missing.T, updated.T
	if eligible.Valid {
		b := eligible.Bool
		v.Eligible = &b
	}

	if len(sources) > 0 {
		if err := json.Unmarshal(sources, &v.Sources); err != nil {
			return v, fmt.Errorf("vehicle %s: sources: %w", vin, err)
		}
	}

	return v, nil
}

// History returns a vehicle's status changes, oldest first.
func (s *DB) History(ctx context.Context, vin oem.VIN) ([]oem.StatusChange, error) {
	const q = `
SELECT v.vin, coalesce(o.name, ''), h.from_status, h.to_status, coalesce(h.raw_status, ''),
	coalesce(h.reason, ''), h.observed_at, coalesce(h.run_id, 0)
FROM vehicle_activation_history h
JOIN vehicle v ON v.id = h.vehicle_id
LEFT JOIN oem o ON o.id = h.oem_id
WHERE v.vin = ?
ORDER BY h.observed_at, h.id`

	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(q), string(vin))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()

	var out []oem.StatusChange
	for rows.Next() {
		var h oem.StatusChange
		var v, from, to string
		var at dbTime
		if err := rows.Scan(&v, &h.Connector, &from, &to, &h.Raw, &h.Reason, &at,
			&h.RunID); err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}

		h.VIN, h.From, h.To, h.At = oem.VIN(v), oem.Status(from), oem.Status(to), at.T
		out = append(out, h)
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}

	return out, nil
}
