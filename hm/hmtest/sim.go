// Package hmtest is a High Mobility simulator for tests and the sandbox. It
// speaks the wire format of shared/OEM-APIS.md section 2 and of High
// Mobility's OpenAPI files: client-credential tokens that expire, the fleet
// clearance API with slow transitions per VIN (pending, then approved or
// rejected; revoking and canceling, then revoked and canceled), the
// one-day rule on cancelling a pending clearance, the 60-calls-a-minute
// limit on reading one clearance, the eligibility API, and the vehicle data
// and static data APIs. Faults, counters and a global rate limit come from
// internal/simkit.
package hmtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// Fake credentials the simulator accepts unless told others.
const (
	FakeClientID     = "fake-hm-client-id"
	FakeClientSecret = "fake-hm-client-secret"
)

// Options set up a Sim. Every field is optional.
type Options struct {
	// Addr is the loopback address to listen on; a free port when empty.
	Addr string
	// StatePath, when set, is where the state is loaded from at New and
	// saved by Save and Close.
	StatePath string
	// Clock drives slow transitions, the one-day rule, rate-limit windows
	// and token expiry. The wall clock when nil.
	Clock *simkit.Clock
	// ClientID and ClientSecret are the accepted credentials
	// (FakeClientID, FakeClientSecret when empty).
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of tokens. Default 5 minutes, as High
	// Mobility's.
	TokenTTL time.Duration
	// CancelAfter is how old a pending clearance must be before it can be
	// cancelled. Default 24 h, as High Mobility says ("could only be
	// canceled after 1 day").
	CancelAfter time.Duration
	// TransitionAfter is how long revoking and canceling last before
	// revoked and canceled. [guess] High Mobility does not say; default
	// one hour.
	TransitionAfter time.Duration
	// CancelableBrands are the clearance brands whose pending clearances
	// can be cancelled. Default the list in the DELETE description of the
	// clearance spec: Mercedes-Benz, Volkswagen, Audi, Skoda, SEAT, CUPRA
	// and the Stellantis brands.
	CancelableBrands []string
	// VINReadLimit is how many GET /v1/fleets/vehicles/{vin} calls a
	// minute are allowed (the spec says 60, the default); negative means
	// no limit.
	VINReadLimit int
	// DataDelay is how long after approval the vehicle data API still
	// answers 422 "Pending". [guess] Default 0.
	DataDelay time.Duration
	// ZonedTimes writes changelog timestamps with a "Z". By default they
	// have no zone ("2022-03-22T09:36:51"), as in the spec's example.
	ZonedTimes bool
	// UnknownOutcome is what happens to a VIN activated that was never
	// seeded with Add. [guess] Default simkit.OutcomePending (no consent
	// ever comes).
	UnknownOutcome simkit.Outcome
}

// Sim is a running High Mobility simulator. It is safe for concurrent use.
type Sim struct {
	opts   Options
	srv    *simkit.Server
	tokens *simkit.Tokens
	clock  *simkit.Clock

	mu         sync.Mutex
	vehicles   map[string]*vehicle
	readWindow time.Time
	readCount  int
}

// vehicle is the simulator's state for one VIN.
type vehicle struct {
	Spec simkit.Spec `json:"spec"`
	// Known is false for a VIN that was only ever activated, never
	// seeded: the data APIs know nothing about it.
	Known bool `json:"known"`
	// Brand is the clearance brand; Status the clearance state ("" when
	// there is no clearance).
	Brand     string            `json:"brand,omitempty"`
	Status    string            `json:"status,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ChangedAt time.Time         `json:"changed_at"`
	Outcome   string            `json:"outcome,omitempty"`
	Changelog []logEntry        `json:"changelog,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Asleep    bool              `json:"asleep,omitempty"`
	NoData    bool              `json:"no_data,omitempty"`
}

type logEntry struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
}

type state struct {
	Vehicles map[string]*vehicle `json:"vehicles"`
}

