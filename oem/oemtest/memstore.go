package oemtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// MemStore is an in-memory oem.Store with the semantics of the SQL store in
// package store: unknown values never replace known ones, vehicles are
// linked to model records (created when missing, with IDs assigned here),
// history is append-only and de-duplicated, a batch lands whole or not at
// all. It is safe for concurrent use. Everything it returns is a copy, and
// it keeps copies of what it is given.
//
// Like the SQL store it keeps times in UTC at microsecond precision and
// contract dates as calendar days, so tests see what a database would give.
type MemStore struct {
	mu sync.Mutex

	fleet    map[oem.VIN]oem.FleetEntry
	owners   map[string]string // owner key → the spelling first written
	vehicles map[oem.VIN]oem.Vehicle
	models   map[memModelKey]*oem.Model
	history  map[oem.VIN][]oem.StatusChange
	runs     map[int64]oem.Run

	nextModel, nextRun int64
	now                func() time.Time
	closed             bool

	locks map[string]*memLock // held locks by key (memlock.go)
}

var _ oem.Store = (*MemStore)(nil)

type memModelKey struct{ make, name, typ, version string }

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		fleet:    make(map[oem.VIN]oem.FleetEntry),
		owners:   make(map[string]string),
		vehicles: make(map[oem.VIN]oem.Vehicle),
		models:   make(map[memModelKey]*oem.Model),
		history:  make(map[oem.VIN][]oem.StatusChange),
		runs:     make(map[int64]oem.Run),
		now:      time.Now,
	}
}

// SetClock sets the clock used for the times the store stamps itself
// (UpdatedAt when it is zero, run start and end). It returns m.
func (m *MemStore) SetClock(now func() time.Time) *MemStore {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.now = now

	return m
}

// Close marks the store closed; later calls fail.
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.closed = true

	return nil
}

func (m *MemStore) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	if m.closed {
		return fmt.Errorf("oemtest: memstore is closed")
	}

	return nil
}

// PutFleet upserts wanted-fleet entries by VIN, as oem.Store says.
func (m *MemStore) PutFleet(ctx context.Context, entries []oem.FleetEntry) error {
	list := make([]oem.FleetEntry, 0, len(entries))
	seen := make(map[oem.VIN]bool, len(entries))
	for _, e := range entries {
		if err := oem.CheckEntry(e); err != nil {
			return fmt.Errorf("oemtest: put fleet: %w", err)
		}

		vin, _ := oem.ParseVIN(string(e.VIN)) // checked above

		if seen[vin] {
			continue
		}

		seen[vin] = true
		e.VIN = vin
		list = append(list, e)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return err
	}

	slices.SortFunc(list, func(a, b oem.FleetEntry) int { return cmp.Compare(a.VIN, b.VIN) })
	for _, e := range list {
		e = m.normEntry(e)
		old, ok := m.fleet[e.VIN]
		if !ok {
			m.fleet[e.VIN] = e

			continue
		}

		memSetS(&old.Owner, e.Owner)
		memSetS(&old.Make, e.Make)
		memSetS(&old.Model, e.Model)
		memSetS(&old.Type, e.Type)
		memSetS(&old.Connector, e.Connector)
		memSetS(&old.LicencePlate, e.LicencePlate)
		memSetS(&old.Country, e.Country)
		memSetT(&old.StartDate, e.StartDate)
		memSetT(&old.EndDate, e.EndDate)
		old.WantActive, old.Displayed = e.WantActive, e.Displayed
		if e.Eligible != nil {
			old.Eligible = e.Eligible
		}

		memSetI(&old.Line, e.Line)
		m.fleet[e.VIN] = old
	}

	return nil
}

// Fleet returns the wanted fleet, ordered by VIN, filtered by owner.
func (m *MemStore) Fleet(ctx context.Context, f oem.FleetFilter) ([]oem.FleetEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return nil, err
	}

	var out []oem.FleetEntry
	for _, e := range m.fleet {
		if oem.OwnerMatches(f.Owner, e.Owner) {
			out = append(out, memCopyEntry(e))
		}
	}

	slices.SortFunc(out, func(a, b oem.FleetEntry) int { return cmp.Compare(a.VIN, b.VIN) })

	return out, nil
}

