package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// upsert describes one batched write: rows for cols of table, merged by
// "INSERT … ON CONFLICT <conflict> <action>". The action refers to the
// stored row by the table's name and to the new one as excluded, which both
// databases understand.
type upsert struct {
	table    string
	cols     []string
	conflict string // "(vin)"
	action   string // "DO UPDATE SET …" or "DO NOTHING"
	order    string // the columns the merge visits rows in, for lock order
}

// write runs u for rows inside tx. Rows must already be sorted in u.order
// and hold no two rows with the same conflict key.
//
// On PostgreSQL the rows of a large write are copied into a temporary table
// with COPY and merged by one INSERT … SELECT … ON CONFLICT. Small writes,
// and every write on SQLite, go in multi-row INSERT statements as large as
// the parameter limit allows.
func (s *DB) write(ctx context.Context, tx *sqlx.Tx, u upsert, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}

	if s.d.copy && len(rows) >= copyMinRows {
		return s.copyMerge(ctx, tx, u, rows)
	}

	cols := strings.Join(u.cols, ", ")
	per := max(1, s.d.maxParams/len(u.cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(chunk)*len(u.cols))
		for _, r := range chunk {
			args = append(args, r...)
		}

		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s ON CONFLICT %s %s",
			u.table, cols, placeholders(len(chunk), len(u.cols)), u.conflict, u.action)
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("write %s: %w", u.table, err)
		}
	}

	return nil
}

// copyMinRows is the smallest write that goes through COPY: below it, the
// round trips of COPY cost more than the statement text saves.
const copyMinRows = 200

func (s *DB) copyMerge(ctx context.Context, tx *sqlx.Tx, u upsert, rows [][]any) error {
	tmp := "tmp_" + u.table
	cols := strings.Join(u.cols, ", ")

	// CREATE TABLE AS copies the column types but not the constraints: the
	// temporary table takes NULL for every unknown value. It lives as long
	// as the connection and is emptied at each commit, so later batches on
	// the connection skip the catalog work.
	//
	// The table is empty unless this transaction wrote it already; deleting
	// from an empty table makes no catalog change, which TRUNCATE would. Both
	// statements go in one round trip (no parameters: the simple protocol).
	create := fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS "+
		"SELECT %s FROM %s WITH NO DATA; DELETE FROM %s", tmp, cols, u.table, tmp)
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("write %s: %w", u.table, err)
	}

	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(tmp, u.cols...))
	if err != nil {
		return fmt.Errorf("write %s: copy: %w", u.table, err)
	}

	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			stmt.Close()

			return fmt.Errorf("write %s: copy: %w", u.table, err)
		}
	}

	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()

		return fmt.Errorf("write %s: copy: %w", u.table, err)
	}

	if err := stmt.Close(); err != nil {
		return fmt.Errorf("write %s: copy: %w", u.table, err)
	}

	merge := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s ORDER BY %s ON CONFLICT %s %s",
		u.table, cols, cols, tmp, u.order, u.conflict, u.action)
	if _, err := tx.ExecContext(ctx, merge); err != nil {
		return fmt.Errorf("write %s: merge: %w", u.table, err)
	}

	return nil
}

// inTx runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise. A transaction the database ended for a conflict with
// another (see retryable) is run again, up to three times in all, after a
// short, growing pause: fn must build everything it writes from its inputs.
// A violated constraint is reported as invalid input.
func (s *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	const attempts = 3

	var err error
	for attempt := 1; ; attempt++ {
		err = s.tryTx(ctx, fn)
		if attempt == attempts || !retryable(err) || ctx.Err() != nil {
			break
		}

		s.log.DebugContext(ctx, "store: transaction retried", "attempt", attempt,
			"error", err.Error())

		pause := time.Duration(attempt*attempt) * 20 * time.Millisecond
		select {
		case <-ctx.Done():
			return classify(err)
		case <-time.After(pause + rand.N(pause)):
		}
	}

	return classify(err)
}

// txOptions are the store's transactions' options: on PostgreSQL, read
// committed whatever the server's default, since the store's locking is
// built for it (a stricter level would fail concurrent batches).
func (s *DB) txOptions() *sql.TxOptions {
	if s.d.name != "postgres" {
		return nil
	}

	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

func (s *DB) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, s.txOptions())
	if err != nil {
		return err
	}

	if err := fn(tx); err != nil {
		tx.Rollback()

		return err
	}

	return tx.Commit()
}

// selectIn runs q, which holds one "IN (?)" for keys, in chunks small
// enough for the parameter limit, and passes each chunk's rows to scan.
// Any args come before the keys.
func (s *DB) selectIn(ctx context.Context, db sqlx.QueryerContext, q string, keys []string,
	scan func(*sqlx.Rows) error, args ...any) error {
	per := min(1000, s.d.maxParams-len(args))
	for start := 0; start < len(keys); start += per {
		chunk := keys[start:min(start+per, len(keys))]
		qq, all, err := sqlx.In(q, append(append([]any{}, args...), chunk)...)
		if err != nil {
			return err
		}

		rows, err := db.QueryxContext(ctx, sqlx.Rebind(s.d.bindType(), qq), all...)
		if err != nil {
			return err
		}

		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()

				return err
			}
		}

		if err := rows.Err(); err != nil {
			rows.Close()

			return err
		}

		if err := rows.Close(); err != nil {
			return err
		}
	}

	return nil
}
