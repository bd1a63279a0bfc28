// Package renaulttest is a simulator of Renault Group's B2B vehicle API for
// tests and the sandbox. It verifies client assertions for real (RS256
// signature against the client certificate, kid, issuer and subject,
// audience, expiry window, jti never reused), issues bearer tokens that
// expire on its clock, checks the apiKey header and the bearer on every
// call, and answers the vehicle-information and WLTP calls in Renault's
// wire format, quirks included (version codes with embedded newlines,
// empty strings for absent values, a battery capacity of 0 for unknown,
// error JSON nested inside a string). Faults, rate limits and counters come
// from internal/simkit.
package renaulttest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// The endpoints as the counters name them.
const (
	EndpointVehicle = "GET /vehicle-information/v1/vehicles/{vin}"
	EndpointWLTP    = "GET /import-vehicle-info/v1/wltp/vin"
)

// DefaultTokenPath is where the simulator serves its token endpoint.
// [guess] The real token host and path are not known from the old module's
// evidence (they came from its configuration); Options.TokenPath changes it.
const DefaultTokenPath = "/auth/oauth2/token"

// AssertionType is the only client_assertion_type the token endpoint takes.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Obviously fake defaults for the credentials the simulator hands out.
const (
	DefaultClientID = "fake-renault-client"
	DefaultKeyID    = "fake-renault-kid"
	DefaultAPIKey   = "fake-renault-api-key"
	DefaultScope    = "fake-renault-scope"
	DefaultPassword = "fake-pkcs12-password"
)

// Options set up a Sim. Every field is optional.
type Options struct {
	// Addr is the loopback address to listen on; a free port when empty.
	Addr string
	// StatePath, when set, is where the vehicles are loaded from at New and
	// saved to by Save and Close.
	StatePath string
	// Clock drives token expiry and the assertion time checks; the wall
	// clock when nil.
	Clock *simkit.Clock

	// ClientID, KeyID, APIKey and Scope are what the simulator expects
	// (defaults DefaultClientID, DefaultKeyID, DefaultAPIKey,
	// DefaultScope). NoScope makes it accept any scope, or none.
	ClientID, KeyID, APIKey, Scope string
	NoScope                        bool
	// Password protects the PKCS#12 bundle Env hands out (DefaultPassword).
	Password string
	// Key and Certificate are the client's key pair: the certificate
	// verifies assertions signed under KeyID, and both go into the bundle
	// Env hands out. Set both or neither; when neither, a key pair
	// generated once per process is used.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate

	// TokenTTL is the bearer token lifetime (1 hour).
	TokenTTL time.Duration
	// TokenPath is the token endpoint's path (DefaultTokenPath).
	TokenPath string
	// MaxAssertionLifetime is the longest exp - iat accepted (5 minutes).
	// [guess] The old module signed for 300 s; the real limit is not known.
	MaxAssertionLifetime time.Duration
	// Leeway is the clock skew allowed on iat and exp (30 s). [guess]
	Leeway time.Duration
	// MessyCodes sends version codes with embedded newlines and padding,
	// as Renault's consumer API does. [seen]
	MessyCodes bool
	// NestedErrors sends error bodies as JSON inside a JSON string. [seen]
	NestedErrors bool
}

// Sim is a running Renault simulator. It is safe for concurrent use.
type Sim struct {
	opts   Options
	clock  *simkit.Clock
	srv    *simkit.Server
	tokens *simkit.Tokens
	bundle []byte // the PKCS#12 (DER) Env hands out; nil without a key

	mu         sync.Mutex
	vehicles   map[string]*vehicle
	trusted    map[string]*x509.Certificate // by kid
	jtis       map[string]time.Time         // used jti → when it may be forgotten
	assertions []Assertion
}

// vehicle is one vehicle the API knows, with the members tests replaced.
type vehicle struct {
	Spec simkit.Spec `json:"spec"`
	// Info and WLTP replace or add members of the two answers; a member
	// set to Absent is left out.
	Info map[string]json.RawMessage `json:"info,omitempty"`
	WLTP map[string]json.RawMessage `json:"wltp,omitempty"`
	// NoWLTP makes the WLTP call answer 404.
	NoWLTP bool `json:"noWltp,omitempty"`
}

