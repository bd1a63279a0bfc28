package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// lookup is one of the small name tables (fleet, region, make, oem) that
// vehicles and entries point to.
type lookup struct {
	table   string
	keyCol  string // the unique column names are found by
	nameCol string // the column holding the name as first written
}

var (
	fleetTable  = lookup{table: "fleet", keyCol: "name_key", nameCol: "name"}
	regionTable = lookup{table: "region", keyCol: "country", nameCol: "country"}
	makeTable   = lookup{table: "make", keyCol: "name", nameCol: "name"}
	oemTable    = lookup{table: "oem", keyCol: "name", nameCol: "name"}
)

// ensure creates the rows missing for names (key → name as written) and
// returns the ID of every key. Keys are written in sorted order so that
// concurrent writers take the unique-index locks in the same order.
func (s *DB) ensure(ctx context.Context, tx *sqlx.Tx, l lookup, names map[string]string) (
	map[string]int64, error) {
	ids := make(map[string]int64, len(names))
	if len(names) == 0 {
		return ids, nil
	}

	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}

	slices.Sort(keys)

	q := fmt.Sprintf("SELECT id, %s FROM %s WHERE %s IN (?)", l.keyCol, l.table, l.keyCol)
	read := func(keys []string) error {
		return s.selectIn(ctx, tx, q, keys, func(r *sqlx.Rows) error {
			var id int64
			var k string
			if err := r.Scan(&id, &k); err != nil {
				return err
			}

			ids[k] = id

			return nil
		})
	}

	// Most writes name rows that exist: read first, insert what is missing.
	if err := read(keys); err != nil {
		return nil, fmt.Errorf("read %s: %w", l.table, err)
	}

	var missing []string
	for _, k := range keys {
		if _, ok := ids[k]; !ok {
			missing = append(missing, k)
		}
	}

	if len(missing) == 0 {
		return ids, nil
	}

	cols := []string{l.keyCol}
	if l.nameCol != l.keyCol {
		cols = append(cols, l.nameCol)
	}

	rows := make([][]any, 0, len(missing))
	for _, k := range missing {
		if l.nameCol == l.keyCol {
			rows = append(rows, []any{k})
		} else {
			rows = append(rows, []any{k, names[k]})
		}
	}

	per := max(1, min(1000, s.d.maxParams/len(cols)))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			args = append(args, r...)
		}

		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s ON CONFLICT (%s) DO NOTHING",
			l.table, strings.Join(cols, ", "), placeholders(len(chunk), len(cols)), l.keyCol)
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("write %s: %w", l.table, err)
		}
	}

	// Rows a concurrent writer inserted first are read here too.
	if err := read(missing); err != nil {
		return nil, fmt.Errorf("read %s: %w", l.table, err)
	}

	for _, k := range keys {
		if _, ok := ids[k]; !ok {
			return nil, fmt.Errorf("read %s: %q not found after insert", l.table, k)
		}
	}

	return ids, nil
}
