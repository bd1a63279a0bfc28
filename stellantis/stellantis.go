// Package stellantis is the connector for Stellantis vehicles (Peugeot,
// Citroën, DS, Opel, Vauxhall, Fiat, Jeep, Alfa Romeo, Lancia, Abarth)
// through the Mobilisights "Connected Fleet" API.
//
// The fleet is read from the contracts, page by page; a vehicle is
// activated by making a contract for it and putting that contract in the
// fleet, and deactivated by deleting its contract. Eligibility is checked in
// batches (the oem.EligibilityChecker capability). Descriptions come from
// the car-states export, read as a stream, plus the make the VIN's WMI names
// and the model the contract's car carries.
//
// The package registers itself as "stellantis"; import it for its side
// effect and open it with oem.Open or oem.OpenFromEnv, or build one with
// New. The simulator in stellantistest speaks the same wire.
package stellantis

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Name is the connector's registered name.
const Name = "stellantis"

func init() {
	oem.Register(Name, oem.DriverOf(Settings(), ConfigFromEnv,
		func(cfg Config, logger *slog.Logger) (*Connector, error) {
			cfg.Logger = logger // the environment cannot carry one

			return New(cfg)
		}))
}

// Option changes the Config given to New.
type Option func(*Config)

// WithLogger sets Config.Logger.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithClock sets Config.Now.
func WithClock(now func() time.Time) Option { return func(c *Config) { c.Now = now } }

// WithTransport sets Config.Transport.
func WithTransport(rt http.RoundTripper) Option { return func(c *Config) { c.Transport = rt } }

// WithBackoff sets the retry backoff bounds (tests use a few milliseconds).
func WithBackoff(lo, hi time.Duration) Option {
	return func(c *Config) { c.MinBackoff, c.MaxBackoff = lo, hi }
}

// Connector talks to the Mobilisights Connected Fleet API. It implements
// oem.Connector, oem.EligibilityChecker, oem.BatchSizer and
// oem.Concurrency, and is safe for concurrent use.
type Connector struct {
	cfg    Config
	http   *httpx.Client
	export *httpx.Client // for the car-states stream only
	tokens *httpx.CachedToken
	words  *jsonx.Words
	log    *slog.Logger
}

var (
	_ oem.Connector          = (*Connector)(nil)
	_ oem.EligibilityChecker = (*Connector)(nil)
	_ oem.BatchSizer         = (*Connector)(nil)
	_ oem.Concurrency        = (*Connector)(nil)
)

// New validates cfg (after applying opts) and builds a Connector. It sends
// nothing: the first call logs in.
func New(cfg Config, opts ...Option) (*Connector, error) {
	for _, o := range opts {
		o(&cfg)
	}

	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Connector{cfg: cfg, log: cfg.Logger, words: &jsonx.Words{Logger: cfg.Logger}}
	c.tokens = httpx.NewCachedToken(c.login, time.Minute)
	c.tokens.SetClock(cfg.Now)

	hcfg := httpx.Config{
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
	}
	hc, err := httpx.New(hcfg)
	if err != nil {
		return nil, err
	}

	// The export is one long streamed answer: the same stack and token,
	// with a longer bound than the other calls' Timeout (which covers
	// reading the body too).
	hcfg.Timeout = cfg.ExportTimeout
	ec, err := httpx.New(hcfg)
	if err != nil {
		return nil, err
	}

	c.http, c.export = hc, ec

	return c, nil
}

// Name returns "stellantis".
func (c *Connector) Name() string { return Name }

// BatchSize returns Config.BatchSize.
func (c *Connector) BatchSize() int { return c.cfg.BatchSize }

// Concurrency returns Config.Concurrency.
func (c *Connector) Concurrency() int { return c.cfg.Concurrency }

// mapStatus maps a contract status word as OEM-APIS.md says: activated is
// active, pending is pending, cancelled is inactive (case aside), any
// other word is unknown (logged once per word). [guess] "rejected" and
// "refused" are taken as rejected: OEM-APIS.md names no refusal word, and
// leaving a plain refusal unknown would keep the vehicle out of the
// rejected cool-down for ever.
func (c *Connector) mapStatus(raw string) oem.Status {
	switch strings.ToLower(jsonx.Collapse(raw)) {
	case "activated":
		return oem.StatusActive
	case "pending":
		return oem.StatusPending
	case "cancelled":
		return oem.StatusInactive
	case "rejected", "refused":
		return oem.StatusRejected
	}

	c.words.Unknown("contract.status", raw)

	return oem.StatusUnknown
}