// Vehicles returns the stored vehicles q selects, ordered by VIN.
func (m *MemStore) Vehicles(ctx context.Context, q oem.VehicleQuery) ([]oem.Vehicle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return nil, err
	}

	var want map[oem.VIN]bool
	if len(q.VINs) > 0 {
		want = make(map[oem.VIN]bool, len(q.VINs))
		for _, v := range q.VINs {
			want[v] = true
		}
	}

	var out []oem.Vehicle
	for vin, v := range m.vehicles {
		if want != nil && !want[vin] {
			continue
		}

		if oem.OwnerMatches(q.Owner, v.Owner) {
			out = append(out, memCopyVehicle(v))
		}
	}

	slices.SortFunc(out, func(a, b oem.Vehicle) int { return cmp.Compare(a.VIN, b.VIN) })

	return out, nil
}

// SaveBatch writes vehicles and history rows atomically, as oem.Store and
// the SQL store say: invalid input (a VIN that does not parse, a status
// that is not canonical, a history row without a time or for a VIN with no
// vehicle) fails the whole batch with an error wrapping oem.ErrInvalidInput.
func (m *MemStore) SaveBatch(ctx context.Context, b oem.Batch) error {
	vs, err := memPrepareVehicles(b.Vehicles)
	if err != nil {
		return fmt.Errorf("oemtest: save batch: %w", err)
	}

	hs, err := memPrepareHistory(b)
	if err != nil {
		return fmt.Errorf("oemtest: save batch: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return err
	}

	inBatch := make(map[oem.VIN]bool, len(vs))
	for _, v := range vs {
		inBatch[v.VIN] = true
	}

	for _, h := range hs {
		if _, ok := m.vehicles[h.VIN]; !ok && !inBatch[h.VIN] {
			return fmt.Errorf("oemtest: save batch: history of %s: no such vehicle: %w",
				h.VIN, oem.ErrInvalidInput)
		}
	}

	// Nothing below fails: the batch lands whole.
	now := m.now()
	for _, v := range vs {
		v = m.normVehicle(v)
		if v.UpdatedAt.IsZero() {
			v.UpdatedAt = memTime(now)
		}

		old, ok := m.vehicles[v.VIN]
		if !ok {
			old = oem.Vehicle{FleetEntry: oem.FleetEntry{VIN: v.VIN}}
		}

		// The link follows the merged names, so a description that
		// leaves out the type or version keeps the more precise model.
		merged := oem.MergeVehicle(old, v)
		if k, ok := memModelKeyOf(merged); ok && v.Model != "" {
			merged.ModelID = m.linkModel(k, v)
		}

		m.vehicles[v.VIN] = merged
	}

	for _, h := range hs {
		if !memHasChange(m.history[h.VIN], h) {
			m.history[h.VIN] = append(m.history[h.VIN], h)
		}
	}

	return nil
}

// linkModel returns the ID of the model record k, created when missing, and
// fills the record's unknown metadata from the vehicle.
func (m *MemStore) linkModel(k memModelKey, v oem.Vehicle) int64 {
	rec := m.models[k]
	if rec == nil {
		m.nextModel++
		rec = &oem.Model{ID: m.nextModel, Make: k.make, Name: k.name, Type: k.typ,
			Version: k.version}
		m.models[k] = rec
	}

	memFillModel(rec, oem.Model{BatteryKWh: v.BatteryKWh, WarrantyKm: v.WarrantyKm,
		WarrantyYears: v.WarrantyYears, ImageURL: v.ImageURL})

	return rec.ID
}

// History returns a vehicle's status changes, oldest first.
func (m *MemStore) History(ctx context.Context, vin oem.VIN) ([]oem.StatusChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return nil, err
	}

	out := slices.Clone(m.history[vin])
	slices.SortStableFunc(out, func(a, b oem.StatusChange) int { return a.At.Compare(b.At) })

	return out, nil
}

// Models returns every model with metadata, ordered by make, model, type
// and version.
func (m *MemStore) Models(ctx context.Context) ([]oem.Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return nil, err
	}

	var out []oem.Model
	for _, rec := range m.models {
		if rec.HasMetadata() {
			out = append(out, *rec)
		}
	}

	slices.SortFunc(out, func(a, b oem.Model) int {
		return cmp.Or(cmp.Compare(a.Make, b.Make), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Type, b.Type), cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.ID, b.ID))
	})

	return out, nil
}