// New starts a simulator at once.
func New(opts Options) (*Sim, error) {
	if opts.Clock == nil {
		opts.Clock = &simkit.Clock{}
	}

	if opts.ClientID == "" {
		opts.ClientID = FakeClientID
	}

	if opts.ClientSecret == "" {
		opts.ClientSecret = FakeClientSecret
	}

	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 5 * time.Minute
	}

	if opts.CancelAfter <= 0 {
		opts.CancelAfter = 24 * time.Hour
	}

	if opts.TransitionAfter <= 0 {
		opts.TransitionAfter = time.Hour
	}

	if opts.CancelableBrands == nil {
		opts.CancelableBrands = []string{"mercedes-benz", "volkswagen", "audi", "skoda", "seat", "cupra",
			"citroen", "ds", "opel", "peugeot", "vauxhall", "jeep", "fiat", "alfaromeo", "maserati"}
	}

	if opts.VINReadLimit == 0 {
		opts.VINReadLimit = 60
	}

	if opts.UnknownOutcome == "" {
		opts.UnknownOutcome = simkit.OutcomePending
	}

	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		tokens:   simkit.NewTokens(opts.TokenTTL, opts.Clock),
		vehicles: make(map[string]*vehicle),
	}

	if opts.StatePath != "" {
		var st state
		if _, err := simkit.LoadState(opts.StatePath, &st); err != nil {
			return nil, err
		}

		if st.Vehicles != nil {
			s.vehicles = st.Vehicles
		}
	}

	srv, err := simkit.Start(s.routes(), simkit.Options{
		Addr:            opts.Addr,
		Clock:           opts.Clock,
		RenderRateLimit: renderRateLimit,
	})
	if err != nil {
		return nil, err
	}

	s.srv = srv

	return s, nil
}

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/access_tokens", s.handleToken)
	// Some of High Mobility's pages name the singular path.
	mux.HandleFunc("POST /v1/access_token", s.handleToken)
	mux.HandleFunc("POST /v1/fleets/vehicles", s.auth(s.handleCreate, fleetUnauthorized))
	mux.HandleFunc("GET /v1/fleets/vehicles", s.auth(s.handleList, fleetUnauthorized))
	mux.HandleFunc("GET /v1/fleets/vehicles/{vin}", s.auth(s.handleGet, fleetUnauthorized))
	mux.HandleFunc("DELETE /v1/fleets/vehicles/{vin}", s.auth(s.handleDelete, fleetUnauthorized))
	mux.HandleFunc("POST /v1/eligibility", s.auth(s.handleEligibility, fleetUnauthorized))
	mux.HandleFunc("GET /v1/vehicle-data/autoapi-13/{vin}", s.auth(s.handleVehicleData, dataUnauthorized))
	mux.HandleFunc("GET /v1/vehicle-static-data/{vin}/data", s.auth(s.handleStaticData, dataUnauthorized))

	return mux
}

// URL is the simulator's base URL.
func (s *Sim) URL() string { return s.srv.URL() }

// Server gives access to faults, counters and the global rate limit.
func (s *Sim) Server() *simkit.Server { return s.srv }

// Tokens gives access to the issued tokens (ExpireAll, SetTTL).
func (s *Sim) Tokens() *simkit.Tokens { return s.tokens }

// Clock is the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Env returns the settings that point the hm connector at this simulator,
// with the fake credentials it accepts.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"HM_BASE_URL":      s.URL(),
		"HM_CLIENT_ID":     s.opts.ClientID,
		"HM_CLIENT_SECRET": s.opts.ClientSecret,
	}
}

// Add seeds vehicles. Spec.Initial gives the clearance state at once: ""
// (no clearance), "active" (approved), "pending", "rejected" (with
// Spec.Reason) or "inactive" (revoked). A seeded pending clearance is
// created now, so the one-day rule applies to it. An empty Spec.Outcome is
// simkit.OutcomeApprove: a pending clearance is approved Spec.After after
// its creation (at once when After is zero).
func (s *Sim) Add(specs ...simkit.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	for _, sp := range specs {
		vin := strings.ToUpper(strings.TrimSpace(sp.VIN))
		sp.VIN = vin
		v := &vehicle{Spec: sp, Known: true, Brand: clearanceBrand(sp.Make), Outcome: string(sp.Outcome)}
		if v.Outcome == "" {
			v.Outcome = string(simkit.OutcomeApprove)
		}

		day := 24 * time.Hour
		switch sp.Initial {
		case "active", "approved":
			v.setLog(now.Add(-2*day), "pending", "")
			v.setLog(now.Add(-day), "approved", "")
			v.CreatedAt = now.Add(-2 * day)
		case "pending":
			v.setLog(now, "pending", "")
			v.CreatedAt = now
		case "rejected":
			v.setLog(now.Add(-2*day), "pending", "")
			v.setLog(now.Add(-day), "rejected", reasonOr(sp.Reason, "unspecified"))
			v.CreatedAt = now.Add(-2 * day)
		case "inactive", "revoked":
			v.setLog(now.Add(-3*day), "pending", "")
			v.setLog(now.Add(-2*day), "approved", "")
			v.setLog(now.Add(-day), "revoked", "")
			v.CreatedAt = now.Add(-3 * day)
		}

		s.vehicles[vin] = v
	}
}

// State returns the High Mobility clearance state of a VIN ("pending",
// "approved", "revoking", ...), after any transition due on the clock, and
// whether the simulator has a clearance for it.
func (s *Sim) State(vin string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[strings.ToUpper(strings.TrimSpace(vin))]
	if !ok || v.Status == "" {
		return "", false
	}

	s.advance(v, s.clock.Now())

	return v.Status, true
}

// SetAsleep makes the vehicle data API answer 408 for vin (asleep or
// offline) until cleared.
func (s *Sim) SetAsleep(vin string, asleep bool) {
	s.with(vin, func(v *vehicle) { v.Asleep = asleep })
}

// SetNoData makes the vehicle data API answer 422 "Pending" for vin
// (approved, no data delivered yet) until cleared.
func (s *Sim) SetNoData(vin string, noData bool) {
	s.with(vin, func(v *vehicle) { v.NoData = noData })
}

func (s *Sim) with(vin string, f func(*vehicle)) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if v, ok := s.vehicles[strings.ToUpper(strings.TrimSpace(vin))]; ok {
		f(v)
	}
}

