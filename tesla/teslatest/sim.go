// Package teslatest is a simulator of Tesla's Fleet API for the tesla
// connector, with a stand-in for the Slack channel the access tokens are
// posted to.
//
// One Sim serves three loopback listeners: the Fleet API (vehicle listing,
// option codes, warranty, the OAuth refresh), a second "region" that answers
// every API call with 421 naming the first one's URL, and Slack's
// conversations.history. Each Tesla account the Sim knows gets an access
// token posted to the Slack channel as a rich-text token message; unless
// Options.ManualTokens is set, a fresh one is posted whenever the channel is
// read and the newest token of an account has expired or was revoked, as
// the system that posts them would.
package teslatest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// Fake credentials the Sim accepts and Env hands out.
const (
	DefaultSlackToken   = "xoxb-fake-slack-token"
	DefaultSlackChannel = "C0FAKETOKENS"
	DefaultClientID     = "fake-tesla-client-id"
	DefaultAccount      = "FLEET"
)

// Options set up a Sim.
type Options struct {
	// Addr is the loopback address of the Fleet API; a free port when empty.
	Addr string
	// RegionAddr is the loopback address of the other region (every API
	// call answers 421 naming URL()); a free port when empty.
	RegionAddr string
	// SlackAddr is the loopback address of the Slack stand-in; a free port
	// when empty.
	SlackAddr string
	// StatePath, when set, is where state is loaded from at New and saved
	// by Save and Close.
	StatePath string
	// Clock drives token expiry, message times and the rate limit.
	Clock *simkit.Clock

	// Accounts are the Tesla accounts the Sim knows at start (more come
	// with the vehicles Add seeds). Default DefaultAccount.
	Accounts []string
	// TokenTTL is the life of an access token. Default 8 h (Tesla's).
	TokenTTL time.Duration
	// ManualTokens stops the Sim from posting token messages by itself;
	// tests post them with PostToken.
	ManualTokens bool
	// SlackToken and SlackChannel are what the Slack stand-in accepts.
	// Defaults DefaultSlackToken and DefaultSlackChannel.
	SlackToken, SlackChannel string
	// ClientID is what the OAuth refresh accepts. Default DefaultClientID.
	ClientID string
	// KeepRefreshToken makes refresh answers carry no new refresh token;
	// the old one then stays valid. By default refresh tokens work once
	// and each answer carries the next (Tesla's behaviour).
	KeepRefreshToken bool

	// MaxPerPage caps per_page on the listing. Default 100. [guess: Tesla
	// does not document a cap.]
	MaxPerPage int
	// OmitPagination leaves the pagination object out of listing answers,
	// so only a short page tells the end. [guess: always present today.]
	OmitPagination bool
	// Miles writes warranty odometers in miles ("MI"), as for a North
	// American account; kilometres ("KM") otherwise. [guess: EU accounts
	// answer in km.]
	Miles bool
	// RateLimitReset is the RateLimit-Reset written on the 429 answer;
	// the Retry-After wait when zero. Resets of many hours were seen.
	RateLimitReset time.Duration
	// Limit and Per set a request-rate limit on the Fleet API (none when
	// Limit is 0).
	Limit int
	Per   time.Duration
}

// Sim is the simulated Tesla Fleet API with its Slack channel.
type Sim struct {
	opts   Options
	clock  *simkit.Clock
	tokens *simkit.Tokens

	api    *simkit.Server
	region *simkit.Server
	slack  *simkit.Server

	mu       sync.Mutex
	st       state
	refresh  map[string]string // live refresh token → account
	lastTok  map[string]string // account → newest access token posted
	lastTS   time.Time
	nextID   int64
	warranty map[string]string  // VIN → raw warranty response override
	options  map[string]string  // VIN → raw options response override
	pages    map[pageKey]string // account and page → raw listing answer override
}

type pageKey struct {
	account string
	page    int
}

type vehicle struct {
	Spec      simkit.Spec
	ID        int64
	VehicleID int64
	Accounts  []string // the accounts it is shared with; none when not shared
	State     string   // online, asleep, offline
}

// SlackMessage is one message in the simulated channel, in Slack's format.
type SlackMessage struct {
	TS     string          `json:"ts"`
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks,omitempty"`
}