// Absent, as a Patch value, removes the member from the answer.
var Absent = json.RawMessage(`"\u0000absent"`)

// Assertion is a client assertion the token endpoint accepted.
type Assertion struct {
	Header map[string]any
	Claims map[string]any
	// Raw is the compact JWT as sent.
	Raw string
}

// New starts a simulator.
func New(opts Options) (*Sim, error) {
	if err := defaults(&opts); err != nil {
		return nil, err
	}

	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		tokens:   simkit.NewTokens(opts.TokenTTL, opts.Clock),
		vehicles: make(map[string]*vehicle),
		trusted:  map[string]*x509.Certificate{opts.KeyID: opts.Certificate},
		jtis:     make(map[string]time.Time),
	}

	bundle, err := pkcs12.Modern2023.Encode(opts.Key, opts.Certificate, nil, opts.Password)
	if err != nil {
		return nil, fmt.Errorf("renaulttest: encode the client bundle: %w", err)
	}

	s.bundle = bundle

	if opts.StatePath != "" {
		var saved []*vehicle
		if _, err := simkit.LoadState(opts.StatePath, &saved); err != nil {
			return nil, err
		}

		for _, v := range saved {
			s.vehicles[v.Spec.VIN] = v
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+opts.TokenPath, s.handleToken)
	mux.HandleFunc(EndpointVehicle, s.handleVehicle)
	mux.HandleFunc(EndpointWLTP, s.handleWLTP)

	srv, err := simkit.Start(mux, simkit.Options{
		Addr: opts.Addr, Clock: opts.Clock, RenderRateLimit: s.renderRateLimit,
	})
	if err != nil {
		return nil, err
	}

	s.srv = srv

	return s, nil
}

func defaults(o *Options) error {
	if o.Clock == nil {
		o.Clock = &simkit.Clock{}
	}

	set := func(dst *string, def string) {
		if *dst == "" {
			*dst = def
		}
	}
	set(&o.ClientID, DefaultClientID)
	set(&o.KeyID, DefaultKeyID)
	set(&o.APIKey, DefaultAPIKey)
	set(&o.Password, DefaultPassword)
	set(&o.TokenPath, DefaultTokenPath)
	if !o.NoScope {
		set(&o.Scope, DefaultScope)
	}

	if !strings.HasPrefix(o.TokenPath, "/") {
		o.TokenPath = "/" + o.TokenPath
	}

	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}

	if o.MaxAssertionLifetime <= 0 {
		o.MaxAssertionLifetime = 5 * time.Minute
	}

	if o.Leeway <= 0 {
		o.Leeway = 30 * time.Second
	}

	switch {
	case o.Key == nil && o.Certificate == nil:
		key, cert, err := sharedKeyPair()
		if err != nil {
			return err
		}

		o.Key, o.Certificate = key, cert
	case o.Certificate == nil:
		return errors.New("renaulttest: Options.Key needs its Certificate")
	case o.Key == nil:
		return errors.New("renaulttest: Options.Certificate needs its Key")
	}

	return nil
}

// URL is the base URL of the API (RENAULT_API_URL).
func (s *Sim) URL() string { return s.srv.URL() }

// TokenURL is the token endpoint's URL (RENAULT_TOKEN_URL), which is also
// the audience assertions must name.
func (s *Sim) TokenURL() string { return s.srv.URL() + s.opts.TokenPath }

// Server gives faults, counters and the rate limit.
func (s *Sim) Server() *simkit.Server { return s.srv }

// Tokens gives the bearer tokens, to expire them in tests.
func (s *Sim) Tokens() *simkit.Tokens { return s.tokens }

// Clock is the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Bundle returns the client's PKCS#12 bundle (DER, modern encoding) and its
// password, as Env hands them out in base64.
func (s *Sim) Bundle() ([]byte, string) { return slices.Clone(s.bundle), s.opts.Password }