// Save writes the state to StatePath; it does nothing without one.
func (s *Sim) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}

	s.mu.Lock()
	st := state{Vehicles: s.vehicles}
	err := simkit.SaveState(s.opts.StatePath, st)
	s.mu.Unlock()

	return err
}

// Close saves the state and stops the server.
func (s *Sim) Close() error {
	err := s.Save()
	s.srv.Close()

	return err
}

// setLog moves the clearance to status at t, with a changelog entry.
func (v *vehicle) setLog(t time.Time, status, reason string) {
	v.Status = status
	v.ChangedAt = t
	v.Changelog = append(v.Changelog, logEntry{At: t, Status: status, Reason: reason})
}

// advance applies the transitions due at now. Callers hold s.mu.
func (s *Sim) advance(v *vehicle, now time.Time) {
	switch v.Status {
	case "pending":
		at := v.CreatedAt.Add(v.Spec.After)
		switch simkit.Outcome(v.Outcome) {
		case simkit.OutcomeApprove:
			if !now.Before(at) {
				v.setLog(at, "approved", "")
			}
		case simkit.OutcomeReject:
			if !now.Before(at) {
				v.setLog(at, "rejected", reasonOr(v.Spec.Reason, "unspecified"))
			}
		case simkit.OutcomeIneligible:
			v.setLog(v.CreatedAt, "rejected", reasonOr(v.Spec.Reason, "ineligible VIN"))
		}
	case "revoking":
		if at := v.ChangedAt.Add(s.opts.TransitionAfter); !now.Before(at) {
			v.setLog(at, "revoked", "")
		}
	case "canceling":
		if at := v.ChangedAt.Add(s.opts.TransitionAfter); !now.Before(at) {
			v.setLog(at, "canceled", "")
		}
	}
}

// sortedVINs lists the VINs in a stable order. Callers hold s.mu.
func (s *Sim) sortedVINs() []string {
	out := make([]string, 0, len(s.vehicles))
	for vin := range s.vehicles {
		out = append(out, vin)
	}

	sort.Strings(out)

	return out
}

func (s *Sim) timestamp(t time.Time) string {
	if s.opts.ZonedTimes {
		return t.UTC().Format(time.RFC3339)
	}

	return t.UTC().Format("2006-01-02T15:04:05")
}

func reasonOr(r, def string) string {
	if r != "" {
		return r
	}

	return def
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)

	return hex.EncodeToString(b)
}

// clearanceBrands maps canonical makes to the clearance API's brand names.
var clearanceBrands = map[string]string{
	"BMW": "bmw", "MINI": "mini", "Mercedes-Benz": "mercedes-benz", "Citroën": "citroen",
	"DS": "ds", "Opel": "opel", "Peugeot": "peugeot", "Vauxhall": "vauxhall", "Jeep": "jeep",
	"Fiat": "fiat", "Alfa Romeo": "alfaromeo", "Maserati": "maserati", "Ford": "ford",
	"Renault": "renault", "Dacia": "dacia", "Toyota": "toyota", "Lexus": "lexus",
	"Porsche": "porsche", "Kia": "kia", "Tesla": "tesla", "Volvo": "volvo-cars",
	"Polestar": "polestar", "Škoda": "skoda", "Audi": "audi", "Volkswagen": "volkswagen",
	"SEAT": "seat", "Cupra": "cupra",
}

// dataBrands maps clearance names to the vehicle data API's brand enum;
// brands missing from that enum are answered as "unknown".
var dataBrands = map[string]string{
	"bmw": "bmw", "mini": "mini", "mercedes-benz": "mercedes_benz", "citroen": "citroen", "ds": "ds",
	"opel": "opel", "peugeot": "peugeot", "jeep": "jeep", "fiat": "fiat", "alfaromeo": "alfaromeo",
	"ford": "ford", "renault": "renault", "dacia": "dacia", "toyota": "toyota", "lexus": "lexus",
	"porsche": "porsche", "kia": "kia", "volvo-cars": "volvo_cars", "skoda": "skoda", "audi": "audi",
	"volkswagen": "volkswagen", "seat": "seat", "cupra": "cupra", "sandbox": "sandbox",
}

// eligibilityBrands is the eligibility API's brand enum.
var eligibilityBrands = map[string]bool{
	"mercedes-benz": true, "ford": true, "bmw": true, "mini": true, "citroen": true, "peugeot": true,
	"opel": true, "vauxhall": true, "ds": true, "jeep": true, "fiat": true, "alfaromeo": true,
	"renault": true, "toyota": true, "lexus": true, "volvo-cars": true, "sandbox": true,
}

func clearanceBrand(make string) string { return clearanceBrands[make] }

func validClearanceBrand(b string) bool {
	if b == "sandbox" {
		return true
	}

	for _, v := range clearanceBrands {
		if v == b {
			return true
		}
	}

	return false
}

func (s *Sim) cancelable(brand string) bool {
	for _, b := range s.opts.CancelableBrands {
		if b == brand {
			return true
		}
	}

	return false
}
