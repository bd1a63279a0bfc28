// Package bmw is the connector for BMW's fleet data API (OEM-APIS.md
// section 1): a Cognito user-password login whose IdToken is the bearer,
// one fleet of the account (BMW_FLEET_ID, or the fleet named after the
// owner), activation as eligibility check, registration and addition to
// the fleet, deactivation as deletion, and descriptions from the vehicle
// data endpoint.
//
// Statuses: a vehicle in the fleet's list is active; one registered but not
// in the fleet is pending (an activation left half done; the next Activate
// finishes it); one BMW does not know (404) is inactive; one whose head
// unit is too old is ineligible.
//
// Importing the package registers it as "bmw" with oem.Register.
package bmw

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Name is the connector's registered name.
const Name = "bmw"

func init() {
	oem.Register(Name, oem.DriverOf(Settings(), ConfigFromEnv,
		func(cfg Config, logger *slog.Logger) (*Connector, error) {
			cfg.Logger = logger // the environment cannot carry one

			return New(cfg)
		}))
}

// Connector talks to BMW's fleet data API. It implements oem.Connector,
// oem.EligibilityChecker, oem.BatchSizer and oem.Concurrency, and is safe
// for concurrent use.
type Connector struct {
	cfg    Config
	http   *httpx.Client
	tokens *httpx.CachedToken
	log    *slog.Logger
	words  *jsonx.Words

	fleetMu sync.Mutex
	fleet   *fleetRef // resolved once, then kept

	// checked remembers vin-checker answers for eligibilityTTL, so the
	// activation right after an eligibility check does not ask again:
	// every BMW call is billed.
	checked sync.Map // oem.VIN → checkedAnswer

	// entries holds the wanted fleet's details per VIN (oem.EntryUser),
	// sent with each registration.
	entries sync.Map // oem.VIN → oem.FleetEntry
}

// UseEntries keeps the wanted fleet's licence plates, owners and contract
// ends, to send with each vehicle's registration (oem.EntryUser).
func (c *Connector) UseEntries(entries []oem.FleetEntry) error {
	for _, e := range entries {
		c.entries.Store(e.VIN, e)
	}

	return nil
}

// registration body for vin, with what the wanted fleet says of it.
func (c *Connector) registerBody(vin oem.VIN) registerRequest {
	body := registerRequest{VIN: string(vin)}
	v, ok := c.entries.Load(vin)
	if !ok {
		return body
	}

	e := v.(oem.FleetEntry)
	body.LicencePlate = e.LicencePlate
	body.Note = e.Owner
	if !e.EndDate.IsZero() {
		body.Contract = &registerContract{EndDate: e.EndDate.Format(time.DateOnly)}
	}

	return body
}

// Option adjusts a Connector at construction.
type Option func(*Config)

// WithLogger sets the logger (Config.Logger).
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithTransport sets the HTTP round tripper (Config.Transport).
func WithTransport(rt http.RoundTripper) Option { return func(c *Config) { c.Transport = rt } }

// New validates cfg and builds a Connector. It makes no request: the login
// and the fleet lookup happen on the first call that needs them.
func New(cfg Config, opts ...Option) (*Connector, error) {
	for _, o := range opts {
		o(&cfg)
	}

	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Connector{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}

	c.words = &jsonx.Words{Logger: c.log}
	c.tokens = httpx.NewCachedToken(c.login, 0)
	c.tokens.SetClock(cfg.Now)

	hc, err := httpx.New(httpx.Config{
		Connector:  Name,
		BaseURL:    cfg.BaseURL,
		Transport:  cfg.Transport,
		RateLimit:  cfg.RateLimit,
		MaxRetries: cfg.MaxRetries,
		MinBackoff: cfg.MinBackoff,
		MaxBackoff: cfg.MaxBackoff,
		MaxWait:    cfg.MaxWait,
		Timeout:    cfg.Timeout,
		Tokens:     c.tokens,
		Secrets:    []string{cfg.Password},
		Logger:     cfg.Logger,
		Classify:   classify,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, err
	}

	c.http = hc

	return c, nil
}

// Name returns "bmw".
func (c *Connector) Name() string { return Name }

// BatchSize is Config.BatchSize (25 by default).
func (c *Connector) BatchSize() int { return c.cfg.BatchSize }

// Concurrency is Config.Concurrency (4 by default).
func (c *Connector) Concurrency() int { return c.cfg.Concurrency }

var (
	_ oem.Connector          = (*Connector)(nil)
	_ oem.EligibilityChecker = (*Connector)(nil)
	_ oem.BatchSizer         = (*Connector)(nil)
	_ oem.Concurrency        = (*Connector)(nil)
)
