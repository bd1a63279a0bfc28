// Package stellantistest is a simulator of the Mobilisights Connected Fleet
// API that the stellantis connector speaks (../shared/OEM-APIS.md section
// 3): the email/password login and its bearer token, the paged contract
// listing (skip and limit, a conditions filter), batch eligibility, contract
// creation with a 409 for a reference already in progress, deletion, the
// put-in-fleet call, and the streamed car-states export. Contracts move from
// pending to activated (or rejected) on the simulator's clock, following
// each vehicle's simkit.Spec.
//
// Facts OEM-APIS.md marks as guesses are options here, each saying so.
package stellantistest

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// Defaults of Options.
const (
	DefaultEmail     = "fleet-manager@example.com"
	DefaultPassword  = "fake-stellantis-password"
	DefaultCompanyID = "company-fake-0001"
	DefaultFleetID   = "fleet-fake-0001"
	DefaultPageSize  = 100
	DefaultPack      = "pack-1"
	DefaultMaxVINs   = 100
)

// Options set up a Sim.
type Options struct {
	// Addr is the loopback address to listen on; a free port when empty.
	Addr string
	// StatePath, when set, is where the state is loaded from at New and
	// saved by Save and Close.
	StatePath string
	// Clock drives contract transitions and token expiry (wall clock
	// when nil).
	Clock *simkit.Clock

	// Email and Password are the accepted login (DefaultEmail,
	// DefaultPassword).
	Email, Password string
	// CompanyID is the company contracts must name; FleetID the one fleet
	// (DefaultCompanyID, DefaultFleetID).
	CompanyID, FleetID string
	// TokenTTL is how long an authToken is accepted. The real API states
	// no lifetime; 0 means tokens never expire here (use ExpireTokens to
	// force a 401).
	TokenTTL time.Duration
	// PageSize is the default `limit` of GET /contracts and the largest
	// one served: a larger limit is refused with 400 (DefaultPageSize).
	// [guess: the real page cap is not known.]
	PageSize int
	// FleetBody is the body PUT /fleets/{id}/vehicles accepts: "ids" (a
	// JSON array of contract ids, the default) or "vins" ({"vins":[…]}).
	// [guess: OEM-APIS.md marks the shape unknown.]
	FleetBody string
	// ModelField is the member of a contract's car that carries the model
	// ("model"). [guess: the model on the contract is not in the
	// evidence; the connector reads the same member.]
	ModelField string
	// Pack is the only pack contracts may ask for (DefaultPack).
	Pack string
	// MaxEligibilityVINs bounds one eligibility request; more is a 400
	// (DefaultMaxVINs). [guess]
	MaxEligibilityVINs int
	// EligibilityBadGatewayEvery makes every n-th eligibility request
	// answer 502 with a proxy page, as the real one does now and then
	// (0: never).
	EligibilityBadGatewayEvery int
	// Limit and Per set a request-rate limit (none when Limit is 0); over
	// it the answer is 429 with Retry-After in seconds and a
	// {"name","message"} body. [guess: the real 429 form is not known.]
	Limit int
	Per   time.Duration
}

// Sim is a running simulator.
type Sim struct {
	opts   Options
	srv    *simkit.Server
	tokens *simkit.Tokens
	clock  *simkit.Clock

	mu             sync.Mutex
	st             state
	carStates      map[string]string // VIN → raw export line, replacing the built one
	exportFailAt   int               // records before the export reports a failure; -1 never
	eligibilityNth int
}

// state is what Save writes.
type state struct {
	Vehicles  map[string]simkit.Spec `json:"vehicles"`
	Contracts []*contract            `json:"contracts"`
	InFleet   map[string]bool        `json:"in_fleet"` // contract id → in the fleet
	Seq       int                    `json:"seq"`
}

