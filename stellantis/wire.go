package stellantis

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/vehicleinfo/ingest/internal/jsonx"
)

// API paths, relative to Config.BaseURL.
const (
	pathLogin        = "/api/auth/login"
	pathAPI          = "/connected-fleet/api"
	pathEligibility  = pathAPI + "/vehicles/eligibilities"
	pathContracts    = pathAPI + "/contracts"
	pathCarStates    = pathAPI + "/exports/car-states.json"
	carStatesVersion = "2"
)

// isoMillis is the time form the contract API takes: milliseconds and Z.
const isoMillis = "2006-01-02T15:04:05.000Z"

// loginRequest is the body of POST /api/auth/login.
type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// loginAnswer is the login answer. No expiry is given.
type loginAnswer struct {
	AuthToken jsonx.String `json:"authToken"`
}

// eligibilityRequest is the body of POST /vehicles/eligibilities.
type eligibilityRequest struct {
	VINs          []string `json:"vins"`
	ResultByEmail bool     `json:"resultByEmail"`
}

// eligibilityItem is one element of the eligibility answer: either
// eligible or error_code is set.
type eligibilityItem struct {
	VIN       jsonx.String `json:"vin"`
	Eligible  jsonx.Bool   `json:"eligible"`
	ErrorCode jsonx.String `json:"error_code"`
	Message   jsonx.String `json:"message"`
}

// contract is one element of GET /contracts. Only the members we use are
// decoded; car is kept raw so the model member can be chosen by config.
type contract struct {
	ID     jsonx.ID                   `json:"_id"`
	Status jsonx.String               `json:"status"`
	Car    map[string]json.RawMessage `json:"car"`
	// CreatedAt is when the OEM made the contract [guess: the member is
	// not in the old module's evidence]; From is the start we sent [old].
	// Together they decide which of several contracts for a VIN is the
	// newest: see contract.newer.
	CreatedAt jsonx.Time `json:"createdAt"`
	From      jsonx.Time `json:"from"`
	// UpdatedAt, when present [guess], is taken as the time the status
	// last changed.
	UpdatedAt jsonx.Time `json:"updatedAt"`
}

// carString reads a text member of the contract's car.
func (c *contract) carString(name string) string {
	raw, ok := c.Car[name]
	if !ok {
		return ""
	}

	var s jsonx.String
	_ = s.UnmarshalJSON(raw)

	return s.V
}

// created is the contract's creation time: createdAt, else from, else the
// zero time.
func (c *contract) created() time.Time {
	if c.CreatedAt.Set {
		return c.CreatedAt.V
	}

	return c.From.V
}

// newer reports whether c is newer than d: by createdAt when both have it,
// else by from; a contract with a time is newer than one without. When
// neither can be told apart, the later one in the listing wins (the caller
// passes them in listing order and asks newer(later, earlier)).
func (c *contract) newer(d *contract) bool {
	if c.CreatedAt.Set && d.CreatedAt.Set {
		return !c.CreatedAt.V.Before(d.CreatedAt.V)
	}

	ct, dt := c.created(), d.created()
	if ct.IsZero() || dt.IsZero() {
		return dt.IsZero()
	}

	return !ct.Before(dt)
}

// contractCar is the car of a new contract.
type contractCar struct {
	VIN  string `json:"vin"`
	Note string `json:"note"`
}

// contractRequest is the body of POST /contracts.
type contractRequest struct {
	Reference string      `json:"reference"`
	Company   string      `json:"company"`
	Car       contractCar `json:"car"`
	From      string      `json:"from"`
	To        string      `json:"to"`
	Pack      string      `json:"pack"`
}

// contractAnswer is the 201 answer of POST /contracts.
type contractAnswer struct {
	ID     jsonx.ID     `json:"_id"`
	Status jsonx.String `json:"status"`
}

// fleetVINs is the alternative body of PUT /fleets/{id}/vehicles.
type fleetVINs struct {
	VINs []string `json:"vins"`
}

// leaf is a car-state value. OEM-APIS.md says every leaf is {value, unit?,
// datetime?}; a bare scalar is accepted too, as its value.
type leaf struct {
	Value      json.RawMessage `json:"value"`
	Unit       jsonx.String    `json:"unit"`
	Datetime   jsonx.Time      `json:"datetime"`
	Percentage json.RawMessage `json:"percentage"`
	present    bool
}

// UnmarshalJSON takes an object or a scalar.
func (l *leaf) UnmarshalJSON(b []byte) error {
	*l = leaf{}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}

	l.present = true
	if t[0] != '{' {
		l.Value = append(json.RawMessage(nil), t...)
		return nil
	}

	type plain leaf
	var p plain
	if err := json.Unmarshal(t, &p); err != nil {
		return err
	}

	*l = leaf(p)
	l.present = true

	return nil
}

// float reads the leaf's value as a number.
func (l *leaf) float() jsonx.Float {
	var f jsonx.Float
	if len(l.Value) > 0 {
		_ = f.UnmarshalJSON(l.Value)
	}

	return f
}

// text reads the leaf's value as text.
func (l *leaf) text() string {
	var s jsonx.String
	if len(l.Value) > 0 {
		_ = s.UnmarshalJSON(l.Value)
	}

	return s.V
}

// carState is one record of the car-states export (v2), with the members
// the description uses. Unknown members are ignored.
type carState struct {
	VIN         leaf `json:"vin"`
	Datetime    leaf `json:"datetime"`
	Odometer    leaf `json:"odometer"`
	Electricity *struct {
		Capacity leaf `json:"capacity"` // Wh
		Level    leaf `json:"level"`    // kWh, with a percentage
		Battery  *struct {
			StateOfHealth *struct {
				Percentage leaf `json:"percentage"`
			} `json:"stateOfHealth"`
		} `json:"battery"`
	} `json:"electricity"`
	Fuel *struct {
		Level leaf `json:"level"`
	} `json:"fuel"`

	// Name and Message are set instead when the export failed mid-way.
	Name    jsonx.String `json:"name"`
	Message jsonx.String `json:"message"`
}
