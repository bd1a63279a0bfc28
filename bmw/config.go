package bmw

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// Defaults of the optional Config fields.
const (
	DefaultConcurrency = 4
	DefaultBatchSize   = 25
)

// Config configures the BMW connector. AuthURL, BaseURL, ClientID, Username
// and Password are required; the rest is optional tuning.
type Config struct {
	// AuthURL is the Cognito user-pool endpoint the login is posted to
	// (BMW_AUTH_URL). Required.
	AuthURL string
	// BaseURL is the fleet data API's base URL (BMW_BASE_URL). Required.
	BaseURL string
	// ClientID is the Cognito app client id (BMW_CLIENT_ID). Required.
	ClientID string
	// Username and Password are the fleet account's login (BMW_USERNAME,
	// BMW_PASSWORD). Required; the password is never logged.
	Username string
	Password string
	// FleetID is the fleet to list and to add vehicles to (BMW_FLEET_ID).
	// When empty the fleet is found by FleetName in GET /fleet.
	FleetID string
	// FleetName is the owner whose fleet is used when FleetID is empty
	// (BMW_FLEET_NAME): the fleet whose name equals it, trimmed and
	// case-insensitive. When both are empty the account must have exactly
	// one fleet. Default empty.
	FleetName string

	// RateLimit is the steady request rate sent to BMW, per second
	// (BMW_RATE_LIMIT); 0, the default, means no client-side limit.
	RateLimit float64
	// Concurrency is how many calls the Ingester should have in flight at
	// once (BMW_CONCURRENCY); default 4.
	Concurrency int
	// BatchSize is the most VINs one Activate, Deactivate or Describe call
	// takes from the Ingester; default 25. The calls are per vehicle at
	// BMW either way.
	BatchSize int
	// MaxRetries bounds the retries after a 5xx, a 429 or a reset
	// connection (httpx default 4; negative means none).
	MaxRetries int
	// MinBackoff and MaxBackoff bound the backoff between retries when BMW
	// asks for no wait, which is always for its 429 (250 ms and 10 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxWait is the longest server-asked wait slept through (2 min).
	MaxWait time.Duration
	// Timeout bounds one HTTP attempt (60 s).
	Timeout time.Duration
	// Transport is the HTTP round tripper (a clone of
	// http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Logger receives warnings (unknown words) and the wire at debug
	// level; nothing is logged when nil.
	Logger *slog.Logger
	// Now is the clock, used for token expiry (time.Now when nil).
	Now func() time.Time
}

// Settings lists the variables ConfigFromEnv reads. The five login and
// address settings are required; the others are optional.
func Settings() []oem.Setting {
	return []oem.Setting{
		{Name: "BMW_AUTH_URL", Required: true, Doc: "Cognito login endpoint of the BMW fleet data API"},
		{Name: "BMW_BASE_URL", Required: true, Doc: "base URL of the BMW fleet data API"},
		{Name: "BMW_CLIENT_ID", Required: true, Doc: "Cognito app client id"},
		{Name: "BMW_USERNAME", Required: true, Doc: "fleet account user name"},
		{Name: "BMW_PASSWORD", Required: true, Secret: true, Doc: "fleet account password"},
		{Name: "BMW_FLEET_ID", Doc: "fleet id to use; else the fleet named BMW_FLEET_NAME"},
		{Name: "BMW_FLEET_NAME", Doc: "owner name matching the fleet's name (case-insensitive)"},
		{Name: "BMW_RATE_LIMIT", Doc: "requests per second sent to BMW (default: no limit)"},
		{Name: "BMW_CONCURRENCY", Doc: "calls in flight at once (default 4)"},
	}
}

// ConfigFromEnv reads a Config from the variables in Settings. It fails on
// an optional number that does not parse; missing required settings are
// reported by New.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		AuthURL:   get("BMW_AUTH_URL"),
		BaseURL:   get("BMW_BASE_URL"),
		ClientID:  get("BMW_CLIENT_ID"),
		Username:  get("BMW_USERNAME"),
		Password:  getenv("BMW_PASSWORD"),
		FleetID:   get("BMW_FLEET_ID"),
		FleetName: get("BMW_FLEET_NAME"),
	}

	if v := get("BMW_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return cfg, fmt.Errorf("bmw: BMW_RATE_LIMIT %q is not a non-negative number: %w",
				v, oem.ErrInvalidInput)
		}

		cfg.RateLimit = f
	}

	if v := get("BMW_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("bmw: BMW_CONCURRENCY %q is not a positive integer: %w",
				v, oem.ErrInvalidInput)
		}

		cfg.Concurrency = n
	}

	return cfg, nil
}

// validate checks the required fields and fills defaults.
func (c *Config) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"AuthURL (BMW_AUTH_URL)", c.AuthURL}, {"BaseURL (BMW_BASE_URL)", c.BaseURL},
		{"ClientID (BMW_CLIENT_ID)", c.ClientID}, {"Username (BMW_USERNAME)", c.Username},
		{"Password (BMW_PASSWORD)", c.Password},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}

	if len(missing) > 0 {
		return fmt.Errorf("bmw: missing %s: %w", strings.Join(missing, ", "), oem.ErrInvalidInput)
	}

	// The password goes to AuthURL: it must be an absolute http(s) URL,
	// never a path the HTTP stack would resolve against BaseURL.
	if u, err := url.Parse(strings.TrimSpace(c.AuthURL)); err != nil || u.Host == "" ||
		(u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("bmw: AuthURL (BMW_AUTH_URL) %q is not an absolute http(s) URL: %w",
			c.AuthURL, oem.ErrInvalidInput)
	}

	c.AuthURL = strings.TrimSpace(c.AuthURL)

	if c.Concurrency < 0 || c.BatchSize < 0 || c.RateLimit < 0 {
		return fmt.Errorf("bmw: Concurrency, BatchSize and RateLimit must not be negative: %w",
			oem.ErrInvalidInput)
	}

	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}

	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}

	if c.Now == nil {
		c.Now = time.Now
	}

	return nil
}