// UpsertModels writes model records by key, names trimmed: known values
// replace stored ones, unknown values never do. A model oem.CheckModel
// refuses fails the whole call with an error wrapping oem.ErrInvalidInput.
func (m *MemStore) UpsertModels(ctx context.Context, models []oem.Model) error {
	for _, md := range models {
		if err := oem.CheckModel(md); err != nil {
			return fmt.Errorf("oemtest: upsert models: %w", err)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return err
	}

	for _, md := range models {
		k := memModelKey{strings.TrimSpace(md.Make), strings.TrimSpace(md.Name),
			strings.TrimSpace(md.Type), strings.TrimSpace(md.Version)}
		rec := m.models[k]
		if rec == nil {
			m.nextModel++
			rec = &oem.Model{ID: m.nextModel, Make: k.make, Name: k.name, Type: k.typ,
				Version: k.version}
			m.models[k] = rec
		}

		n := md
		memFillModel(&n, *rec) // the given known values win
		rec.VehicleType, rec.BatteryKWh, rec.ImageURL = n.VehicleType, n.BatteryKWh, n.ImageURL
		rec.WarrantyKm, rec.WarrantyYears = n.WarrantyKm, n.WarrantyYears
		rec.BatteryKWh = max(rec.BatteryKWh, 0)
		rec.WarrantyKm, rec.WarrantyYears = max(rec.WarrantyKm, 0), max(rec.WarrantyYears, 0)
	}

	return nil
}

// CleanupModels deletes the models no vehicle links to and that carry no
// metadata, and returns how many it deleted.
func (m *MemStore) CleanupModels(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return 0, err
	}

	used := make(map[int64]bool)
	for _, v := range m.vehicles {
		if v.ModelID != 0 {
			used[v.ModelID] = true
		}
	}

	var n int64
	for k, rec := range m.models {
		if !used[rec.ID] && !rec.HasMetadata() {
			delete(m.models, k)
			n++
		}
	}

	return n, nil
}

