package stellantis

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

// Settings names read by ConfigFromEnv. The first five are the old module's.
const (
	EnvBaseURL         = "STELLANTIS_BASE_URL"
	EnvEmail           = "STELLANTIS_EMAIL"
	EnvPassword        = "STELLANTIS_PASSWORD"
	EnvFleetID         = "STELLANTIS_FLEET_ID"
	EnvCompanyID       = "STELLANTIS_COMPANY_ID"
	EnvTokenLifetime   = "STELLANTIS_TOKEN_LIFETIME"
	EnvPageSize        = "STELLANTIS_PAGE_SIZE"
	EnvEligibilityMax  = "STELLANTIS_ELIGIBILITY_BATCH"
	EnvBatchSize       = "STELLANTIS_BATCH_SIZE"
	EnvConcurrency     = "STELLANTIS_CONCURRENCY"
	EnvRateLimit       = "STELLANTIS_RATE_LIMIT"
	EnvMaxWait         = "STELLANTIS_MAX_WAIT"
	EnvPack            = "STELLANTIS_PACK"
	EnvReferencePrefix = "STELLANTIS_REFERENCE_PREFIX"
	EnvContractLength  = "STELLANTIS_CONTRACT_LENGTH"
	EnvFleetBody       = "STELLANTIS_FLEET_BODY"
	EnvModelField      = "STELLANTIS_MODEL_FIELD"
	EnvExportTimeout   = "STELLANTIS_EXPORT_TIMEOUT"
)

// Defaults used when a Config field is zero.
const (
	DefaultTokenLifetime   = 14 * 24 * time.Hour
	DefaultPageSize        = 100
	DefaultEligibilityMax  = 100
	DefaultBatchSize       = 1000
	DefaultConcurrency     = 4
	DefaultPack            = "pack-1"
	DefaultReferencePrefix = "vehicleinfo-"
	DefaultContractLength  = 5 * 365 * 24 * time.Hour
	DefaultModelField      = "model"
	DefaultMaxRecordBytes  = 1 << 20
	DefaultExportTimeout   = 15 * time.Minute
)

// FleetBody is the shape of the body of PUT /fleets/{fleet_id}/vehicles.
// OEM-APIS.md marks it a guess: the old module sent a JSON array of contract
// ids, and once {"vins":[…]}. Both are offered; the array is the default.
type FleetBody string

const (
	// FleetBodyIDs sends ["<contract id>", …].
	FleetBodyIDs FleetBody = "ids"
	// FleetBodyVINs sends {"vins":["<vin>", …]}.
	FleetBodyVINs FleetBody = "vins"
)