type state struct {
	Accounts []string            `json:"accounts"`
	Vehicles map[string]*vehicle `json:"vehicles"`
	Messages []SlackMessage      `json:"messages"` // oldest first
	NextID   int64               `json:"next_id"`
}

// firstID is the first vehicle id handed out: beyond 2^53, like Tesla's.
const firstID int64 = 1493021234567890123

// New starts the three listeners.
func New(opts Options) (*Sim, error) {
	if opts.Clock == nil {
		opts.Clock = &simkit.Clock{}
	}

	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 8 * time.Hour
	}

	if opts.SlackToken == "" {
		opts.SlackToken = DefaultSlackToken
	}

	if opts.SlackChannel == "" {
		opts.SlackChannel = DefaultSlackChannel
	}

	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}

	if opts.MaxPerPage <= 0 {
		opts.MaxPerPage = 100
	}

	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		tokens:   simkit.NewTokens(opts.TokenTTL, opts.Clock),
		refresh:  make(map[string]string),
		lastTok:  make(map[string]string),
		warranty: make(map[string]string),
		options:  make(map[string]string),
		pages:    make(map[pageKey]string),
		st:       state{Vehicles: make(map[string]*vehicle), NextID: firstID},
	}

	if opts.StatePath != "" {
		var st state
		found, err := simkit.LoadState(opts.StatePath, &st)
		if err != nil {
			return nil, err
		}

		if found {
			if st.Vehicles == nil {
				st.Vehicles = make(map[string]*vehicle)
			}

			if st.NextID < firstID {
				st.NextID = firstID
			}

			s.st = st
		}
	}

	for _, a := range opts.Accounts {
		s.addAccount(a)
	}

	if len(s.st.Accounts) == 0 {
		s.addAccount(DefaultAccount)
	}

	var err error
	s.api, err = simkit.Start(s.apiRoutes(), simkit.Options{Addr: opts.Addr, Clock: opts.Clock,
		Limit: opts.Limit, Per: opts.Per, RenderRateLimit: s.renderRateLimit})
	if err != nil {
		return nil, err
	}

	s.region, err = simkit.Start(s.regionRoutes(), simkit.Options{Addr: opts.RegionAddr, Clock: opts.Clock})
	if err != nil {
		s.api.Close()
		return nil, err
	}

	s.slack, err = simkit.Start(s.slackRoutes(), simkit.Options{Addr: opts.SlackAddr, Clock: opts.Clock,
		RenderRateLimit: renderSlackRateLimit})
	if err != nil {
		s.api.Close()
		s.region.Close()

		return nil, err
	}

	if !opts.ManualTokens {
		for _, a := range s.Accounts() {
			s.PostToken(a)
		}
	}

	return s, nil
}

// URL is the Fleet API base URL (TESLA_BASE_URL).
func (s *Sim) URL() string { return s.api.URL() }

// RegionURL is the other region's base URL: every API call there answers
// 421 "user out of region, use base URL: <URL()>".
func (s *Sim) RegionURL() string { return s.region.URL() }

// SlackURL is the Slack Web API URL (SLACK_API_URL), ending in "/api/".
func (s *Sim) SlackURL() string { return s.slack.URL() + "/api/" }

// TokenURL is the OAuth token endpoint for refresh-token flows.
func (s *Sim) TokenURL() string { return s.api.URL() + TokenPath }

// Server is the Fleet API server: faults, counters, rate limit.
func (s *Sim) Server() *simkit.Server { return s.api }

// Region is the other region's server.
func (s *Sim) Region() *simkit.Server { return s.region }

// Slack is the Slack stand-in's server: faults and counters
// ("POST /api/conversations.history").
func (s *Sim) Slack() *simkit.Server { return s.slack }

// Tokens is the access-token issuer: ExpireAll revokes every token.
func (s *Sim) Tokens() *simkit.Tokens { return s.tokens }

