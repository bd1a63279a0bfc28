package tesla

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/oem"
)

// Base URLs of the Tesla Fleet API regions.
const (
	BaseURLEU = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
	BaseURLNA = "https://fleet-api.prd.na.vn.cloud.tesla.com"
)

// Names of the settings ConfigFromEnv reads.
const (
	EnvSlackToken   = "SLACK_TOKEN"
	EnvSlackChannel = "TESLA_SLACK_CHANNEL"
	EnvSlackAPIURL  = "SLACK_API_URL"
	EnvAccounts     = "TESLA_ACCOUNTS"
	EnvBaseURL      = "TESLA_BASE_URL"
	EnvRateLimit    = "TESLA_RATE_LIMIT"
)

// Config sets up the Tesla connector. Either the Slack fields (SlackToken,
// SlackChannel, Accounts) or Tokens must be given.
type Config struct {
	// BaseURL is the Fleet API host. Default BaseURLEU. A 421 answer naming
	// another region's host switches to that host once, for the life of the
	// connector.
	BaseURL string

	// Accounts names the Tesla accounts to list (one per leasing entity, as
	// the token messages in Slack name them: ACCESS_TOKEN_<ACCOUNT>:). No
	// default; required with Slack. With Tokens and no Accounts, the keys of
	// Tokens in sorted order.
	Accounts []string

	// SlackToken is the Slack bot token that may read the channel's history
	// (conversations.history). No default; required unless Tokens is set.
	SlackToken string
	// SlackChannel is the id of the channel the tokens are posted to. No
	// default; required unless Tokens is set.
	SlackChannel string
	// SlackAPIURL overrides Slack's Web API URL (for tests and the
	// sandbox). Default slack-go's https://slack.com/api/.
	SlackAPIURL string
	// SlackPageSize is how many messages one conversations.history call
	// asks for. Default 200 (Slack allows up to 999).
	SlackPageSize int
	// SlackMaxPages bounds how many history pages one look-up reads before
	// it gives up on the accounts it has not found. Default 50.
	SlackMaxPages int
	// SlackRetry is how long a failed Slack look-up for an account is kept
	// before Slack is asked again. Default 30 s. A failure is never kept
	// for ever.
	SlackRetry time.Duration

	// Tokens, when set, gives each account's access tokens directly
	// (account name → source) instead of Slack: oauth2.StaticTokenSource
	// for a plain token, RefreshTokens for a refresh-token flow, or a
	// SlackTokens source.
	Tokens map[string]oauth2.TokenSource

	// PageSize is per_page on the vehicle listing. Default 100.
	PageSize int
	// RateLimit is the steady request rate to Tesla, per second. Default 0
	// (no client-side limit; Tesla's own 429 and RateLimit-* headers still
	// apply).
	RateLimit float64
	// Concurrency is how many calls the Ingester should have in flight at
	// once. Default 4.
	Concurrency int
	// BatchSize is the preferred number of VINs per Describe call. Default 50.
	BatchSize int
	// MaxWait is the longest server-asked wait (Retry-After, RateLimit-Reset)
	// the connector sleeps through; a longer one ends the call with
	// oem.ErrRateLimited carrying the wait. Default 2 min.
	MaxWait time.Duration
	// MaxRetries bounds retries of a request after 5xx, 429 and connection
	// resets. Default 4; negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the backoff between retries when
	// Tesla asks for no particular wait. Defaults 250 ms and 10 s.
	// MinBackoff (default there 500 ms) is also the first wait before
	// retrying a failed Slack read.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one HTTP attempt. Default 60 s.
	Timeout time.Duration
	// Transport is the HTTP transport for Tesla and Slack. Default a clone
	// of http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives debug wire logs and warnings. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Settings lists the variables ConfigFromEnv reads. SLACK_TOKEN,
// TESLA_SLACK_CHANNEL and TESLA_ACCOUNTS are required.
func Settings() []oem.Setting {
	return []oem.Setting{
		{Name: EnvSlackToken, Required: true, Secret: true,
			Doc: "Slack bot token that can read the channel the Tesla access tokens are posted to"},
		{Name: EnvSlackChannel, Required: true,
			Doc: "id of the Slack channel holding the ACCESS_TOKEN_<ACCOUNT>: messages"},
		{Name: EnvAccounts, Required: true,
			Doc: "comma-separated Tesla accounts to list, as the Slack messages name them"},
		{Name: EnvBaseURL,
			Doc: "Tesla Fleet API base URL (default " + BaseURLEU + ")"},
		{Name: EnvSlackAPIURL,
			Doc: "Slack Web API URL override, for tests and the sandbox (default https://slack.com/api/)"},
		{Name: EnvRateLimit,
			Doc: "requests per second sent to Tesla (default no client-side limit)"},
	}
}

// ConfigFromEnv reads the settings listed by Settings through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }

	cfg := Config{
		BaseURL:      get(EnvBaseURL),
		SlackToken:   get(EnvSlackToken),
		SlackChannel: get(EnvSlackChannel),
		SlackAPIURL:  get(EnvSlackAPIURL),
		Accounts:     SplitAccounts(get(EnvAccounts)),
	}

	if s := get(EnvRateLimit); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 {
			return Config{}, fmt.Errorf("tesla: %s=%q is not a non-negative number: %w",
				EnvRateLimit, s, oem.ErrInvalidInput)
		}

		cfg.RateLimit = v
	}

	return cfg, nil
}

// SplitAccounts reads a comma- or space-separated account list, trimming
// each name and dropping empty ones and repeats (compared without case).
func SplitAccounts(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n'
	}) {
		if !containsFold(out, a) {
			out = append(out, a)
		}
	}

	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}

	return false
}

func (cfg *Config) setDefaults() {
	if cfg.BaseURL == "" {
		cfg.BaseURL = BaseURLEU
	}

	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}

	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}

	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 50
	}

	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}

	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}