// contract is one contract at the OEM.
type contract struct {
	ID        string    `json:"id"`
	Reference string    `json:"reference"`
	Company   string    `json:"company"`
	VIN       string    `json:"vin"`
	Note      string    `json:"note"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Pack      string    `json:"pack"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Status is the stored word: pending, activated, rejected [guess: the
	// word for a refusal is not known], cancelled. A pending contract
	// turns into Final at DecideAt.
	Status   string    `json:"status"`
	Final    string    `json:"final,omitempty"`
	DecideAt time.Time `json:"decide_at"`
	Reason   string    `json:"reason,omitempty"`
}

// New starts a simulator.
func New(opts Options) (*Sim, error) {
	if opts.Clock == nil {
		opts.Clock = &simkit.Clock{}
	}

	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.Email, DefaultEmail)
	def(&opts.Password, DefaultPassword)
	def(&opts.CompanyID, DefaultCompanyID)
	def(&opts.FleetID, DefaultFleetID)
	def(&opts.FleetBody, "ids")
	def(&opts.ModelField, "model")
	def(&opts.Pack, DefaultPack)
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}

	if opts.MaxEligibilityVINs <= 0 {
		opts.MaxEligibilityVINs = DefaultMaxVINs
	}

	if opts.FleetBody != "ids" && opts.FleetBody != "vins" {
		return nil, fmt.Errorf("stellantistest: FleetBody %q, want ids or vins", opts.FleetBody)
	}

	s := &Sim{
		opts:         opts,
		clock:        opts.Clock,
		tokens:       simkit.NewTokens(opts.TokenTTL, opts.Clock),
		carStates:    make(map[string]string),
		exportFailAt: -1,
		st: state{
			Vehicles: make(map[string]simkit.Spec),
			InFleet:  make(map[string]bool),
		},
	}

	if opts.StatePath != "" {
		if _, err := simkit.LoadState(opts.StatePath, &s.st); err != nil {
			return nil, err
		}

		if s.st.Vehicles == nil {
			s.st.Vehicles = make(map[string]simkit.Spec)
		}

		if s.st.InFleet == nil {
			s.st.InFleet = make(map[string]bool)
		}
	}

	srv, err := simkit.Start(s.routes(), simkit.Options{
		Addr:            opts.Addr,
		Limit:           opts.Limit,
		Per:             opts.Per,
		Clock:           opts.Clock,
		RenderRateLimit: renderRateLimit,
	})
	if err != nil {
		return nil, err
	}

	s.srv = srv

	return s, nil
}

// renderRateLimit is the simulator's 429 [guess].
func renderRateLimit(w http.ResponseWriter, wait time.Duration) {
	secs := int(wait.Seconds() + 0.999)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	simkit.WriteJSON(w, http.StatusTooManyRequests, map[string]string{
		"name": "TooManyRequests", "message": fmt.Sprintf("Too many requests, retry in %d seconds", secs),
	})
}

// URL is the base URL to give the connector (STELLANTIS_BASE_URL).
func (s *Sim) URL() string { return s.srv.URL() }

// Server gives access to faults, counters and the rate limit. Counters are
// keyed by mux pattern, e.g. "GET /connected-fleet/api/contracts".
func (s *Sim) Server() *simkit.Server { return s.srv }

// Env returns the settings that point the connector at this simulator,
// with its fake credentials.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"STELLANTIS_BASE_URL":    s.URL(),
		"STELLANTIS_EMAIL":       s.opts.Email,
		"STELLANTIS_PASSWORD":    s.opts.Password,
		"STELLANTIS_FLEET_ID":    s.opts.FleetID,
		"STELLANTIS_COMPANY_ID":  s.opts.CompanyID,
		"STELLANTIS_PAGE_SIZE":   fmt.Sprint(s.opts.PageSize),
		"STELLANTIS_FLEET_BODY":  s.opts.FleetBody,
		"STELLANTIS_MODEL_FIELD": s.opts.ModelField,
		"STELLANTIS_PACK":        s.opts.Pack,
	}
}

// Add seeds vehicles. Spec.Initial sets the contract the vehicle starts
// with: "" none, "active" an activated contract in the fleet, "pending" a
// pending one in the fleet (resolved by Outcome after After), "rejected" a
// rejected one, "inactive" a cancelled one. Adding a VIN again replaces its
// spec but adds no contract when it has one already, so seeding a world
// loaded from StatePath again changes nothing at the OEM.
func (s *Sim) Add(specs ...simkit.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	for _, sp := range specs {
		s.st.Vehicles[sp.VIN] = sp
		word := ""
		switch sp.Initial {
		case "active":
			word = "activated"
		case "pending":
			word = "pending"
		case "rejected":
			word = "rejected"
		case "inactive":
			word = "cancelled"
		}

		if word == "" || s.newest(sp.VIN) != nil {
			continue
		}

		k := s.newContract(sp, "seed-"+sp.VIN, now)
		k.Status = word
		if word == "pending" {
			k.Final, k.DecideAt, k.Reason = finalOf(sp, now)
		}

		if word == "activated" || word == "pending" {
			s.st.InFleet[k.ID] = true
		}
	}
}

// finalOf is what a pending contract of sp becomes, when, and why:
// OutcomeApprove (and no outcome) activates it Spec.After after creation, at
// once when After is zero (the 201 then says "activated"); OutcomeReject
// rejects it then; OutcomePending leaves it pending. OutcomeIneligible never
// gets a contract: POST /contracts answers 400 NotEligible.
func finalOf(sp simkit.Spec, now time.Time) (string, time.Time, string) {
	switch sp.Outcome {
	case simkit.OutcomePending:
		return "", time.Time{}, ""
	case simkit.OutcomeReject:
		return "rejected", now.Add(sp.After), sp.Reason
	}

	return "activated", now.Add(sp.After), ""
}