// Config sets up a Connector. BaseURL, Email, Password, FleetID and
// CompanyID are required; every other field has a default.
type Config struct {
	// BaseURL is the Mobilisights host, e.g. "https://api.example.com"
	// (no default). Login is under {BaseURL}/api/auth, the fleet calls
	// under {BaseURL}/connected-fleet/api.
	BaseURL string
	// Email and Password are the fleet account's login (no default). The
	// password is redacted from every log line and error.
	Email    string
	Password string
	// FleetID is the fleet new contracts are put in (no default).
	FleetID string
	// CompanyID is the company new contracts are made for (no default).
	CompanyID string

	// TokenLifetime is how long an authToken is assumed to live, since the
	// login answer gives no expiry (default 14 days, as the old module
	// assumed). A 401 before then logs in again anyway.
	TokenLifetime time.Duration
	// PageSize is the `limit` asked for per page of GET /contracts
	// (default 100). It must not exceed what the API serves per page: a
	// page shorter than the limit ends the listing.
	PageSize int
	// EligibilityBatchSize is the most VINs sent in one eligibility request
	// (default 100).
	EligibilityBatchSize int
	// BatchSize is what BatchSize reports: the most VINs the Ingester puts
	// in one Activate, Deactivate or Describe call (default 1000). Each
	// Describe call reads the whole contract listing and the whole
	// car-states export once, so a large batch is cheaper.
	BatchSize int
	// Concurrency is what Concurrency reports, and the number of
	// activation or deactivation requests in flight within one call
	// (default 4).
	Concurrency int
	// RateLimit is the steady request rate allowed, per second (default 0:
	// no limit of our own).
	RateLimit float64
	// MaxWait is the longest server-asked wait sat through before a call
	// fails as rate limited (default 2 minutes, httpx's default).
	MaxWait time.Duration

	// Pack is the data pack new contracts ask for (default "pack-1").
	Pack string
	// ReferencePrefix starts the contract reference, which is this prefix
	// followed by the VIN (default "vehicleinfo-"). The reference is the
	// same for every attempt at one VIN, so a rerun after a crash meets
	// the API's 409 instead of creating a second contract.
	ReferencePrefix string
	// ContractLength is the span from "from" (now) to "to" of a new
	// contract (default 5 years; the old module's span is not known).
	ContractLength time.Duration
	// Note is the car note of new contracts (default empty).
	Note string
	// FleetBody is the body shape of PUT /fleets/{fleet_id}/vehicles
	// (default FleetBodyIDs); see FleetBody.
	FleetBody FleetBody
	// ModelField is the member of a contract's car object that holds the
	// model name (default "model"). The car states carry no model; that
	// the contract's car carries one is our guess, hence configurable.
	ModelField string
	// MaxRecordBytes bounds one line of the car-states export (default
	// 1 MiB); a longer line is skipped with a warning.
	MaxRecordBytes int

	// MaxRetries, MinBackoff and MaxBackoff tune httpx's retries (its
	// defaults: 4, 250 ms, 10 s). Timeout bounds one attempt, body
	// included (60 s).
	MaxRetries             int
	MinBackoff, MaxBackoff time.Duration
	Timeout                time.Duration
	// ExportTimeout bounds one read of the car-states export, which is
	// streamed and grows with the fleet (default 15 minutes).
	ExportTimeout time.Duration
	// Transport is the HTTP transport (a clone of
	// http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Logger receives warnings (unknown status words, unreadable records)
	// and the wire at debug level; nothing is logged when nil.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Settings lists the variables ConfigFromEnv reads. The five connection
// settings are required; the rest tune the connector.
func Settings() []oem.Setting {
	return []oem.Setting{
		{Name: EnvBaseURL, Required: true, Doc: "Mobilisights API base URL"},
		{Name: EnvEmail, Required: true, Doc: "login email of the fleet account"},
		{Name: EnvPassword, Required: true, Secret: true, Doc: "login password of the fleet account"},
		{Name: EnvFleetID, Required: true, Doc: "fleet that new contracts are put in"},
		{Name: EnvCompanyID, Required: true, Doc: "company that new contracts are made for"},
		{Name: EnvTokenLifetime, Doc: "assumed lifetime of a login token (default 336h)"},
		{Name: EnvPageSize, Doc: "contracts per listing page (default 100)"},
		{Name: EnvEligibilityMax, Doc: "VINs per eligibility request (default 100)"},
		{Name: EnvBatchSize, Doc: "VINs per activation or description call (default 1000)"},
		{Name: EnvConcurrency, Doc: "requests in flight at once (default 4)"},
		{Name: EnvRateLimit, Doc: "requests per second allowed (default: no limit)"},
		{Name: EnvMaxWait, Doc: "longest server-asked wait to sit through (default 2m)"},
		{Name: EnvPack, Doc: "data pack of new contracts (default pack-1)"},
		{Name: EnvReferencePrefix, Doc: "prefix of contract references (default vehicleinfo-)"},
		{Name: EnvContractLength, Doc: "span of new contracts (default 43800h, 5 years)"},
		{Name: EnvFleetBody, Doc: "body of the put-in-fleet call: ids or vins (default ids)"},
		{Name: EnvModelField, Doc: "member of a contract's car holding the model (default model)"},
		{Name: EnvExportTimeout, Doc: "bound on one car-states export read (default 15m)"},
	}
}

// ConfigFromEnv reads a Config from the settings in Settings. It does not
// check that the required ones are set; New does.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		BaseURL:         get(EnvBaseURL),
		Email:           get(EnvEmail),
		Password:        getenv(EnvPassword),
		FleetID:         get(EnvFleetID),
		CompanyID:       get(EnvCompanyID),
		Pack:            get(EnvPack),
		ReferencePrefix: get(EnvReferencePrefix),
		FleetBody:       FleetBody(strings.ToLower(get(EnvFleetBody))),
		ModelField:      get(EnvModelField),
	}

	var errs []string
	dur := func(k string, dst *time.Duration) {
		if v := get(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, fmt.Sprintf("%s: %q is not a duration", k, v))
				return
			}

			*dst = d
		}
	}
	num := func(k string, dst *int) {
		if v := get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Sprintf("%s: %q is not a count", k, v))
				return
			}

			*dst = n
		}
	}

	dur(EnvTokenLifetime, &cfg.TokenLifetime)
	dur(EnvMaxWait, &cfg.MaxWait)
	dur(EnvContractLength, &cfg.ContractLength)
	dur(EnvExportTimeout, &cfg.ExportTimeout)
	num(EnvPageSize, &cfg.PageSize)
	num(EnvEligibilityMax, &cfg.EligibilityBatchSize)
	num(EnvBatchSize, &cfg.BatchSize)
	num(EnvConcurrency, &cfg.Concurrency)
	if v := get(EnvRateLimit); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			errs = append(errs, fmt.Sprintf("%s: %q is not a rate", EnvRateLimit, v))
		} else {
			cfg.RateLimit = f
		}
	}

	if len(errs) > 0 {
		return cfg, fmt.Errorf("stellantis: settings: %s: %w", strings.Join(errs, "; "),
			oem.ErrInvalidInput)
	}

	return cfg, nil
}

