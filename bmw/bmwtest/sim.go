// Package bmwtest is a simulator of the BMW fleet data API as
// ../shared/OEM-APIS.md section 1 describes it: the Cognito-style
// user-password login, the fleet and vehicle endpoints with their BMWFD_
// error ids, the vehicle data endpoint and BMW's bare 429. It keeps state
// per VIN (registered or not, in which fleet), serves on loopback and
// exposes the faults, counters and rate limit of internal/simkit.
//
// Counters are keyed by the mux pattern: "POST /cognito" for the login and
// "GET /fleet", "GET /fleet/{fleet_id}/vehicle", "GET /vin-checker/{vin}",
// "POST /vehicle", "POST /fleet/{fleet_id}/vehicle/{vin}",
// "GET /vehicle/{vin}", "DELETE /vehicle/{vin}", "GET /data/vehicle/{vin}"
// for the API.
package bmwtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// Fake credentials the simulator accepts unless Options say otherwise.
const (
	DefaultClientID  = "fake-bmw-client-id"
	DefaultUsername  = "fleet-manager@example.com"
	DefaultPassword  = "fake-bmw-password"
	DefaultFleetName = "Sim Fleet"
)

// LoginPath is where the simulated Cognito endpoint listens.
const LoginPath = "/cognito"

// Options set up a Sim. Every field is optional.
type Options struct {
	// Addr is the loopback address to listen on; a free port when empty.
	Addr string
	// StatePath, when set, is where state is loaded from at New and saved
	// by Save and Close.
	StatePath string
	// Clock drives token expiry and delayed deletions (wall clock when nil).
	Clock *simkit.Clock

	// ClientID, Username and Password are the credentials the login
	// accepts (DefaultClientID, DefaultUsername, DefaultPassword).
	ClientID, Username, Password string
	// TokenTTL is the lifetime of issued tokens and the ExpiresIn answered
	// (1 h when zero).
	TokenTTL time.Duration
	// OmitExpiresIn leaves ExpiresIn out of the login answer, so the
	// client must assume 3600 s.
	OmitExpiresIn bool
	// Challenge, when set, makes every login answer a ChallengeName (e.g.
	// "NEW_PASSWORD_REQUIRED") without an AuthenticationResult.
	Challenge string
	// PasswordResetRequired makes the login answer Cognito's
	// PasswordResetRequiredException.
	PasswordResetRequired bool

	// FleetName is the name of the account's default fleet, where seeded
	// vehicles without an Account go (DefaultFleetName). Every distinct
	// Spec.Account makes one more fleet.
	FleetName string
	// PageSize, when positive, splits fleet vehicle lists into pages of
	// that size joined by an absolute "next" link. OEM-APIS.md marks
	// paging as a guess (no paging was ever seen), so it is off by
	// default and its shape here is the simulator's guess.
	PageSize int
	// RepeatNext makes the "next" link of every page point at the first
	// page again, a broken cursor (CASES 6).
	RepeatNext bool
	// DeleteDelay is how long after DELETE /vehicle/{vin} the vehicle
	// still answers GET /vehicle/{vin} with 200. The API as known deletes
	// at once; this is a knob for the "not gone yet" path.
	DeleteDelay time.Duration
	// Limit and Per set a request-rate limit answered with BMW's bare 429.
	Limit int
	Per   time.Duration
}

// Sim is a running BMW simulator. It is safe for concurrent use.
type Sim struct {
	opts   Options
	srv    *simkit.Server
	clock  *simkit.Clock
	tokens *simkit.Tokens

	mu       sync.Mutex
	fleets   map[string]string // fleet id → name
	vehicles map[string]*vehicle
	// dataBodies are verbatim data answers set by SetDataBody.
	dataBodies map[string]string
}

