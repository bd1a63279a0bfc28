// Package renault is the connector for Renault Group's B2B vehicle API. It
// logs in with OAuth2 client credentials and a client assertion signed by
// the RSA key of a PKCS#12 bundle (private_key_jwt, no mutual TLS), and
// describes vehicles from the vehicle-information and WLTP calls.
//
// Renault vehicles are not activated here: Renault Group shares their data
// through High Mobility, so a program that wants both activates them with
// the hm connector and describes them with this one (see
// examples/renault-via-hm). Activate and Deactivate answer
// oem.ErrNotSupported per vehicle, and Fleet lists nothing, because the API
// has no listing.
//
// The package registers itself as "renault"; the settings are in Settings.
package renault

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Name is the connector's registered name.
const Name = "renault"

func init() {
	oem.Register(Name, oem.DriverOf(Settings(), ConfigFromEnv,
		func(cfg Config, logger *slog.Logger) (*Connector, error) {
			cfg.Logger = logger // the environment cannot carry one

			return New(cfg)
		}))
}

// Connector is the Renault connector. It is safe for concurrent use.
type Connector struct {
	cfg    Config
	hc     *httpx.Client
	tokens *httpx.CachedToken
	creds  *credentials
}

var (
	_ oem.Connector   = (*Connector)(nil)
	_ oem.BatchSizer  = (*Connector)(nil)
	_ oem.Concurrency = (*Connector)(nil)
)

// Option adjusts a Connector beyond its Config.
type Option func(*options)

type options struct {
	tokenSkew time.Duration
}

// WithTokenSkew sets how long before its expiry a bearer token is renewed
// (default 30 s).
func WithTokenSkew(d time.Duration) Option {
	return func(o *options) { o.tokenSkew = d }
}

// New validates cfg, opens the PKCS#12 bundle and builds the connector. It
// sends no request; the first call logs in. A bundle that cannot be opened
// is a *CredentialError naming the cause (wrong password, no RSA key,
// unreadable), never the secret.
func New(cfg Config, opts ...Option) (*Connector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	cfg.TokenURL = strings.TrimSpace(cfg.TokenURL)
	if err := checkTokenURL(cfg.TokenURL); err != nil {
		return nil, err
	}

	var o options
	for _, opt := range opts {
		opt(&o)
	}

	bundle, err := cfg.bundle()
	if err != nil {
		return nil, err
	}

	key, cert, err := LoadKey(bundle, cfg.PKCS12Password)
	if err != nil {
		return nil, err
	}

	creds := &credentials{
		key: key, cert: cert, keyID: cfg.KeyID, clientID: cfg.ClientID,
		tokenURL: cfg.TokenURL, scope: cfg.Scope, now: cfg.Now,
	}

	c := &Connector{cfg: cfg, creds: creds}

	// The login needs the client and the client needs the login: the
	// token function finds the client through this variable.
	var hc *httpx.Client
	c.tokens = httpx.NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		return creds.token(ctx, hc)
	}, o.tokenSkew)
	c.tokens.SetClock(cfg.Now)

	hc, err = httpx.New(httpx.Config{
		Connector:  Name,
		BaseURL:    cfg.APIURL,
		Transport:  cfg.Transport,
		RateLimit:  cfg.RateLimit,
		Burst:      cfg.Burst,
		MaxRetries: cfg.MaxRetries,
		MinBackoff: cfg.MinBackoff,
		MaxBackoff: cfg.MaxBackoff,
		MaxWait:    cfg.MaxWait,
		Timeout:    cfg.Timeout,
		Header:     http.Header{"apiKey": {cfg.APIKey}},
		Secrets:    []string{cfg.APIKey, cfg.PKCS12Password},
		Logger:     cfg.Logger,
		Classify:   classifier(httpx.NewRedactor(cfg.APIKey, cfg.PKCS12Password)),
		Tokens:     c.tokens,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, err
	}

	c.hc = hc

	return c, nil
}

// Name returns "renault".
func (c *Connector) Name() string { return Name }

// BatchSize is the most VINs the Ingester should send in one call.
func (c *Connector) BatchSize() int { return c.cfg.BatchSize }

// Concurrency is how many calls the Ingester may have in flight at once.
func (c *Connector) Concurrency() int { return c.cfg.Concurrency }

// Certificate returns the client certificate of the PKCS#12 bundle, for
// programs that want to show which one is in use (its serial, its expiry).
func (c *Connector) Certificate() *x509.Certificate { return c.creds.cert }

// checkTokenURL accepts an absolute http(s) URL with a host.
func checkTokenURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s: config: token URL %q is not an http(s) URL: %w", Name, s,
			oem.ErrInvalidInput)
	}

	return nil
}
