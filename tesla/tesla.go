// Package tesla is the connector for Tesla's Fleet API, for several Tesla
// accounts (one per leasing entity) whose access tokens another system posts
// to a Slack channel.
//
// SlackTokens reads those tokens; RefreshTokens or a static token can stand
// in for it through Config.Tokens. Fleet lists every account
// (/api/1/vehicles, paged to the end): a vehicle is active when an account
// lists it, because Tesla has no enrolment call — Activate and Deactivate
// answer oem.ErrNotSupported per vehicle. Describe reads the option codes
// and the warranty of each vehicle. A 421 naming another region's base URL
// switches the connector to it once.
package tesla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// Name is the connector's registered name.
const Name = "tesla"

func init() {
	oem.Register(Name, oem.DriverOf(Settings(), ConfigFromEnv,
		func(cfg Config, logger *slog.Logger) (*Connector, error) {
			cfg.Logger = logger // the environment cannot carry one

			return New(cfg)
		}))
}

// Option adjusts a Connector at construction.
type Option func(*Connector)

// WithSlackTokens makes the connector use s for the accounts Config.Tokens
// does not cover, instead of building its own from the Slack settings.
func WithSlackTokens(s *SlackTokens) Option {
	return func(c *Connector) { c.slack = s }
}

// Connector is the Tesla connector. It is safe for concurrent use.
type Connector struct {
	cfg      Config
	accounts []string // as configured, in order
	http     *httpx.Client
	tokens   *accountTokens
	slack    *SlackTokens
	log      *slog.Logger

	learnMu  sync.Mutex // one listing at a time to learn accounts in Describe
	regionMu sync.Mutex
	switched bool // the base URL was changed after a 421

	mu      sync.RWMutex
	listing map[string]map[oem.VIN]vehicleRecord // by account, from its last complete listing
}

// vehicleRecord is what the listing told about a vehicle.
type vehicleRecord struct {
	Account     string
	ID          string // exact: "id" exceeds 2^53
	VehicleID   string
	DisplayName string
	State       string
	AccessType  string
}

// New validates cfg and builds the connector. It sends no request.
func New(cfg Config, opts ...Option) (*Connector, error) {
	cfg.setDefaults()

	c := &Connector{cfg: cfg, log: cfg.Logger, listing: make(map[string]map[oem.VIN]vehicleRecord)}
	for _, o := range opts {
		o(c)
	}

	c.accounts = append([]string(nil), cfg.Accounts...)
	if len(c.accounts) == 0 {
		for a := range cfg.Tokens {
			c.accounts = append(c.accounts, a)
		}

		slices.Sort(c.accounts)
	}

	if len(c.accounts) == 0 {
		return nil, fmt.Errorf("tesla: no Tesla accounts configured (%s): %w", EnvAccounts, oem.ErrInvalidInput)
	}

	sources := make(map[string]oauth2.TokenSource)
	for a, s := range cfg.Tokens {
		sources[strings.TrimSpace(a)] = s
	}

	var uncovered []string
	for _, a := range c.accounts {
		if !hasFold(sources, a) {
			uncovered = append(uncovered, a)
		}
	}

	if len(uncovered) > 0 {
		if c.slack == nil {
			s, err := NewSlackTokens(SlackConfig{
				Token: cfg.SlackToken, Channel: cfg.SlackChannel, Accounts: uncovered,
				APIURL: cfg.SlackAPIURL, PageSize: cfg.SlackPageSize, MaxPages: cfg.SlackMaxPages,
				Retry: cfg.SlackRetry, MaxWait: cfg.MaxWait, Backoff: cfg.MinBackoff,
				Logger: cfg.Logger, Now: cfg.Now,
				HTTPClient: &http.Client{Transport: cfg.Transport, Timeout: timeoutOr(cfg.Timeout)},
			})
			if err != nil {
				return nil, fmt.Errorf("tesla: accounts %s have no token source: %w",
					strings.Join(uncovered, ", "), err)
			}

			c.slack = s
		}

		for _, a := range uncovered {
			sources[a] = c.slack.Source(a)
		}
	}

	c.tokens = newAccountTokens(sources)

	client, err := httpx.New(httpx.Config{
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
		Secrets:    []string{cfg.SlackToken},
		Logger:     cfg.Logger,
		Classify:   classify,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, err
	}

	c.http = client

	return c, nil
}

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return httpx.DefaultTimeout
	}

	return d
}

func hasFold(m map[string]oauth2.TokenSource, k string) bool {
	for a := range m {
		if strings.EqualFold(a, k) {
			return true
		}
	}

	return false
}

