package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/vehicleinfo/ingest/oem"
)

// modelKey is the identity of a model record.
type modelKey struct{ make, name, typ, version string }

func keyOf(m oem.Model) modelKey {
	return modelKey{strings.TrimSpace(m.Make), strings.TrimSpace(m.Name),
		strings.TrimSpace(m.Type), strings.TrimSpace(m.Version)}
}

func (k modelKey) compare(o modelKey) int {
	return cmp.Or(cmp.Compare(k.make, o.make), cmp.Compare(k.name, o.name),
		cmp.Compare(k.typ, o.typ), cmp.Compare(k.version, o.version))
}

// modelKeyOf is the key of the model a vehicle links to, and false when the
// vehicle's model name is unknown. A vehicle without a make takes the make of
// its VIN's WMI.
func modelKeyOf(v oem.Vehicle) (modelKey, bool) {
	if v.Model == "" {
		return modelKey{}, false
	}

	mk := strings.TrimSpace(v.Make)
	if mk == "" {
		mk = v.VIN.Make()
	}

	return modelKey{mk, v.Model, v.Type, v.Version}, true
}

// modelsOf gathers the models the vehicles link to, with the metadata their
// descriptions found: for each field the first known value in VIN order.
func modelsOf(vs []oem.Vehicle) []oem.Model {
	byKey := make(map[modelKey]*oem.Model)
	var keys []modelKey
	for _, v := range vs {
		k, ok := modelKeyOf(v)
		if !ok {
			continue
		}

		m := byKey[k]
		if m == nil {
			m = &oem.Model{Make: k.make, Name: k.name, Type: k.typ, Version: k.version}
			byKey[k] = m
			keys = append(keys, k)
		}

		fillModel(m, oem.Model{BatteryKWh: v.BatteryKWh, WarrantyKm: v.WarrantyKm,
			WarrantyYears: v.WarrantyYears, ImageURL: v.ImageURL})
	}

	slices.SortFunc(keys, modelKey.compare)
	out := make([]oem.Model, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}

	return out
}

// fillModel sets m's unknown metadata from n.
func fillModel(m *oem.Model, n oem.Model) {
	if m.BatteryKWh <= 0 && n.BatteryKWh > 0 {
		m.BatteryKWh = n.BatteryKWh
	}

	if m.WarrantyKm <= 0 && n.WarrantyKm > 0 {
		m.WarrantyKm = n.WarrantyKm
	}

	if m.WarrantyYears <= 0 && n.WarrantyYears > 0 {
		m.WarrantyYears = n.WarrantyYears
	}

	if m.ImageURL == "" {
		m.ImageURL = n.ImageURL
	}

	if m.VehicleType == "" {
		m.VehicleType = n.VehicleType
	}
}

var modelCols = []string{"make_id", "model_name", "type", "version", "vehicle_type",
	"battery_capacity_kwh", "warranty_km", "warranty_years", "image_url"}

var modelMeta = []string{"vehicle_type", "battery_capacity_kwh", "warranty_km",
	"warranty_years", "image_url"}

// modelUpsert merges model records by key. With explicit set (UpsertModels)
// known new values replace stored ones; otherwise (metadata a vehicle's
// description found) they only fill what the record does not know.
func modelUpsert(explicit bool) upsert {
	var set, fill []string
	for _, c := range modelMeta {
		if explicit {
			set = append(set, fmt.Sprintf("%s = coalesce(excluded.%s, vehicle_model.%s)", c, c, c))
		} else {
			set = append(set, fmt.Sprintf("%s = coalesce(vehicle_model.%s, excluded.%s)", c, c, c))
		}

		fill = append(fill, fmt.Sprintf("(vehicle_model.%s IS NULL AND excluded.%s IS NOT NULL)",
			c, c))
	}

	action := "DO UPDATE SET " + strings.Join(set, ", ")
	if !explicit {
		action += " WHERE " + strings.Join(fill, " OR ")
	}

	return upsert{
		table:    "vehicle_model",
		cols:     modelCols,
		conflict: "(make_id, model_name, type, version)",
		action:   action,
		order:    "make_id, model_name, type, version",
	}
}

// modelRow is one model record a write names, with its make's ID.
type modelRow struct {
	k      modelKey
	makeID int64
	m      oem.Model
}

