package hm

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// Setting names read by ConfigFromEnv.
const (
	EnvBaseURL      = "HM_BASE_URL"
	EnvClientID     = "HM_CLIENT_ID"
	EnvClientSecret = "HM_CLIENT_SECRET"
	EnvBatchSize    = "HM_BATCH_SIZE"
	EnvRateLimit    = "HM_RATE_LIMIT"
	EnvConcurrency  = "HM_CONCURRENCY"
)

// Defaults used when a Config field is zero.
const (
	DefaultBaseURL     = "https://api.high-mobility.com"
	SandboxBaseURL     = "https://sandbox.api.high-mobility.com"
	DefaultBatchSize   = 100
	DefaultConcurrency = 4
	DefaultTokenSkew   = time.Minute
	DefaultTokenPath   = "/v1/access_tokens"
)

// Config sets up a Connector. Only ClientID and ClientSecret are required.
type Config struct {
	// BaseURL is the API host (HM_BASE_URL). Default DefaultBaseURL, the
	// production host; SandboxBaseURL is the sandbox.
	BaseURL string
	// ClientID and ClientSecret are the application's OAuth2 client
	// credentials (HM_CLIENT_ID, HM_CLIENT_SECRET). Required. The secret is
	// redacted from every log line and error.
	ClientID     string
	ClientSecret string
	// TokenPath is where tokens are fetched. Default "/v1/access_tokens";
	// some of High Mobility's pages name "/v1/access_token".
	TokenPath string
	// TokenSkew is how long before its expiry a token is fetched again.
	// Default one minute (tokens live five minutes).
	TokenSkew time.Duration
	// BatchSize is the most VINs sent in one activation request
	// (HM_BATCH_SIZE). Default 100.
	BatchSize int
	// Concurrency is how many deactivation, eligibility or description
	// requests run at once, and what the connector reports through
	// oem.Concurrency (HM_CONCURRENCY). Default 4.
	Concurrency int
	// RateLimit is the steady request rate allowed, per second
	// (HM_RATE_LIMIT); 0, the default, means no limit of our own. Burst is
	// the bucket size (1 when zero).
	RateLimit float64
	Burst     int
	// MaxWait is the longest wait asked by High Mobility (a 429's "retry
	// after 10s") that a call sleeps through; a longer one ends the call
	// with oem.ErrRateLimited. Default that of internal/httpx (2 min).
	MaxWait time.Duration
	// MaxRetries bounds retries after the first attempt (default 4;
	// negative for none). MinBackoff and MaxBackoff bound the backoff when
	// the server names no wait (250 ms and 10 s by default).
	MaxRetries             int
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one HTTP attempt. Default 60 s.
	Timeout time.Duration
	// Transport is the HTTP transport; a clone of http.DefaultTransport
	// when nil.
	Transport http.RoundTripper
	// Logger receives warnings (unknown status words, once per word) and
	// the wire at debug level, secrets redacted. Quiet when nil.
	Logger *slog.Logger
	// Now is the clock for token expiry. Default time.Now.
	Now func() time.Time
	// Brands gives the brand of particular VINs, overriding the make of
	// their WMI: a canonical make ("Mercedes-Benz") or a High Mobility
	// brand name ("mercedes-benz", "sandbox"). Default none. See also
	// Connector.SetBrands.
	Brands map[oem.VIN]string
}

// Settings lists the variables ConfigFromEnv reads. The client id and
// secret are required: with neither set the connector is skipped by
// oem.OpenFromEnv.
func Settings() []oem.Setting {
	return []oem.Setting{
		{Name: EnvBaseURL, Doc: "High Mobility API host (default " + DefaultBaseURL + ")"},
		{Name: EnvClientID, Required: true, Doc: "High Mobility OAuth2 client id"},
		{Name: EnvClientSecret, Required: true, Secret: true, Doc: "High Mobility OAuth2 client secret"},
		{Name: EnvBatchSize, Doc: "VINs per activation request (default 100)"},
		{Name: EnvRateLimit, Doc: "requests per second to High Mobility, 0 for no limit (default 0)"},
		{Name: EnvConcurrency, Doc: "requests in flight at once (default 4)"},
	}
}

// ConfigFromEnv reads a Config from getenv (os.Getenv in programs, a map
// lookup in tests). It does not check that the required settings are there:
// New does.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BaseURL:      strings.TrimSpace(getenv(EnvBaseURL)),
		ClientID:     strings.TrimSpace(getenv(EnvClientID)),
		ClientSecret: strings.TrimSpace(getenv(EnvClientSecret)),
	}

	var err error
	if cfg.BatchSize, err = envInt(getenv, EnvBatchSize); err != nil {
		return cfg, err
	}

	if cfg.Concurrency, err = envInt(getenv, EnvConcurrency); err != nil {
		return cfg, err
	}

	if s := strings.TrimSpace(getenv(EnvRateLimit)); s != "" {
		f, perr := strconv.ParseFloat(s, 64)
		if perr != nil || f < 0 {
			return cfg, fmt.Errorf("hm: %s=%q is not a non-negative number: %w", EnvRateLimit, s, oem.ErrInvalidInput)
		}

		cfg.RateLimit = f
	}

	return cfg, nil
}

func envInt(getenv func(string) string, name string) (int, error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return 0, nil
	}

	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("hm: %s=%q is not a non-negative integer: %w", name, s, oem.ErrInvalidInput)
	}

	return n, nil
}

// validate checks cfg and fills the defaults.
func (cfg *Config) validate() error {
	var missing []string
	if cfg.ClientID == "" {
		missing = append(missing, EnvClientID)
	}

	if cfg.ClientSecret == "" {
		missing = append(missing, EnvClientSecret)
	}

	if len(missing) > 0 {
		return &oem.SettingsError{Connector: Name, Missing: missing}
	}

	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}

	if cfg.TokenPath == "" {
		cfg.TokenPath = DefaultTokenPath
	}

	if cfg.TokenSkew <= 0 {
		cfg.TokenSkew = DefaultTokenSkew
	}

	if cfg.BatchSize < 0 || cfg.Concurrency < 0 || cfg.RateLimit < 0 {
		return fmt.Errorf("hm: batch size, concurrency and rate limit must not be negative: %w",
			oem.ErrInvalidInput)
	}

	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}

	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	return nil
}