// Env returns the settings that point the renault connector at the
// simulator, with obviously fake credentials.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"RENAULT_PKCS12":          base64.StdEncoding.EncodeToString(s.bundle),
		"RENAULT_PKCS12_PASSWORD": s.opts.Password,
		"RENAULT_KID":             s.opts.KeyID,
		"RENAULT_CLIENT_ID":       s.opts.ClientID,
		"RENAULT_TOKEN_URL":       s.TokenURL(),
		"RENAULT_SCOPE":           s.opts.Scope,
		"RENAULT_API_URL":         s.URL(),
		"RENAULT_API_KEY":         s.opts.APIKey,
	}
}

// Trust makes the token endpoint accept assertions signed with cert's key
// under kid, beside the configured one.
func (s *Sim) Trust(kid string, cert *x509.Certificate) {
	s.mu.Lock()
	s.trusted[kid] = cert
	s.mu.Unlock()
}

// Add seeds vehicles. A spec with a VIN the simulator knows replaces it.
func (s *Sim) Add(specs ...simkit.Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for _, sp := range specs {
		vin := strings.ToUpper(strings.TrimSpace(sp.VIN))
		sp.VIN = vin
		s.vehicles[vin] = &vehicle{Spec: sp}
	}
}

// PatchVehicle replaces or adds members of the vehicle-information answer
// for vin (each value is marshalled; a json.RawMessage is sent as is;
// Absent removes the member). It reports false for an unknown VIN.
func (s *Sim) PatchVehicle(vin string, members map[string]any) bool {
	return s.patch(vin, members, func(v *vehicle) *map[string]json.RawMessage { return &v.Info })
}

// PatchWLTP does for the WLTP answer what PatchVehicle does for the
// vehicle-information answer.
func (s *Sim) PatchWLTP(vin string, members map[string]any) bool {
	return s.patch(vin, members, func(v *vehicle) *map[string]json.RawMessage { return &v.WLTP })
}

// RemoveWLTP makes the WLTP call answer 404 for vin, as for a vehicle
// Renault has no WLTP record of.
func (s *Sim) RemoveWLTP(vin string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[strings.ToUpper(vin)]
	if ok {
		v.NoWLTP = true
	}

	return ok
}

func (s *Sim) patch(vin string, members map[string]any,
	field func(*vehicle) *map[string]json.RawMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[strings.ToUpper(vin)]
	if !ok {
		return false
	}

	m := field(v)
	if *m == nil {
		*m = make(map[string]json.RawMessage)
	}

	for k, val := range members {
		raw, isRaw := val.(json.RawMessage)
		if !isRaw {
			b, err := json.Marshal(val)
			if err != nil {
				panic(fmt.Sprintf("renaulttest: patch %s: %v", k, err))
			}

			raw = b
		}

		(*m)[k] = raw
	}

	return true
}

// State returns "known" for a vehicle the API knows. Renault's API has no
// activation state of its own: activation goes through High Mobility.
func (s *Sim) State(vin string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, ok := s.vehicles[strings.ToUpper(vin)]; ok {
		return "known", true
	}

	return "", false
}

// Assertions returns the client assertions the token endpoint accepted, in
// order.
func (s *Sim) Assertions() []Assertion {
	s.mu.Lock()
	defer s.mu.Unlock()

	return slices.Clone(s.assertions)
}

// Save writes the vehicles to Options.StatePath; it does nothing without
// one.
func (s *Sim) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}

	s.mu.Lock()
	vins := slices.Sorted(maps.Keys(s.vehicles))
	saved := make([]*vehicle, 0, len(vins))
	for _, vin := range vins {
		saved = append(saved, s.vehicles[vin])
	}
	b, err := json.Marshal(saved) // a deep copy taken under the lock
	s.mu.Unlock()

	if err != nil {
		return fmt.Errorf("renaulttest: save: %w", err)
	}

	return simkit.SaveState(s.opts.StatePath, json.RawMessage(b))
}

// Close saves the state, then stops the server.
func (s *Sim) Close() error {
	err := s.Save()
	s.srv.Close()

	return err
}

// validVIN reports whether vin is a well-formed VIN, as Renault checks it.
func validVIN(vin string) bool {
	v, err := oem.ParseVIN(vin)
	return err == nil && string(v) == vin
}