// writeModels upserts models (one per key) and returns the ID of each key.
// The makes must be resolved in ids already.
//
// For metadata a description found (explicit false) it first reads the
// records, locking them only against deletion (FOR KEY SHARE on
// PostgreSQL), and writes only those that are missing or have something to
// fill: concurrent batches of the same models do not wait for one another.
func (s *DB) writeModels(ctx context.Context, tx *sqlx.Tx, ids ids, models []oem.Model,
	explicit bool) (map[modelKey]int64, error) {
	out := make(map[modelKey]int64, len(models))
	if len(models) == 0 {
		return out, nil
	}

	list := make([]modelRow, 0, len(models))
	for _, m := range models {
		k := keyOf(m)
		list = append(list, modelRow{k, ids.makes[k.make], m})
	}

	// The merge visits rows by make ID, which is not the order of the make
	// names: sort again so that concurrent writers lock in the same order.
	slices.SortFunc(list, func(a, b modelRow) int {
		return cmp.Or(cmp.Compare(a.makeID, b.makeID), a.k.compare(b.k))
	})

	byMake := make(map[int64]string, len(ids.makes))
	for name, id := range ids.makes {
		byMake[id] = name
	}

	if !explicit {
		stored, err := s.readModels(ctx, tx, byMake, list)
		if err != nil {
			return nil, err
		}

		var todo []modelRow
		for _, r := range list {
			st, ok := stored[r.k]
			if ok && !fills(st, r.m) {
				out[r.k] = st.ID

				continue
			}

			todo = append(todo, r)
		}

		list = todo
	}

	if len(list) == 0 {
		return out, nil
	}

	rows := make([][]any, 0, len(list))
	for _, r := range list {
		rows = append(rows, []any{r.makeID, r.k.name, r.k.typ, r.k.version,
			nstr(r.m.VehicleType), nfloat(r.m.BatteryKWh), nint(r.m.WarrantyKm),
			nint(r.m.WarrantyYears), nstr(r.m.ImageURL)})
	}

	if err := s.write(ctx, tx, modelUpsert(explicit), rows); err != nil {
		return nil, err
	}

	written, err := s.readModels(ctx, tx, byMake, list)
	if err != nil {
		return nil, err
	}

	for _, r := range list {
		st, ok := written[r.k]
		if !ok {
			return nil, fmt.Errorf("read vehicle_model: %v not found after insert", r.k)
		}

		out[r.k] = st.ID
	}

	return out, nil
}

// fills reports whether n knows metadata the stored record st does not.
func fills(st, n oem.Model) bool {
	return (st.BatteryKWh <= 0 && n.BatteryKWh > 0) || (st.WarrantyKm <= 0 && n.WarrantyKm > 0) ||
		(st.WarrantyYears <= 0 && n.WarrantyYears > 0) || (st.ImageURL == "" && n.ImageURL != "") ||
		(st.VehicleType == "" && n.VehicleType != "")
}

// readModels reads the stored records of list's keys, locked against
// deletion until the transaction ends.
func (s *DB) readModels(ctx context.Context, tx *sqlx.Tx, byMake map[int64]string,
	list []modelRow) (map[modelKey]oem.Model, error) {
	out := make(map[modelKey]oem.Model, len(list))

	const per = 200
	for start := 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		var where []string
		var args []any
		for _, r := range chunk {
			where = append(where, "(make_id = ? AND model_name = ? AND type = ? AND version = ?)")
			args = append(args, r.makeID, r.k.name, r.k.typ, r.k.version)
		}

		q := `SELECT id, make_id, model_name, type, version, coalesce(vehicle_type, ''),
	coalesce(battery_capacity_kwh, 0), coalesce(warranty_km, 0), coalesce(warranty_years, 0),
	coalesce(image_url, '')
FROM vehicle_model WHERE ` + strings.Join(where, " OR ") + " ORDER BY id" + s.d.lockShare
		rs, err := tx.QueryxContext(ctx, tx.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("read vehicle_model: %w", err)
		}

		for rs.Next() {
			var m oem.Model
			var makeID int64
			if err := rs.Scan(&m.ID, &makeID, &m.Name, &m.Type, &m.Version, &m.VehicleType,
				&m.BatteryKWh, &m.WarrantyKm, &m.WarrantyYears, &m.ImageURL); err != nil {
				rs.Close()

				return nil, fmt.Errorf("read vehicle_model: %w", err)
			}

			m.Make = byMake[makeID]
			out[modelKey{m.Make, m.Name, m.Type, m.Version}] = m
		}

		if err := rs.Err(); err != nil {
			rs.Close()

			return nil, fmt.Errorf("read vehicle_model: %w", err)
		}

		rs.Close()
	}

	return out, nil
}

