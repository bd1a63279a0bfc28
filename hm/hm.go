package hm

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// Name is the connector's registered name.
const Name = "hm"

func init() {
	oem.Register(Name, oem.DriverOf(Settings(), ConfigFromEnv,
		func(cfg Config, logger *slog.Logger) (*Connector, error) {
			cfg.Logger = logger // the environment cannot carry one

			return New(cfg)
		}))
}

// Connector is the High Mobility connector. It implements oem.Connector,
// oem.EligibilityChecker, oem.BatchSizer and oem.Concurrency, and is safe
// for concurrent use.
type Connector struct {
	cfg    Config
	client *httpx.Client
	tokens *httpx.CachedToken
	words  *jsonx.Words

	mu     sync.RWMutex
	brands map[oem.VIN]string // caller-given brands, clearance names
}

// Option adjusts a Connector at construction.
type Option func(*Connector)

// WithBrands is the option form of Connector.SetBrands.
func WithBrands(m map[oem.VIN]string) Option {
	return func(c *Connector) { _ = c.SetBrands(m) }
}

// New validates cfg and builds a Connector. It makes no request: the first
// token is fetched by the first call that needs one.
func New(cfg Config, opts ...Option) (*Connector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Connector{cfg: cfg, words: &jsonx.Words{Logger: cfg.Logger}, brands: map[oem.VIN]string{}}
	c.tokens = httpx.NewCachedToken(c.fetchToken, cfg.TokenSkew)
	c.tokens.SetClock(cfg.Now)

	client, err := httpx.New(httpx.Config{
		Connector:  Name,
		BaseURL:    cfg.BaseURL,
		Transport:  cfg.Transport,
		RateLimit:  cfg.RateLimit,
		Burst:      cfg.Burst,
		MaxRetries: cfg.MaxRetries,
		MinBackoff: cfg.MinBackoff,
		MaxBackoff: cfg.MaxBackoff,
		MaxWait:    cfg.MaxWait,
		Timeout:    cfg.Timeout,
		Tokens:     c.tokens,
		Secrets:    []string{cfg.ClientSecret},
		Logger:     cfg.Logger,
		Classify:   classify,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, err
	}

	c.client = client
	if err := c.SetBrands(cfg.Brands); err != nil {
		return nil, err
	}

	for _, o := range opts {
		o(c)
	}

	return c, nil
}

// Name returns "hm".
func (c *Connector) Name() string { return Name }

// BatchSize is the most VINs sent in one activation request.
func (c *Connector) BatchSize() int { return c.cfg.BatchSize }

// Concurrency is how many requests the connector usefully has in flight.
func (c *Connector) Concurrency() int { return c.cfg.Concurrency }

// SetBrands records the brand of particular VINs, for activation and
// eligibility checks, overriding the make of their WMI. A brand may be
// spelt as a canonical make ("Mercedes-Benz") or a High Mobility name
// ("mercedes-benz", "volvo_cars", "sandbox"); an empty brand forgets the
// VIN. Entries with a brand High Mobility does not accept are skipped and
// named in the returned error (wrapping oem.ErrInvalidInput); the others
// are kept.
func (c *Connector) SetBrands(m map[oem.VIN]string) error {
	var bad []string
	set := make(map[oem.VIN]string, len(m))
	var forget []oem.VIN
	for vin, name := range m {
		if strings.TrimSpace(name) == "" {
			forget = append(forget, vin)
			continue
		}

		b, ok := ClearanceBrand(name)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: %q", vin, name))
			continue
		}

		set[vin] = b
	}

	c.mu.Lock()
	maps.Copy(c.brands, set)
	for _, v := range forget {
		delete(c.brands, v)
	}
	c.mu.Unlock()

	if len(bad) > 0 {
		return fmt.Errorf("hm: brands High Mobility does not accept: %s: %w",
			strings.Join(bad, ", "), oem.ErrInvalidInput)
	}

	return nil
}

// UseEntries takes the wanted fleet's makes as the brands of their VINs
// (oem.EntryUser); see SetBrands.
func (c *Connector) UseEntries(entries []oem.FleetEntry) error {
	brands := make(map[oem.VIN]string, len(entries))
	for _, e := range entries {
		if e.Make != "" {
			brands[e.VIN] = e.Make
		}
	}

	if len(brands) == 0 {
		return nil
	}

	return c.SetBrands(brands)
}

// brandOf returns the clearance brand for vin: the caller's, else the WMI's.
func (c *Connector) brandOf(vin oem.VIN) (string, error) {
	c.mu.RLock()
	b, ok := c.brands[vin]
	c.mu.RUnlock()
	if ok {
		return b, nil
	}

	mk := vin.Make()
	if mk == "" {
		return "", fmt.Errorf("no brand known for WMI %q (give one with SetBrands): %w",
			vin.WMI(), oem.ErrInvalidInput)
	}

	b, ok = ClearanceBrand(mk)
	if !ok {
		return "", fmt.Errorf("High Mobility does not serve %s (WMI %q): %w", mk, vin.WMI(), oem.ErrInvalidInput)
	}

	return b, nil
}

// checkVIN makes sure vin is a normalised VIN before it is sent anywhere.
func checkVIN(vin oem.VIN) error {
	v, err := oem.ParseVIN(string(vin))
	if err != nil {
		return err
	}

	if v != vin {
		return fmt.Errorf("vin %q is not normalised (want %q): %w", string(vin), v, oem.ErrInvalidInput)
	}

	return nil
}

// dedupe drops repeated VINs, keeping the first.
func dedupe(vins []oem.VIN) []oem.VIN {
	seen := make(map[oem.VIN]bool, len(vins))
	out := make([]oem.VIN, 0, len(vins))
	for _, v := range vins {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}

	return out
}

// fatal reports whether err ends a whole call rather than concerning one
// vehicle: a cancelled context, bad credentials, a spent rate limit.
func fatal(err error) bool {
	return errors.Is(err, errCanceled) || errors.Is(err, errDeadline) ||
		errors.Is(err, oem.ErrAuth) || errors.Is(err, oem.ErrLoginRequired) ||
		errors.Is(err, oem.ErrRateLimited) || errors.Is(err, oem.ErrQuotaExhausted)
}

// apiErr returns the *oem.APIError in err's chain.
func apiErr(err error) (*oem.APIError, bool) {
	var ae *oem.APIError
	ok := errors.As(err, &ae)

	return ae, ok
}