// validate checks the required fields and fills the defaults.
func (c *Config) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"BaseURL", c.BaseURL}, {"Email", c.Email}, {"Password", c.Password},
		{"FleetID", c.FleetID}, {"CompanyID", c.CompanyID},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}

	if len(missing) > 0 {
		return fmt.Errorf("stellantis: config: %s required: %w", strings.Join(missing, ", "),
			oem.ErrInvalidInput)
	}

	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" {
		return fmt.Errorf("stellantis: config: BaseURL %q is not an http(s) URL: %w", c.BaseURL,
			oem.ErrInvalidInput)
	}

	if strings.ContainsAny(c.FleetID, "/?#") {
		return fmt.Errorf("stellantis: config: FleetID %q: %w", c.FleetID, oem.ErrInvalidInput)
	}

	switch c.FleetBody {
	case "":
		c.FleetBody = FleetBodyIDs
	case FleetBodyIDs, FleetBodyVINs:
	default:
		return fmt.Errorf("stellantis: config: FleetBody %q, want %q or %q: %w", c.FleetBody,
			FleetBodyIDs, FleetBodyVINs, oem.ErrInvalidInput)
	}

	if c.TokenLifetime <= 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}

	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}

	if c.EligibilityBatchSize <= 0 {
		c.EligibilityBatchSize = DefaultEligibilityMax
	}

	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}

	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}

	if c.Pack == "" {
		c.Pack = DefaultPack
	}

	if c.ReferencePrefix == "" {
		c.ReferencePrefix = DefaultReferencePrefix
	}

	if c.ContractLength <= 0 {
		c.ContractLength = DefaultContractLength
	}

	if c.ModelField == "" {
		c.ModelField = DefaultModelField
	}

	if c.ExportTimeout <= 0 {
		c.ExportTimeout = DefaultExportTimeout
	}

	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}

	if c.Now == nil {
		c.Now = time.Now
	}

	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}

	return nil
}