// Models returns every model with at least one of image URL, warranty km,
// warranty years or capacity known, ordered by make, model, type (and
// version), comparing bytes.
func (s *DB) Models(ctx context.Context) ([]oem.Model, error) {
	c := s.d.collate
	q := `
SELECT m.id, mk.name, m.model_name, m.type, m.version, coalesce(m.vehicle_type, ''),
	coalesce(m.battery_capacity_kwh, 0), coalesce(m.warranty_km, 0),
	coalesce(m.warranty_years, 0), coalesce(m.image_url, '')
FROM vehicle_model m
JOIN make mk ON mk.id = m.make_id
WHERE m.image_url IS NOT NULL OR m.warranty_km IS NOT NULL OR m.warranty_years IS NOT NULL
	OR m.battery_capacity_kwh IS NOT NULL
ORDER BY mk.name` + c + `, m.model_name` + c + `, m.type` + c + `, m.version` + c + `, m.id`

	rows, err := s.db.QueryxContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: models: %w", err)
	}
	defer rows.Close()

	var out []oem.Model
	for rows.Next() {
		var m oem.Model
		if err := rows.Scan(&m.ID, &m.Make, &m.Name, &m.Type, &m.Version, &m.VehicleType,
			&m.BatteryKWh, &m.WarrantyKm, &m.WarrantyYears, &m.ImageURL); err != nil {
			return nil, fmt.Errorf("store: models: %w", err)
		}

		out = append(out, m)
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: models: %w", err)
	}

	return out, nil
}

// UpsertModels writes model records by (make, name, type, version), names
// trimmed: known values given replace stored ones, unknown values never do.
// A model oem.CheckModel refuses (no name, a number out of range, text that
// is not UTF-8) fails the whole call with an error wrapping
// oem.ErrInvalidInput.
// The same key twice is merged, later known values over earlier ones.
func (s *DB) UpsertModels(ctx context.Context, models []oem.Model) error {
	byKey := make(map[modelKey]int)
	var list []oem.Model
	for _, m := range models {
		if err := oem.CheckModel(m); err != nil {
			return fmt.Errorf("store: upsert models: %w", err)
		}

		m.Make = strings.TrimSpace(m.Make)
		k := keyOf(m)
		if j, ok := byKey[k]; ok {
			n := m
			fillModel(&n, list[j]) // later known values win
			list[j] = n

			continue
		}

		byKey[k] = len(list)
		list = append(list, m)
	}

	if len(list) == 0 {
		return nil
	}

	slices.SortFunc(list, func(a, b oem.Model) int { return keyOf(a).compare(keyOf(b)) })

	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		makes := make(map[string]string)
		for _, m := range list {
			makes[m.Make] = m.Make // "" included: the unknown make
		}

		makeIDs, err := s.ensure(ctx, tx, makeTable, makes)
		if err != nil {
			return err
		}

		_, err = s.writeModels(ctx, tx, ids{makes: makeIDs}, list, true)

		return err
	})
	if err != nil {
		return fmt.Errorf("store: upsert models: %w", err)
	}

	return nil
}

// CleanupModels deletes the models no vehicle links to and that carry no
// metadata (image URL, warranty, capacity), and returns how many it deleted.
// A model with metadata is kept even when no vehicle uses it: it was
// curated.
//
// It is safe while batches are saved: on PostgreSQL it first locks the
// candidates, skipping those an unfinished batch has read (that batch is
// about to link to them), then deletes those still unused as seen after
// the locks, so a batch committed meanwhile keeps its model and a batch
// started meanwhile waits and then creates the model afresh. It never waits
// for a batch.
func (s *DB) CleanupModels(ctx context.Context) (int64, error) {
	const unused = `image_url IS NULL AND warranty_km IS NULL AND warranty_years IS NULL
	AND battery_capacity_kwh IS NULL
	AND NOT EXISTS (SELECT 1 FROM vehicle v WHERE v.model_id = vehicle_model.id)`

	var deleted int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		deleted = 0

		var ids []int64
		err := tx.SelectContext(ctx, &ids,
			"SELECT id FROM vehicle_model WHERE "+unused+" ORDER BY id"+s.d.lockSkip)
		if err != nil {
			return err
		}

		// A new statement sees what committed while the locks were taken.
		for start := 0; start < len(ids); start += 1000 {
			q, args, err := sqlx.In("DELETE FROM vehicle_model WHERE id IN (?) AND "+unused,
				ids[start:min(start+1000, len(ids))])
			if err != nil {
				return err
			}

			res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return err
			}

			n, err := res.RowsAffected()
			if err != nil {
				return err
			}

			deleted += n
		}

		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: cleanup models: %w", err)
	}

	return deleted, nil
}