// StartRun records the start of a run and returns its ID.
func (m *MemStore) StartRun(ctx context.Context, r oem.Run) (int64, error) {
	if r.State == "" {
		r.State = "running"
	}

	if err := memCheckRun(r); err != nil {
		return 0, fmt.Errorf("oemtest: start run: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return 0, err
	}

	if r.StartedAt.IsZero() {
		r.StartedAt = m.now()
	}

	m.nextRun++
	r.ID = m.nextRun
	r.StartedAt = memTime(r.StartedAt)
	r.FinishedAt = time.Time{}
	r.Report = slices.Clone(r.Report)
	m.runs[r.ID] = r

	return r.ID, nil
}

// FinishRun records the end of a run; an unknown ID gives an error wrapping
// oem.ErrNotFound.
func (m *MemStore) FinishRun(ctx context.Context, r oem.Run) error {
	if r.State == "" {
		r.State = "ok"
	}

	if err := memCheckRun(r); err != nil {
		return fmt.Errorf("oemtest: finish run %d: %w", r.ID, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if err := m.check(ctx); err != nil {
		return err
	}

	old, ok := m.runs[r.ID]
	if !ok {
		return fmt.Errorf("oemtest: finish run %d: %w", r.ID, oem.ErrNotFound)
	}

	if r.FinishedAt.IsZero() {
		r.FinishedAt = m.now()
	}

	old.FinishedAt, old.State = memTime(r.FinishedAt), r.State
	if len(r.Report) > 0 {
		old.Report = slices.Clone(r.Report)
	}

	m.runs[r.ID] = old

	return nil
}

// Run returns a copy of the run with the given ID, and whether it exists.
func (m *MemStore) Run(id int64) (oem.Run, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()

	r, ok := m.runs[id]
	r.Report = slices.Clone(r.Report)

	return r, ok
}

func memCheckRun(r oem.Run) error {
	switch r.State {
	case "running", "ok", "failed", "cancelled":
	default:
		return fmt.Errorf("state %q: %w", r.State, oem.ErrInvalidInput)
	}

	if len(r.Report) > 0 && !json.Valid(r.Report) {
		return fmt.Errorf("report is not JSON: %w", oem.ErrInvalidInput)
	}

	return nil
}

func memPrepareVehicles(in []oem.Vehicle) ([]oem.Vehicle, error) {
	out := make([]oem.Vehicle, 0, len(in))
	for _, v := range in {
		v, err := oem.NormalizeVehicle(v)
		if err != nil {
			return nil, err
		}

		out = append(out, v)
	}

	// Stable: the same VIN twice is merged in the order given.
	slices.SortStableFunc(out, func(a, b oem.Vehicle) int { return cmp.Compare(a.VIN, b.VIN) })

	return out, nil
}

func memPrepareHistory(b oem.Batch) ([]oem.StatusChange, error) {
	out := make([]oem.StatusChange, 0, len(b.History))
	for _, h := range b.History {
		if err := oem.CheckStatusChange(h); err != nil {
			return nil, err
		}

		vin, _ := oem.ParseVIN(string(h.VIN)) // checked above
		h.VIN, h.At = vin, memTime(h.At)
		h.Connector = strings.TrimSpace(h.Connector)
		if h.RunID == 0 {
			h.RunID = b.RunID
		}

		out = append(out, h)
	}

	slices.SortStableFunc(out, func(a, b oem.StatusChange) int {
		return cmp.Or(cmp.Compare(a.VIN, b.VIN), a.At.Compare(b.At),
			cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})

	return out, nil
}

func memHasChange(list []oem.StatusChange, h oem.StatusChange) bool {
	for _, o := range list {
		if o.From == h.From && o.To == h.To && o.At.Equal(h.At) {
			return true
		}
	}

	return false
}

// memModelKeyOf is the model record a vehicle links to; a vehicle without
// a make takes the make of its VIN's WMI.
func memModelKeyOf(v oem.Vehicle) (memModelKey, bool) {
	if v.Model == "" {
		return memModelKey{}, false
	}

	mk := strings.TrimSpace(v.Make)
	if mk == "" {
		mk = v.VIN.Make()
	}

	return memModelKey{mk, v.Model, v.Type, v.Version}, true
}

// memFillModel sets m's unknown metadata from n.
func memFillModel(m *oem.Model, n oem.Model) {
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

// normEntry is e as the store keeps it: owner spaces collapsed and spelled
// as first written, names trimmed, dates as days, its own Eligible.
func (m *MemStore) normEntry(e oem.FleetEntry) oem.FleetEntry {
	owner := strings.Join(strings.Fields(e.Owner), " ")
	if owner != "" {
		key := strings.ToLower(owner)
		if first, ok := m.owners[key]; ok {
			owner = first
		} else {
			m.owners[key] = owner
		}
	}

	e.Owner = owner
	e.Make = strings.TrimSpace(e.Make)
	e.Country = strings.TrimSpace(e.Country)
	e.StartDate, e.EndDate = memDate(e.StartDate), memDate(e.EndDate)
	if e.Eligible != nil {
		b := *e.Eligible
		e.Eligible = &b
	}

	if e.Line < 0 {
		e.Line = 0
	}

	return e
}

func (m *MemStore) normVehicle(v oem.Vehicle) oem.Vehicle {
	v.FleetEntry = m.normEntry(v.FleetEntry)
	v.Connector = strings.TrimSpace(v.Connector)
	for _, p := range []*time.Time{&v.StatusChangedAt, &v.DescribedAt, &v.SeenAt,
		&v.MissingSince, &v.UpdatedAt} {
		*p = memTime(*p)
	}

	v.Sources = maps.Clone(v.Sources)
	v.ModelID = 0

	return v
}

func memCopyEntry(e oem.FleetEntry) oem.FleetEntry {
	if e.Eligible != nil {
		b := *e.Eligible
		e.Eligible = &b
	}

	return e
}

func memCopyVehicle(v oem.Vehicle) oem.Vehicle {
	v.FleetEntry = memCopyEntry(v.FleetEntry)
	v.Sources = maps.Clone(v.Sources)

	return v
}

func memTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}

	return t.UTC().Truncate(time.Microsecond)
}

func memDate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}

	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func memSetS(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

func memSetI(dst *int, src int) {
	if src > 0 {
		*dst = src
	}
}

func memSetT(dst *time.Time, src time.Time) {
	if !src.IsZero() {
		*dst = src
	}
}
