package oem

import (
	"maps"
	"time"
)

// FleetEntry is one vehicle the company wants to know about: a row of the
// wanted fleet, as a fleet CSV import or a company service writes it.
type FleetEntry struct {
	VIN          VIN
	Owner        string // the fleet owner, e.g. a leasing company
	Make         string // canonical make (NormalizeMake); may be empty
	Model        string // the company's own model name, a hint only
	Type         string // the company's own model type, a hint only
	Connector    string // explicit connector name; empty means route by make or WMI
	LicencePlate string
	Country      string    // ISO 3166 alpha-2 where known
	StartDate    time.Time // contract start; zero when unknown
	EndDate      time.Time // end of contract; zero when unknown
	WantActive   bool      // data sharing should be on
	Displayed    bool      // shown in the company's products
	Eligible     *bool     // the company's own eligibility flag, when it has one

	// Line is the 1-based line of the fleet file this entry came from, or 0.
	Line int
}

// Field names a standardised value that a description can find.
type Field string

const (
	FieldMake              Field = "make"
	FieldModel             Field = "model"
	FieldVersion           Field = "version"
	FieldType              Field = "type"
	FieldModelYear         Field = "model_year"
	FieldPowertrain        Field = "powertrain"
	FieldBatteryKWh        Field = "battery_kwh"
	FieldWarrantyKm        Field = "warranty_km"
	FieldWarrantyYears     Field = "warranty_years"
	FieldRangeKm           Field = "range_km"
	FieldFirstRegistration Field = "first_registration"
	FieldBuildDate         Field = "build_date"
	FieldImageURL          Field = "image_url"
)

// Powertrain is the standardised drive type.
type Powertrain string

const (
	PowertrainUnknown Powertrain = ""
	PowertrainBEV     Powertrain = "bev"  // battery electric
	PowertrainPHEV    Powertrain = "phev" // plug-in hybrid
	PowertrainHEV     Powertrain = "hev"  // hybrid without a plug
	PowertrainICE     Powertrain = "ice"  // combustion only
	PowertrainFCEV    Powertrain = "fcev" // fuel cell
)

// Valid reports whether p is one of the canonical powertrains (unknown
// included).
func (p Powertrain) Valid() bool {
	switch p {
	case PowertrainUnknown, PowertrainBEV, PowertrainPHEV, PowertrainHEV, PowertrainICE,
		PowertrainFCEV:
		return true
	}

	return false
}

// Observed is what an OEM reports about one vehicle in its fleet listing.
type Observed struct {
	VIN       VIN
	Status    Status
	Raw       string    // the OEM's own status word
	Reason    string    // the OEM's reason, e.g. a rejection reason
	Account   string    // the OEM account or fleet it was found in, when there are several
	Make      string    // canonical make, when the OEM says
	ChangedAt time.Time // when the OEM says the status last changed; zero if it does not
}

// Result is what an activation or deactivation did for one vehicle.
type Result struct {
	VIN    VIN
	Status Status // the status after the call
	Raw    string
	Reason string
	// Err is a per-vehicle failure, typed with the sentinels in errors.go
	// (errors.Is(r.Err, ErrNotSupported), ...). Nil on success, including
	// "already done" answers.
	Err error
}

// Info is what a description found about one vehicle. Zero values mean
// unknown: a capacity of 0 is never a fact. Sources names, for each field
// that is set, where it came from ("bmw:data/vehicle:capacity").
type Info struct {
	VIN               VIN
	Make              string
	Model             string
	Version           string
	Type              string
	ModelYear         int
	Powertrain        Powertrain
	BatteryKWh        float64
	WarrantyKm        int
	WarrantyYears     int
	RangeKm           int
	FirstRegistration time.Time
	BuildDate         time.Time
	ImageURL          string
	Sources           map[Field]string
	// Warnings are odd fields that were skipped; the rest of the
	// description stands.
	Warnings []string
}

// Set records the source of a field; it is a convenience for connectors.
func (i *Info) Set(f Field, source string) {
	if i.Sources == nil {
		i.Sources = make(map[Field]string)
	}

	i.Sources[f] = source
}

// Warn records a warning about one odd field.
func (i *Info) Warn(msg string) { i.Warnings = append(i.Warnings, msg) }