// newContract stores a new contract (callers hold s.mu). Ids look like
// MongoDB object ids: creation seconds then a counter.
func (s *Sim) newContract(sp simkit.Spec, ref string, now time.Time) *contract {
	s.st.Seq++
	k := &contract{
		ID:        fmt.Sprintf("%08x%016x", now.Unix(), s.st.Seq),
		Reference: ref,
		Company:   s.opts.CompanyID,
		VIN:       sp.VIN,
		From:      now,
		To:        now.AddDate(5, 0, 0),
		Pack:      s.opts.Pack,
		CreatedAt: now,
		UpdatedAt: now,
		Status:    "pending",
	}
	s.st.Contracts = append(s.st.Contracts, k)

	return k
}

// settle applies the transitions due by now (callers hold s.mu).
func (s *Sim) settle(now time.Time) {
	for _, k := range s.st.Contracts {
		if k.Status == "pending" && k.Final != "" && !now.Before(k.DecideAt) {
			k.Status, k.UpdatedAt = k.Final, k.DecideAt
		}
	}
}

// newest is the newest contract of vin, or nil (callers hold s.mu).
func (s *Sim) newest(vin string) *contract {
	var best *contract
	for _, k := range s.st.Contracts {
		if k.VIN == vin && (best == nil || !k.CreatedAt.Before(best.CreatedAt)) {
			best = k
		}
	}

	return best
}

// State returns the status word of vin's newest contract ("activated",
// "pending", "rejected", "cancelled"), "" with true for a known vehicle
// without a contract, and false for a VIN the simulator does not know.
func (s *Sim) State(vin string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.settle(s.clock.Now())
	k := s.newest(vin)
	if k == nil {
		_, known := s.st.Vehicles[vin]
		return "", known
	}

	return k.Status, true
}

// Contracts returns how many contracts vin has, whatever their status.
func (s *Sim) Contracts(vin string) int {
	s.mu.Lock()
	defer s.mu.Unlock()

	n := 0
	for _, k := range s.st.Contracts {
		if k.VIN == vin {
			n++
		}
	}

	return n
}

// InFleet reports whether vin's newest contract is in the fleet.
func (s *Sim) InFleet(vin string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	k := s.newest(vin)

	return k != nil && s.st.InFleet[k.ID]
}

// AddContract adds a contract for vin with the given status word and
// creation time, for tests of several contracts per VIN. It returns the
// contract id.
func (s *Sim) AddContract(vin, status string, created time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()

	sp, ok := s.st.Vehicles[vin]
	if !ok {
		sp = simkit.Spec{VIN: vin}
		s.st.Vehicles[vin] = sp
	}

	k := s.newContract(sp, fmt.Sprintf("test-%d-%s", s.st.Seq+1, vin), created)
	k.Status = status
	s.st.InFleet[k.ID] = status == "activated"

	return k.ID
}

// SetCarState makes the export carry line, verbatim, as vin's record
// (odd values, a broken record); "" goes back to the built record. The VIN
// is exported whatever its contract then.
func (s *Sim) SetCarState(vin, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if line == "" {
		delete(s.carStates, vin)
		return
	}

	s.carStates[vin] = line
}

// FailExportAfter makes the export report a {"name","message"} failure
// after n records; a negative n turns that off.
func (s *Sim) FailExportAfter(n int) {
	s.mu.Lock()
	s.exportFailAt = n
	s.mu.Unlock()
}

// ExpireTokens makes every issued token invalid: the next call gets 401.
func (s *Sim) ExpireTokens() { s.tokens.ExpireAll() }

// Save writes the state to StatePath (nothing without one).
func (s *Sim) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	return simkit.SaveState(s.opts.StatePath, &s.st)
}

// Close saves the state and stops the server.
func (s *Sim) Close() error {
	err := s.Save()
	s.srv.Close()

	return err
}

// sortedVINs lists the known VINs in order (callers hold s.mu).
func (s *Sim) sortedVINs() []string {
	vins := make([]string, 0, len(s.st.Vehicles)+len(s.carStates))
	for v := range s.st.Vehicles {
		vins = append(vins, v)
	}

	for v := range s.carStates {
		if _, ok := s.st.Vehicles[v]; !ok {
			vins = append(vins, v)
		}
	}

	slices.Sort(vins)

	return vins
}
