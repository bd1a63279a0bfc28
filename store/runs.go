package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vehicleinfo/ingest/oem"
)

// validRunState reports whether st is a state the runs table accepts.
func validRunState(st string) bool {
	switch st {
	case "running", "ok", "failed", "cancelled":
		return true
	}

	return false
}

// StartRun records the start of a run and returns its ID. A zero StartedAt
// is the store's clock; an empty State is "running".
func (s *DB) StartRun(ctx context.Context, r oem.Run) (int64, error) {
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now()
	}

	if r.State == "" {
		r.State = "running"
	}

	if !validRunState(r.State) {
		return 0, fmt.Errorf("store: start run: state %q: %w", r.State, oem.ErrInvalidInput)
	}

	report, err := reportArg(r.Report)
	if err != nil {
		return 0, fmt.Errorf("store: start run: %w", err)
	}

	const q = `INSERT INTO runs (owner, dry_run, started_at, state, report)
VALUES (?, ?, ?, ?, ?) RETURNING id`

	var id int64
	err = s.db.GetContext(ctx, &id, s.db.Rebind(q), r.Owner, r.DryRun, ntime(r.StartedAt), r.State,
		report)
	if err != nil {
		return 0, fmt.Errorf("store: start run: %w", err)
	}

	return id, nil
}

// FinishRun records the end of a run: its state ("ok" when empty), end time
// (the store's clock when zero) and report. An unknown ID gives an error
// wrapping oem.ErrNotFound.
func (s *DB) FinishRun(ctx context.Context, r oem.Run) error {
	if r.FinishedAt.IsZero() {
		r.FinishedAt = s.now()
	}

	if r.State == "" {
		r.State = "ok"
	}

	if !validRunState(r.State) {
		return fmt.Errorf("store: finish run %d: state %q: %w", r.ID, r.State, oem.ErrInvalidInput)
	}

	report, err := reportArg(r.Report)
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", r.ID, err)
	}

	const q = `UPDATE runs SET finished_at = ?, state = ?, report = coalesce(?, report)
WHERE id = ?`

	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), ntime(r.FinishedAt), r.State, report, r.ID)
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", r.ID, err)
	}

	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", r.ID, err)
	}

	if n == 0 {
		return fmt.Errorf("store: finish run %d: %w", r.ID, oem.ErrNotFound)
	}

	return nil
}

// Run returns the run with the given ID, or an error wrapping
// oem.ErrNotFound.
func (s *DB) Run(ctx context.Context, id int64) (oem.Run, error) {
	const q = `SELECT id, owner, dry_run, started_at, finished_at, state, report
FROM runs WHERE id = ?`

	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(q), id)
	if err != nil {
		return oem.Run{}, fmt.Errorf("store: run %d: %w", id, err)
	}
	defer rows.Close()

	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return oem.Run{}, fmt.Errorf("store: run %d: %w", id, err)
		}

		return oem.Run{}, fmt.Errorf("store: run %d: %w", id, oem.ErrNotFound)
	}

	var r oem.Run
	var started, finished dbTime
	var report []byte
	if err := rows.Scan(&r.ID, &r.Owner, &r.DryRun, &started, &finished, &r.State,
		&report); err != nil {
		return oem.Run{}, fmt.Errorf("store: run %d: %w", id, err)
	}

	r.StartedAt, r.FinishedAt = started.T, finished.T
	if len(report) > 0 {
		r.Report = report
	}

	return r, nil
}

// reportArg checks a run report is JSON; an empty one is NULL.
func reportArg(report []byte) (any, error) {
	if len(report) == 0 {
		return nil, nil
	}

	if !json.Valid(report) {
		return nil, fmt.Errorf("report is not JSON: %w", oem.ErrInvalidInput)
	}

	return string(report), nil
}