// Model is a model record: what vehicles link to, with the metadata the
// company's products show. Zero values mean unknown.
type Model struct {
	ID            int64   `json:"id,omitempty"`
	Make          string  `json:"make"`
	Name          string  `json:"model"`             // the model name, e.g. "i3"
	Type          string  `json:"type"`              // e.g. "94", "R135"
	Version       string  `json:"version,omitempty"` // e.g. "MT337"
	VehicleType   string  `json:"vehicle_type,omitempty"`
	BatteryKWh    float64 `json:"battery_kwh,omitempty"`
	WarrantyKm    int     `json:"warranty_km,omitempty"`
	WarrantyYears int     `json:"warranty_years,omitempty"`
	ImageURL      string  `json:"image_url,omitempty"`
}

// HasMetadata reports whether any of image URL, warranty or capacity is
// known: the models the old module's metadata listing showed.
func (m Model) HasMetadata() bool {
	return m.ImageURL != "" || m.WarrantyKm > 0 || m.WarrantyYears > 0 || m.BatteryKWh > 0
}

// Vehicle is what we know about one vehicle: the wanted entry plus what the
// OEM and its descriptions said.
type Vehicle struct {
	FleetEntry

	Connector  string // the connector that serves its activation
	Account    string // the OEM account or fleet it was seen in
	Model      string
	Version    string
	Type       string
	ModelYear  int
	Powertrain Powertrain
	BatteryKWh float64
	RangeKm    int

	// Model metadata found by the description, applied to the linked model
	// only where the model does not know it yet.
	WarrantyKm    int
	WarrantyYears int
	ImageURL      string

	Status          Status
	RawStatus       string
	Reason          string
	StatusChangedAt time.Time

	// ModelID is the linked model record, filled by the store.
	ModelID int64

	DescribedAt time.Time // when a description last succeeded; zero if never
	SeenAt      time.Time // when the OEM listing last showed it; zero if never
	// MissingSince is when a complete listing first omitted a vehicle it
	// had shown before; zero while the OEM lists it. A vehicle missing
	// from a listing is never deleted or deactivated for that alone.
	MissingSince time.Time
	UpdatedAt    time.Time
	Sources      map[Field]string
}

// ModelKey is the identity of the vehicle's model record.
func (v *Vehicle) ModelKey() Model {
	return Model{Make: v.Make, Name: v.Model, Type: v.Type, Version: v.Version}
}

// Apply merges a description into the vehicle. Known values are never
// replaced by unknown ones; the sources of the fields it sets are kept.
//
// Values no vehicle can have are not taken as facts (CASES 14): a model
// year before 1980 or more than two years ahead, a capacity outside
// PlausibleKWh, a range over 2,000 km, a warranty over 1,000,000 km or 30
// years. Model, version and type codes are trimmed and their inner white
// space collapsed (CASES 13).
func (v *Vehicle) Apply(info Info, at time.Time) {
	setS := func(dst *string, src string) { keepKnown(dst, normalizeSpace(src)) }
	setI := keepKnown[int]
	info = plausible(info, at)

	setS(&v.Make, info.Make)
	setS(&v.Model, info.Model)
	setS(&v.Version, info.Version)
	setS(&v.Type, info.Type)
	setS(&v.ImageURL, info.ImageURL)
	setI(&v.ModelYear, info.ModelYear)
	setI(&v.WarrantyKm, info.WarrantyKm)
	setI(&v.WarrantyYears, info.WarrantyYears)
	setI(&v.RangeKm, info.RangeKm)
	if info.Powertrain != PowertrainUnknown {
		v.Powertrain = info.Powertrain
	}
	if info.BatteryKWh > 0 {
		v.BatteryKWh = info.BatteryKWh
	}

	if len(info.Sources) > 0 {
		if v.Sources == nil {
			v.Sources = make(map[Field]string, len(info.Sources))
		}
		maps.Copy(v.Sources, info.Sources)
	}

	v.DescribedAt = at
}

// StatusChange is one row of the append-only activation history.
type StatusChange struct {
	VIN       VIN
	Connector string
	From      Status
	To        Status
	Raw       string
	Reason    string
	At        time.Time
	RunID     int64
}

