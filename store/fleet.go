package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/vehicleinfo/ingest/oem"
)

var wantedFleetUpsert = upsert{
	table: "wanted_fleet",
	cols: []string{"vin", "fleet_id", "make", "model_name", "type", "connector",
		"licence_plate", "region_id", "start_date", "end_of_contract_date", "want_active",
		"displayed", "eligible", "line", "updated_at"},
	conflict: "(vin)",
	action: `DO UPDATE SET
		fleet_id = coalesce(excluded.fleet_id, wanted_fleet.fleet_id),
		make = coalesce(excluded.make, wanted_fleet.make),
		model_name = coalesce(excluded.model_name, wanted_fleet.model_name),
		type = coalesce(excluded.type, wanted_fleet.type),
		connector = coalesce(excluded.connector, wanted_fleet.connector),
		licence_plate = coalesce(excluded.licence_plate, wanted_fleet.licence_plate),
		region_id = coalesce(excluded.region_id, wanted_fleet.region_id),
		start_date = coalesce(excluded.start_date, wanted_fleet.start_date),
		end_of_contract_date = coalesce(excluded.end_of_contract_date,
			wanted_fleet.end_of_contract_date),
		want_active = excluded.want_active,
		displayed = excluded.displayed,
		eligible = coalesce(excluded.eligible, wanted_fleet.eligible),
		line = coalesce(excluded.line, wanted_fleet.line),
		updated_at = excluded.updated_at`,
	order: "vin",
}

// PutFleet upserts wanted-fleet entries by VIN, as oem.Store says. An entry
// oem.CheckEntry refuses (a VIN that does not parse, a line number or date
// out of range, text that is not UTF-8) fails the whole call with an error
// wrapping oem.ErrInvalidInput; nothing of it is stored.
func (s *DB) PutFleet(ctx context.Context, entries []oem.FleetEntry) error {
	seen := make(map[oem.VIN]bool, len(entries))
	list := make([]oem.FleetEntry, 0, len(entries))
	for _, e := range entries {
		if err := oem.CheckEntry(e); err != nil {
			return fmt.Errorf("store: put fleet: %w", err)
		}

		vin, _ := oem.ParseVIN(string(e.VIN)) // checked above

		if seen[vin] {
			continue // the first entry for a VIN wins
		}

		seen[vin] = true
		e.VIN = vin
		list = append(list, e)
	}

	if len(list) == 0 {
		return nil
	}

	slices.SortFunc(list, func(a, b oem.FleetEntry) int {
		return strings.Compare(string(a.VIN), string(b.VIN))
	})

	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		ids, err := s.ensureAll(ctx, tx, names{
			fleets:  collect(list, true, func(e oem.FleetEntry) string { return e.Owner }),
			regions: collect(list, false, func(e oem.FleetEntry) string { return e.Country }),
		})
		if err != nil {
			return err
		}

		now := ntime(s.now())
		rows := make([][]any, 0, len(list))
		for _, e := range list {
			rows = append(rows, []any{
				string(e.VIN), ids.fleet(e.Owner), nstr(strings.TrimSpace(e.Make)), nstr(e.Model),
				nstr(e.Type), nstr(e.Connector), nstr(e.LicencePlate), ids.region(e.Country),
				ndate(e.StartDate), ndate(e.EndDate), e.WantActive, e.Displayed,
				nbool(e.Eligible), nint(e.Line), now,
			})
		}

		return s.write(ctx, tx, wantedFleetUpsert, rows)
	})
	if err != nil {
		return fmt.Errorf("store: put fleet: %w", err)
	}

	return nil
}

const fleetSelect = `
SELECT w.vin, coalesce(f.name, ''), coalesce(w.make, ''), coalesce(w.model_name, ''),
	coalesce(w.type, ''), coalesce(w.connector, ''), coalesce(w.licence_plate, ''),
	coalesce(r.country, ''), w.start_date, w.end_of_contract_date, w.want_active,
	w.displayed, w.eligible, coalesce(w.line, 0)
FROM wanted_fleet w
LEFT JOIN fleet f ON f.id = w.fleet_id
LEFT JOIN region r ON r.id = w.region_id
WHERE (? = '' OR f.name_key = ?)
ORDER BY w.vin`

// Fleet returns the wanted fleet, ordered by VIN, filtered by owner.
func (s *DB) Fleet(ctx context.Context, f oem.FleetFilter) ([]oem.FleetEntry, error) {
	key := ownerKey(f.Owner)
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(fleetSelect), key, key)
	if err != nil {
		return nil, fmt.Errorf("store: fleet: %w", err)
	}
	defer rows.Close()

	var out []oem.FleetEntry
	for rows.Next() {
		var e oem.FleetEntry
		var start, end dbTime
		var eligible nullBool
		var vin string
		if err := rows.Scan(&vin, &e.Owner, &e.Make, &e.Model, &e.Type, &e.Connector,
			&e.LicencePlate, &e.Country, &start, &end, &e.WantActive, &e.Displayed,
			&eligible, &e.Line); err != nil {
			return nil, fmt.Errorf("store: fleet: %w", err)
		}

		e.VIN = oem.VIN(vin)
		e.StartDate, e.EndDate = start.T, end.T
		if eligible.Valid {
			b := eligible.Bool
			e.Eligible = &b
		}

		out = append(out, e)
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: fleet: %w", err)
	}

	return out, nil
}

// names are the lookup-table names a write needs, key → name as written.
type names struct {
	fleets, regions, makes, oems map[string]string
}

// ids are the lookup-table IDs of a write, by key.
type ids struct {
	fleets, regions, makes, oems map[string]int64
}

// The lookups below give NULL for an empty name: an unknown value.
func (i ids) fleet(owner string) any { return lookupID(i.fleets, ownerKey(owner)) }
func (i ids) region(c string) any    { return lookupID(i.regions, strings.TrimSpace(c)) }
func (i ids) oem(c string) any       { return lookupID(i.oems, strings.TrimSpace(c)) }

func lookupID(m map[string]int64, k string) any {
	if k == "" {
		return nil
	}

	return nid(m[k])
}

// ensureAll resolves every lookup name of a write, one table after the
// other in a fixed order.
func (s *DB) ensureAll(ctx context.Context, tx *sqlx.Tx, n names) (ids, error) {
	var out ids
	var err error
	if out.oems, err = s.ensure(ctx, tx, oemTable, n.oems); err != nil {
		return out, err
	}

	if out.makes, err = s.ensure(ctx, tx, makeTable, n.makes); err != nil {
		return out, err
	}

	if out.fleets, err = s.ensure(ctx, tx, fleetTable, n.fleets); err != nil {
		return out, err
	}

	if out.regions, err = s.ensure(ctx, tx, regionTable, n.regions); err != nil {
		return out, err
	}

	return out, nil
}

// collect gathers the non-empty names get finds in list, keyed as the
// lookup tables key them: owners by ownerKey, other names trimmed.
func collect[T any](list []T, owners bool, get func(T) string) map[string]string {
	out := make(map[string]string)
	for _, x := range list {
		addName(out, owners, get(x))
	}

	return out
}

// addName adds one name to a names map; the first spelling of a key wins.
func addName(m map[string]string, owner bool, name string) {
	k := strings.TrimSpace(name)
	if owner {
		name = strings.Join(strings.Fields(name), " ")
		k = ownerKey(name)
	}

	if k == "" {
		return
	}

	if _, ok := m[k]; !ok {
		m[k] = strings.TrimSpace(name)
	}
}