// Clock is the Sim's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Env returns every setting that points the tesla connector at this Sim.
func (s *Sim) Env() map[string]string {
	return map[string]string{
		"TESLA_BASE_URL":      s.URL(),
		"SLACK_TOKEN":         s.opts.SlackToken,
		"TESLA_SLACK_CHANNEL": s.opts.SlackChannel,
		"SLACK_API_URL":       s.SlackURL(),
		"TESLA_ACCOUNTS":      strings.Join(s.Accounts(), ","),
	}
}

// Accounts returns the accounts the Sim knows, in the order they came.
func (s *Sim) Accounts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return slices.Clone(s.st.Accounts)
}

func (s *Sim) addAccount(a string) string {
	a = strings.ToUpper(strings.TrimSpace(a))
	if a != "" && !slices.Contains(s.st.Accounts, a) {
		s.st.Accounts = append(s.st.Accounts, a)
	}

	return a
}

// Add seeds vehicles. Spec.Account names the account (the first known
// account when empty); Spec.Initial "active" (or "pending") means shared
// with it, and so listed; any other word means Tesla knows the vehicle but
// no configured account lists it. A new account gets a token message
// unless ManualTokens is set. Spec.Outcome and After are not used: Tesla has
// no enrolment call; Share and Unshare play the owner's part.
func (s *Sim) Add(specs ...simkit.Spec) {
	var fresh []string

	s.mu.Lock()
	for _, sp := range specs {
		vin := strings.ToUpper(strings.TrimSpace(sp.VIN))
		account := strings.ToUpper(strings.TrimSpace(sp.Account))
		if account == "" {
			account = s.st.Accounts[0]
		}

		if !slices.Contains(s.st.Accounts, account) {
			s.addAccount(account)
			fresh = append(fresh, account)
		}

		v := &vehicle{Spec: sp, ID: s.st.NextID, VehicleID: 900000000 + s.st.NextID%100000000,
			State: "online"}
		s.st.NextID++
		v.Spec.VIN = vin
		if sp.Initial == "active" || sp.Initial == "pending" {
			v.Accounts = []string{account}
		}

		s.st.Vehicles[vin] = v
	}
	s.mu.Unlock()

	if !s.opts.ManualTokens {
		for _, a := range fresh {
			s.PostToken(a)
		}
	}
}

// Share makes account list vin too (the owner shared it with that
// account); a vehicle may be listed in several accounts.
func (s *Sim) Share(vin, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.st.Vehicles[strings.ToUpper(vin)]
	if ok {
		a := s.addAccount(account)
		if !slices.Contains(v.Accounts, a) {
			v.Accounts = append(v.Accounts, a)
		}
	}

	return ok
}

// Unshare removes vin from every account's listing.
func (s *Sim) Unshare(vin string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.st.Vehicles[strings.ToUpper(vin)]
	if ok {
		v.Accounts = nil
	}

	return ok
}

// SetVehicleState sets the listing's state word of vin ("online",
// "asleep", "offline").
func (s *Sim) SetVehicleState(vin, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if v, ok := s.st.Vehicles[strings.ToUpper(vin)]; ok {
		v.State = state
	}
}

// SetOptionsJSON replaces the options answer of vin by raw (the whole
// answer body), for odd shapes; "" restores the generated one.
func (s *Sim) SetOptionsJSON(vin, raw string) {
	s.mu.Lock()
	s.options[strings.ToUpper(vin)] = raw
	s.mu.Unlock()
}

// SetListPageJSON replaces the listing answer of page (1 for the first)
// of account by raw, the whole answer body served with status 200, for
// listings that stop early or odd shapes ({"response":null}, an empty
// response with "next":null, …); "" restores the generated page. The
// other pages stay generated, with the pagination and count of the
// account's real listing.
func (s *Sim) SetListPageJSON(account string, page int, raw string) {
	k := pageKey{strings.ToUpper(strings.TrimSpace(account)), page}

	s.mu.Lock()
	defer s.mu.Unlock()

	if raw == "" {
		delete(s.pages, k)
		return
	}

	s.pages[k] = raw
}

// SetWarrantyJSON replaces the warranty answer of vin by raw (the whole
// answer body); "" restores the generated one.
func (s *Sim) SetWarrantyJSON(vin, raw string) {
	s.mu.Lock()
	s.warranty[strings.ToUpper(vin)] = raw
	s.mu.Unlock()
}