// MergeVehicle returns o with n laid over it by the rules Store.SaveBatch
// follows: a known value of n replaces o's and an unknown one (empty
// string, zero number, zero time, unknown powertrain, nil Eligible) keeps
// it; want-active, displayed and UpdatedAt always take n's; status, raw
// status and reason go together when n has a status; a SeenAt without a
// MissingSince clears MissingSince; sources merge key by key. Stores use it
// so that they all agree.
func MergeVehicle(o, n Vehicle) Vehicle {
	str, num, tm := keepKnown[string], keepKnown[int], keepKnown[time.Time]

	str(&o.Owner, n.Owner)
	str(&o.FleetEntry.Make, n.FleetEntry.Make)
	str(&o.FleetEntry.Model, n.FleetEntry.Model)
	str(&o.FleetEntry.Type, n.FleetEntry.Type)
	str(&o.FleetEntry.Connector, n.FleetEntry.Connector)
	str(&o.LicencePlate, n.LicencePlate)
	str(&o.Country, n.Country)
	tm(&o.StartDate, n.StartDate)
	tm(&o.EndDate, n.EndDate)
	o.WantActive, o.Displayed = n.WantActive, n.Displayed
	if n.Eligible != nil {
		o.Eligible = n.Eligible
	}

	num(&o.Line, n.Line)
	str(&o.Connector, n.Connector)
	str(&o.Account, n.Account)
	str(&o.Model, n.Model)
	str(&o.Version, n.Version)
	str(&o.Type, n.Type)
	num(&o.ModelYear, n.ModelYear)
	if n.Powertrain != PowertrainUnknown {
		o.Powertrain = n.Powertrain
	}

	if n.BatteryKWh > 0 {
		o.BatteryKWh = n.BatteryKWh
	}

	num(&o.RangeKm, n.RangeKm)
	num(&o.WarrantyKm, n.WarrantyKm)
	num(&o.WarrantyYears, n.WarrantyYears)
	str(&o.ImageURL, n.ImageURL)
	if n.Status != "" {
		o.Status, o.RawStatus, o.Reason = n.Status, n.RawStatus, n.Reason
	}

	tm(&o.StatusChangedAt, n.StatusChangedAt)
	tm(&o.DescribedAt, n.DescribedAt)
	tm(&o.SeenAt, n.SeenAt)
	switch {
	case !n.MissingSince.IsZero():
		o.MissingSince = n.MissingSince
	case !n.SeenAt.IsZero():
		o.MissingSince = time.Time{}
	}

	o.UpdatedAt = n.UpdatedAt
	if len(n.Sources) > 0 {
		src := make(map[Field]string, len(o.Sources)+len(n.Sources))
		maps.Copy(src, o.Sources)
		maps.Copy(src, n.Sources)
		o.Sources = src
	}

	return o
}

// keepKnown sets *dst to src unless src is the zero value (unknown); a
// negative number counts as unknown too.
func keepKnown[T comparable](dst *T, src T) {
	var zero T
	if src == zero {
		return
	}

	switch n := any(src).(type) {
	case int:
		if n < 0 {
			return
		}
	case time.Time:
		if n.IsZero() {
			return
		}
	}

	*dst = src
}

// PlausibleKWh bounds the battery capacities taken as facts: a value
// outside it is a unit mix-up or a placeholder, not a battery.
var PlausibleKWh = [2]float64{5, 250}

// plausible zeroes, in a copy of info, the values no vehicle can have.
func plausible(info Info, at time.Time) Info {
	if at.IsZero() {
		at = time.Now()
	}

	if y := info.ModelYear; y != 0 && (y < 1980 || y > at.Year()+2) {
		info.ModelYear = 0
	}

	if k := info.BatteryKWh; k != 0 && (k < PlausibleKWh[0] || k > PlausibleKWh[1]) {
		info.BatteryKWh = 0
	}

	if info.RangeKm > 2000 {
		info.RangeKm = 0
	}

	if info.WarrantyKm > 1_000_000 {
		info.WarrantyKm = 0
	}

	if info.WarrantyYears > 30 {
		info.WarrantyYears = 0
	}

	// Text a store cannot keep (not UTF-8, a NUL byte, a name longer than
	// any real one) is noise from the OEM: unknown rather than a refused
	// vehicle.
	for _, p := range []*string{&info.Make, &info.Model, &info.Version, &info.Type} {
		if checkText("", *p, MaxKeyBytes) != nil {
			*p = ""
		}
	}

	if checkText("", info.ImageURL, 0) != nil {
		info.ImageURL = ""
	}

	for _, p := range []*int{&info.ModelYear, &info.RangeKm, &info.WarrantyKm,
		&info.WarrantyYears} {
		if *p < 0 {
			*p = 0
		}
	}

	return info
}