// vehicle is the simulator's state for one VIN.
type vehicle struct {
	Spec simkit.Spec `json:"spec"`
	// Registered says POST /vehicle succeeded and no DELETE since.
	Registered bool   `json:"registered"`
	Fleet      string `json:"fleet,omitempty"` // fleet id, when in one
	// AddedAt is when it joined Fleet.
	AddedAt      time.Time `json:"added_at,omitzero"`
	Created      time.Time `json:"created,omitzero"`
	Updated      time.Time `json:"updated,omitzero"`
	LicencePlate string    `json:"licence_plate,omitempty"`
	Note         string    `json:"note,omitempty"`
	ContractEnd  string    `json:"contract_end,omitempty"`
	// GoneAt is when a requested deletion takes effect.
	GoneAt time.Time `json:"gone_at,omitzero"`
}

type state struct {
	Fleets   map[string]string   `json:"fleets"`
	Vehicles map[string]*vehicle `json:"vehicles"`
}

// New starts a simulator serving at once.
func New(opts Options) (*Sim, error) {
	if opts.Clock == nil {
		opts.Clock = &simkit.Clock{}
	}

	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}

	if opts.Username == "" {
		opts.Username = DefaultUsername
	}

	if opts.Password == "" {
		opts.Password = DefaultPassword
	}

	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}

	if opts.FleetName == "" {
		opts.FleetName = DefaultFleetName
	}

	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		tokens:   simkit.NewTokens(opts.TokenTTL, opts.Clock),
		fleets:   map[string]string{FleetID(opts.FleetName): opts.FleetName},
		vehicles: make(map[string]*vehicle),
	}

	if opts.StatePath != "" {
		var st state
		found, err := simkit.LoadState(opts.StatePath, &st)
		if err != nil {
			return nil, err
		}

		if found {
			for id, name := range st.Fleets {
				s.fleets[id] = name
			}

			for vin, v := range st.Vehicles {
				s.vehicles[vin] = v
			}
		}
	}

	srv, err := simkit.Start(s.routes(), simkit.Options{
		Addr: opts.Addr, Limit: opts.Limit, Per: opts.Per, Clock: opts.Clock,
		RenderRateLimit: renderRateLimit,
	})
	if err != nil {
		return nil, err
	}

	s.srv = srv

	return s, nil
}

// renderRateLimit writes BMW's 429: the bare body and no wait header.
func renderRateLimit(w http.ResponseWriter, _ time.Duration) {
	simkit.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too Many Requests"})
}

// FleetID is the id the simulator gives the fleet called name: stable, so
// state files and tests can name it.
func FleetID(name string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(name))))
	h := hex.EncodeToString(sum[:])

	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// URL is the API base URL (BMW_BASE_URL).
func (s *Sim) URL() string { return s.srv.URL() }

// AuthURL is the login URL (BMW_AUTH_URL).
func (s *Sim) AuthURL() string { return s.srv.URL() + LoginPath }

// Server gives access to faults, counters and the rate limit.
func (s *Sim) Server() *simkit.Server { return s.srv }

// Tokens gives access to the issued tokens, e.g. to expire them all.
func (s *Sim) Tokens() *simkit.Tokens { return s.tokens }

// DefaultFleetID is the id of the default fleet.
func (s *Sim) DefaultFleetID() string { return FleetID(s.opts.FleetName) }

// AddFleet creates an empty fleet called name and returns its id.
func (s *Sim) AddFleet(name string) string {
	id := FleetID(name)
	s.mu.Lock()
	s.fleets[id] = name
	s.mu.Unlock()

	return id
}