// State returns "shared" when an account lists vin, "not_shared" when Tesla
// knows it but no account lists it, and false for a VIN it does not know.
func (s *Sim) State(vin string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.st.Vehicles[strings.ToUpper(vin)]
	if !ok {
		return "", false
	}

	if len(v.Accounts) > 0 {
		return "shared", true
	}

	return "not_shared", true
}

// VehicleAccounts returns the accounts listing vin.
func (s *Sim) VehicleAccounts(vin string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()

	if v, ok := s.st.Vehicles[strings.ToUpper(vin)]; ok {
		return slices.Clone(v.Accounts)
	}

	return nil
}

// ID returns the vehicle id of vin as the listing writes it.
func (s *Sim) ID(vin string) string {
	s.mu.Lock()
	defer s.mu.Unlock()

	if v, ok := s.st.Vehicles[strings.ToUpper(vin)]; ok {
		return fmt.Sprint(v.ID)
	}

	return ""
}

// IssueToken issues an access token and a refresh token for account
// without posting anything.
func (s *Sim) IssueToken(account string) (access, refresh string) {
	account = strings.ToUpper(strings.TrimSpace(account))
	access = s.tokens.Issue("sim-tesla-access-", account)
	refresh = s.tokens.Issue("sim-tesla-refresh-", "")

	s.mu.Lock()
	s.refresh[refresh] = account
	s.mu.Unlock()

	return access, refresh
}

// PostToken issues a token for account and posts it to the channel as a
// token message; it returns the access token.
func (s *Sim) PostToken(account string) string {
	account = strings.ToUpper(strings.TrimSpace(account))
	access, refresh := s.IssueToken(account)
	doc, _ := json.Marshal(map[string]any{
		"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
		"expires_in": int(s.opts.TokenTTL.Seconds()),
	})

	s.mu.Lock()
	s.lastTok[account] = access
	s.mu.Unlock()

	s.PostMessage("Tesla access token for "+account, TokenBlocks(account, string(doc)))

	return access
}

// PostMessage appends a message with the given fallback text and blocks
// (nil for none) to the channel and returns its ts.
func (s *Sim) PostMessage(text string, blocks json.RawMessage) string {
	s.mu.Lock()
	defer s.mu.Unlock()

	t := s.clock.Now()
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}

	s.lastTS = t
	ts := fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
	s.st.Messages = append(s.st.Messages, SlackMessage{TS: ts, Text: text, Blocks: blocks})

	return ts
}

// Messages returns the channel's messages, oldest first.
func (s *Sim) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()

	return slices.Clone(s.st.Messages)
}

// TokenBlocks builds the blocks of a token message: one rich_text block
// whose section holds the text "ACCESS_TOKEN_<ACCOUNT>:", two more texts,
// and the JSON document doc as the fourth element.
func TokenBlocks(account, doc string) json.RawMessage {
	text := func(t string, style map[string]bool) map[string]any {
		m := map[string]any{"type": "text", "text": t}
		if style != nil {
			m["style"] = style
		}

		return m
	}

	b, _ := json.Marshal([]any{map[string]any{
		"type":     "rich_text",
		"block_id": "tok" + fmt.Sprint(len(account)),
		"elements": []any{map[string]any{
			"type": "rich_text_section",
			"elements": []any{
				text(TokenPrefix+account+":", map[string]bool{"bold": true}),
				text("\n", nil),
				text("Fleet API access token\n", map[string]bool{"italic": true}),
				text(doc, map[string]bool{"code": true}),
			},
		}},
	}})

	return b
}

// TokenPrefix starts a token message.
const TokenPrefix = "ACCESS_TOKEN_"

// Save writes state to StatePath; without one it does nothing.
func (s *Sim) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	return simkit.SaveState(s.opts.StatePath, s.st)
}

// Close saves, then stops the listeners.
func (s *Sim) Close() error {
	err := s.Save()
	s.api.Close()
	s.region.Close()
	s.slack.Close()

	return err
}

// vinOK reports whether vin is a well-formed VIN, as Tesla checks it.
func vinOK(vin string) bool {
	_, err := oem.ParseVIN(vin)
	return err == nil && len(vin) == 17
}