// Name returns "tesla".
func (c *Connector) Name() string { return Name }

// BatchSize is the preferred number of VINs per Describe call.
func (c *Connector) BatchSize() int { return c.cfg.BatchSize }

// Concurrency is how many calls may usefully run at once.
func (c *Connector) Concurrency() int { return c.cfg.Concurrency }

// Accounts returns the configured Tesla accounts, in order.
func (c *Connector) Accounts() []string { return slices.Clone(c.accounts) }

// BaseURL returns the Fleet API host in use (changed by a 421).
func (c *Connector) BaseURL() string { return c.http.BaseURL() }

// get sends one GET for account, follows a 421 to the region it names
// once, and decodes the {"response":…} envelope into out.
func (c *Connector) get(ctx context.Context, account, op, path string, q map[string]string,
	out any) error {
	ctx = withAccount(ctx, account)
	req := httpx.Request{Op: op, Method: http.MethodGet, Path: path,
		Accept: []int{http.StatusMisdirectedRequest}}
	if len(q) > 0 {
		req.Query = make(map[string][]string, len(q))
		for k, v := range q {
			req.Query.Set(k, v)
		}
	}

	for attempt := 0; attempt < 2; attempt++ {
		used := c.http.BaseURL()
		resp, err := c.http.Do(ctx, req)
		if err != nil {
			c.tokens.scrub(err)
			return err
		}

		if resp.StatusCode == http.StatusMisdirectedRequest {
			if err := c.switchRegion(ctx, used, resp.Body); err != nil {
				return fmt.Errorf("tesla: %s: %w", op, err)
			}

			continue
		}

		err = c.decode(op, path, resp, out)
		c.tokens.scrub(err)

		return err
	}

	return fmt.Errorf("tesla: %s: a second 421 after changing region; not switching again: %w",
		op, ErrWrongRegion)
}

// switchRegion follows a 421 once. A 421 naming the host that sent it, a
// host that is not Tesla's, or a third host after one change is an error;
// a 421 naming the host another caller already switched to is followed.
func (c *Connector) switchRegion(ctx context.Context, used string, body []byte) error {
	target, err := regionURL(body)
	if err != nil {
		return err
	}

	if sameBase(target, used) {
		return fmt.Errorf("421 from %s names the same host: %w", used, ErrWrongRegion)
	}

	c.regionMu.Lock()
	defer c.regionMu.Unlock()

	current := c.http.BaseURL()
	if sameBase(current, target) {
		return nil
	}

	if c.switched {
		return fmt.Errorf("already moved to %s once; %s now names %s: %w", current, used, target,
			ErrWrongRegion)
	}

	if err := c.http.SetBaseURL(target); err != nil {
		return fmt.Errorf("421 names %s: %w: %w", target, ErrWrongRegion, err)
	}

	c.switched = true
	c.log.InfoContext(ctx, "tesla: account served by another region; switching base URL",
		slog.String("from", used), slog.String("to", target))

	return nil
}

// envelope is every Tesla answer's wrapper.
type envelope struct {
	Response    rawJSON `json:"response"`
	Error       string  `json:"error"`
	Description string  `json:"error_description"`
}

func (c *Connector) decode(op, path string, resp *httpx.Response, out any) error {
	var env envelope
	if err := resp.Decode(&env); err != nil {
		return &oem.APIError{Connector: Name, Op: op, Method: http.MethodGet, Path: path,
			StatusCode: resp.StatusCode, Message: "answer is not JSON: " + err.Error(),
			Snippet: truncate(c.http.Redactor().String(string(resp.Body)), 200), Kind: oem.ErrTransient}
	}

	if env.Error != "" {
		return answerError(op, http.MethodGet, path, env.Error, env.Description)
	}

	if out == nil {
		return nil
	}

	if err := decodeResponse(resp.Body, out); err != nil {
		return &oem.APIError{Connector: Name, Op: op, Method: http.MethodGet, Path: path,
			StatusCode: resp.StatusCode, Message: "unexpected answer: " + err.Error(),
			Snippet: truncate(c.http.Redactor().String(string(resp.Body)), 200), Kind: oem.ErrTransient}
	}

	return nil
}

// stopErr reports whether err ends a whole call rather than one vehicle or
// account: a cancelled context, a rate limit or quota, an unregistered
// application or a region that cannot be followed.
func stopErr(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, oem.ErrRateLimited) ||
		errors.Is(err, oem.ErrQuotaExhausted) || errors.Is(err, ErrNotRegistered) ||
		errors.Is(err, ErrWrongRegion)
}