// Add seeds vehicles. Spec.Initial decides the state: "active" registers
// it in the fleet named by Spec.Account (the default fleet when empty),
// "pending" registers it without a fleet (an activation left half done),
// anything else ("", "inactive", "rejected") leaves it unregistered.
// Spec.Account matters for "active" only. BMW's API has no consent step, so
// Spec.After is not used and OutcomeApprove and OutcomePending behave
// alike: an accepted fleet addition takes effect at once.
// OutcomeIneligible makes the vin-checker answer false and the
// registration 412; OutcomeReject keeps the vin-checker true but refuses
// the registration with 412 and Spec.Reason, the only refusal BMW has.
func (s *Sim) Add(specs ...simkit.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	for _, sp := range specs {
		vin := strings.ToUpper(strings.TrimSpace(sp.VIN))
		sp.VIN = vin
		v := &vehicle{Spec: sp, LicencePlate: sp.LicencePlate}
		switch sp.Initial {
		case "active":
			name := sp.Account
			if name == "" {
				name = s.opts.FleetName
			}

			id := FleetID(name)
			s.fleets[id] = name
			v.Registered, v.Fleet, v.AddedAt, v.Created, v.Updated = true, id, now, now, now
		case "pending":
			v.Registered, v.Created, v.Updated = true, now, now
		}

		s.vehicles[vin] = v
	}
}

// Record returns what BMW keeps of a registered vehicle's details: its
// licence plate, note and contract end.
func (s *Sim) Record(vin string) (plate, note, contractEnd string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, found := s.vehicles[strings.ToUpper(vin)]
	if !found || !v.Registered {
		return "", "", "", false
	}

	return v.LicencePlate, v.Note, v.ContractEnd, true
}

// State is the OEM-side state of a vehicle: "unregistered", "registered"
// (not in a fleet), "in_fleet:<fleet name>" or "deleting"; false for a VIN
// the simulator was never told about.
func (s *Sim) State(vin string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[strings.ToUpper(vin)]
	if !ok {
		return "", false
	}

	s.settle(v)
	switch {
	case !v.Registered:
		return "unregistered", true
	case !v.GoneAt.IsZero():
		return "deleting", true
	case v.Fleet != "":
		return "in_fleet:" + s.fleets[v.Fleet], true
	}

	return "registered", true
}

// settle applies a deletion whose time has come. Callers hold s.mu.
func (s *Sim) settle(v *vehicle) {
	if !v.GoneAt.IsZero() && !s.clock.Now().Before(v.GoneAt) {
		v.Registered, v.Fleet, v.AddedAt, v.GoneAt = false, "", time.Time{}, time.Time{}
	}
}

// Env returns the settings that point the connector at this simulator,
// with its fake credentials. BMW_FLEET_ID names the default fleet.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"BMW_AUTH_URL":  s.AuthURL(),
		"BMW_BASE_URL":  s.URL(),
		"BMW_CLIENT_ID": s.opts.ClientID,
		"BMW_USERNAME":  s.opts.Username,
		"BMW_PASSWORD":  s.opts.Password,
		"BMW_FLEET_ID":  s.DefaultFleetID(),
	}
}

// Save writes the state to Options.StatePath; it does nothing without one.
func (s *Sim) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}

	s.mu.Lock()
	st := state{Fleets: make(map[string]string, len(s.fleets)), Vehicles: make(map[string]*vehicle)}
	for id, n := range s.fleets {
		st.Fleets[id] = n
	}

	for vin, v := range s.vehicles {
		c := *v
		st.Vehicles[vin] = &c
	}
	s.mu.Unlock()

	return simkit.SaveState(s.opts.StatePath, st)
}

// Close saves the state, then stops the server.
func (s *Sim) Close() error {
	err := s.Save()
	s.srv.Close()

	return err
}

// fleetVINs returns the VINs in fleet id, sorted. Callers hold s.mu.
func (s *Sim) fleetVINs(id string) []string {
	var out []string
	for vin, v := range s.vehicles {
		s.settle(v)
		if v.Registered && v.Fleet == id {
			out = append(out, vin)
		}
	}

	slices.Sort(out)

	return out
}

// validVIN is the check the simulated API applies to a VIN: 17 characters
// of the VIN alphabet.
func validVIN(vin string) bool {
	v, err := oem.ParseVIN(vin)

	return err == nil && string(v) == vin
}
