package renault

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// The settings the connector reads, named in the style of the module it
// replaces.
const (
	EnvPKCS12         = "RENAULT_PKCS12"
	EnvPKCS12File     = "RENAULT_PKCS12_FILE"
	EnvPKCS12Password = "RENAULT_PKCS12_PASSWORD"
	EnvKeyID          = "RENAULT_KID"
	EnvClientID       = "RENAULT_CLIENT_ID"
	EnvTokenURL       = "RENAULT_TOKEN_URL"
	EnvScope          = "RENAULT_SCOPE"
	EnvAPIURL         = "RENAULT_API_URL"
	EnvAPIKey         = "RENAULT_API_KEY"

	EnvBatchSize   = "RENAULT_BATCH_SIZE"
	EnvConcurrency = "RENAULT_CONCURRENCY"
	EnvRateLimit   = "RENAULT_RATE_LIMIT"
	EnvMaxWait     = "RENAULT_MAX_WAIT"
)

// Defaults used when a Config field is zero.
const (
	DefaultConcurrency = 4
	DefaultBatchSize   = 50
)

// Config sets up a Connector. The credential fields are required; the
// tuning fields below them are optional.
type Config struct {
	// PKCS12 is the client's PKCS#12 bundle (certificate and RSA private
	// key), either as the base64 text the old module kept in pkcs12.txt or
	// as raw DER bytes; which one is detected. One of PKCS12 and PKCS12File
	// is required; PKCS12 wins when both are set.
	PKCS12 []byte
	// PKCS12File is a path to the same bundle, base64 text or raw DER. It
	// is read once, in New.
	PKCS12File string
	// PKCS12Password opens the bundle. Default "" (a bundle without a
	// password).
	PKCS12Password string
	// KeyID is the "kid" the client assertion's header names: the id under
	// which Renault registered the certificate. Required.
	KeyID string
	// ClientID is the OAuth client id; it is the assertion's issuer and
	// subject and is sent in the token request. Required.
	ClientID string
	// TokenURL is the token endpoint, and also the assertion's audience.
	// Required; there is no default host.
	TokenURL string
	// Scope is sent in the token request. Default "" (no scope parameter).
	Scope string
	// APIURL is the base URL of the vehicle-information and WLTP calls.
	// Required; there is no default host.
	APIURL string
	// APIKey is sent in the apiKey header of every call. Required.
	APIKey string

	// RateLimit is the steady request rate allowed, per second; default 0
	// (no limit of our own; the API's 429 answers are honoured anyway).
	RateLimit float64
	// Burst is the rate limiter's bucket size; default 1 when RateLimit is
	// set.
	Burst int
	// Concurrency is how many Describe calls the Ingester may have in
	// flight at once; default 4.
	Concurrency int
	// BatchSize is the most VINs the Ingester sends in one call; default 50.
	BatchSize int
	// MaxWait is the longest server-asked wait (Retry-After) a call sleeps
	// through; a longer one ends the call with oem.ErrRateLimited. Default
	// 2 minutes.
	MaxWait time.Duration
	// MaxRetries bounds the retries of one request after 5xx, 429 and
	// connection resets; default 4, negative for none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the backoff between retries when the
	// server names no wait; defaults 250 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one HTTP attempt; default 60 s.
	Timeout time.Duration
	// Transport is the HTTP transport; a clone of http.DefaultTransport
	// when nil.
	Transport http.RoundTripper
	// Logger receives the wire at debug level, with secrets redacted
	// (never the assertion, the bearer or the API key); nothing is logged
	// when nil.
	Logger *slog.Logger
	// Now is the clock, for token and assertion times; time.Now when nil.
	Now func() time.Time
}

// Settings lists the variables ConfigFromEnv reads. The PKCS#12 bundle is
// required too, but as either of two variables, so neither is marked
// required here; ConfigFromEnv names both when both are missing.
func Settings() []oem.Setting {
	return []oem.Setting{
		{Name: EnvPKCS12, Secret: true,
			Doc: "the client PKCS#12 bundle as base64 text (the old pkcs12.txt); or use " + EnvPKCS12File},
		{Name: EnvPKCS12File,
			Doc: "path to the PKCS#12 bundle, base64 text or raw DER; used when " + EnvPKCS12 + " is unset"},
		{Name: EnvPKCS12Password, Secret: true,
			Doc: "password of the PKCS#12 bundle (default empty)"},
		{Name: EnvKeyID, Required: true,
			Doc: "key id (kid) of the certificate, sent in the client assertion header"},
		{Name: EnvClientID, Required: true,
			Doc: "OAuth client id: issuer and subject of the client assertion"},
		{Name: EnvTokenURL, Required: true,
			Doc: "token endpoint URL, also the audience of the client assertion"},
		{Name: EnvScope,
			Doc: "scope asked for in the token request (default none)"},
		{Name: EnvAPIURL, Required: true,
			Doc: "base URL of the vehicle-information and WLTP API"},
		{Name: EnvAPIKey, Required: true, Secret: true,
			Doc: "API key sent in the apiKey header of every call"},
		{Name: EnvBatchSize, Doc: "VINs per Describe call the Ingester makes (default 50)"},
		{Name: EnvConcurrency, Doc: "Describe calls in flight at once (default 4)"},
		{Name: EnvRateLimit, Doc: "requests per second allowed, 0 for no limit (default 0)"},
		{Name: EnvMaxWait, Doc: "longest server-asked wait to sit through, e.g. 90s (default 2m)"},
	}
}

// ConfigFromEnv reads a Config from getenv (os.Getenv in programs, a map in
// tests). It fails with an *oem.SettingsError naming the variables that are
// missing; it does not read the PKCS#12 file (New does).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	cfg := Config{
		PKCS12File: get(EnvPKCS12File),
		// A password is taken as written: spaces may be part of it.
		PKCS12Password: getenv(EnvPKCS12Password),
		KeyID:          get(EnvKeyID),
		ClientID:       get(EnvClientID),
		TokenURL:       get(EnvTokenURL),
		Scope:          get(EnvScope),
		APIURL:         get(EnvAPIURL),
		APIKey:         get(EnvAPIKey),
	}

	if s := get(EnvPKCS12); s != "" {
		cfg.PKCS12 = []byte(s)
	}

	var missing []string
	if len(cfg.PKCS12) == 0 && cfg.PKCS12File == "" {
		missing = append(missing, EnvPKCS12+" or "+EnvPKCS12File)
	}

	for _, s := range Settings() {
		if s.Required && get(s.Name) == "" {
			missing = append(missing, s.Name)
		}
	}

	if len(missing) > 0 {
		return cfg, &oem.SettingsError{Connector: Name, Missing: missing}
	}

	return cfg, tuningFromEnv(&cfg, get)
}

// tuningFromEnv reads the optional tuning settings; a value that does not
// parse is an error naming the variable.
func tuningFromEnv(cfg *Config, get func(string) string) error {
	bad := func(name, v string) error {
		return fmt.Errorf("%s: setting %s=%q is not valid: %w", Name, name, v, oem.ErrInvalidInput)
	}

	for _, f := range []struct {
		name string
		dst  *int
	}{{EnvBatchSize, &cfg.BatchSize}, {EnvConcurrency, &cfg.Concurrency}} {
		if v := get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad(f.name, v)
			}

			*f.dst = n
		}
	}

	if v := get(EnvRateLimit); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return bad(EnvRateLimit, v)
		}

		cfg.RateLimit = r
	}

	if v := get(EnvMaxWait); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return bad(EnvMaxWait, v)
		}

		cfg.MaxWait = d
	}

	return nil
}

// validate checks the required fields and fills the defaults.
func (c *Config) validate() error {
	var missing []string
	if len(c.PKCS12) == 0 && c.PKCS12File == "" {
		missing = append(missing, "PKCS12 or PKCS12File")
	}

	for _, f := range []struct{ name, v string }{
		{"KeyID", c.KeyID}, {"ClientID", c.ClientID}, {"TokenURL", c.TokenURL},
		{"APIURL", c.APIURL}, {"APIKey", c.APIKey},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}

	if len(missing) > 0 {
		return fmt.Errorf("%s: config: missing %s: %w", Name, strings.Join(missing, ", "),
			oem.ErrInvalidInput)
	}

	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}

	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}

	if c.Now == nil {
		c.Now = time.Now
	}

	return nil
}

// bundle returns the PKCS#12 bytes as configured, reading the file when
// the bytes are not given.
func (c *Config) bundle() ([]byte, error) {
	if len(c.PKCS12) > 0 {
		return c.PKCS12, nil
	}

	b, err := os.ReadFile(c.PKCS12File)
	if err != nil {
		// The path is not a secret; the file's content never appears.
		return nil, &CredentialError{Cause: fmt.Sprintf("cannot read the PKCS#12 file: %v", err),
			Setting: EnvPKCS12File, Err: ErrBadPKCS12}
	}

	return b, nil
}
