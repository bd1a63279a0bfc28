package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vehicleinfo/ingest/bmw/bmwtest"
	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/filelock"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
	"github.com/vehicleinfo/ingest/tesla/teslatest"
)

// DefaultSeed is the seed of the sandbox's world.
const DefaultSeed = 20261204

// Options set up a Sandbox.
type Options struct {
	// Dir holds the simulators' state between runs; created if missing.
	Dir string
	// Seed picks the world (DefaultSeed when zero).
	Seed uint64
}

// sim is what the sandbox needs of each simulator.
type sim interface {
	URL() string
	Server() *simkit.Server
	Env() map[string]string
	Save() error
	Close() error
}

// Sandbox is the five simulators running on loopback with the world in
// them.
type Sandbox struct {
	// World is the generated fleet; import World.Fleet as the wanted fleet.
	World *World
	// Fresh is true when the simulators were seeded by this start, false
	// when they took up the state an earlier run left.
	Fresh bool

	env    map[string]string
	sims   map[string]sim
	unlock func()
}

// ErrInUse is returned by Start when another process runs a sandbox over
// the same state directory: the two would each simulate the OEMs from the
// same files and overwrite each other's world.
var ErrInUse = errors.New("sandbox: the state directory is in use by another run")

// Names are the simulators in start order.
var Names = []string{"bmw", "hm", "renault", "stellantis", "tesla"}

// Start starts the five simulators on free loopback ports. When Dir holds
// state from an earlier run they take it up; otherwise they are seeded
// with the world.
func Start(opts Options) (*Sandbox, error) {
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}

	if opts.Dir == "" {
		return nil, errors.New("sandbox: a state directory is required")
	}

	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	unlock, ok, err := filelock.TryLock(filepath.Join(opts.Dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrInUse, opts.Dir)
	}

	sb := &Sandbox{World: Generate(opts.Seed), env: map[string]string{}, sims: map[string]sim{}, unlock: unlock}
	path := func(name string) string { return filepath.Join(opts.Dir, name+".json") }

	sb.Fresh = true
	for _, n := range Names {
		if _, err := os.Stat(path(n)); err == nil {
			sb.Fresh = false
		}
	}

	starters := map[string]func() (sim, error){
		"bmw": func() (sim, error) { return bmwtest.New(bmwtest.Options{StatePath: path("bmw")}) },
		"hm":  func() (sim, error) { return hmtest.New(hmtest.Options{StatePath: path("hm")}) },
		"renault": func() (sim, error) {
			return renaulttest.New(renaulttest.Options{StatePath: path("renault")})
		},
		"stellantis": func() (sim, error) {
			return stellantistest.New(stellantistest.Options{StatePath: path("stellantis")})
		},
		"tesla": func() (sim, error) {
			return teslatest.New(teslatest.Options{StatePath: path("tesla"), Accounts: TeslaAccounts})
		},
	}

	for _, n := range Names {
		s, err := starters[n]()
		if err != nil {
			sb.Close()
			return nil, fmt.Errorf("sandbox: start %s simulator: %w", n, err)
		}

		sb.sims[n] = s
		if sb.Fresh {
			add(s, sb.World.Specs[n])
		}

		maps.Copy(sb.env, s.Env())
	}

	if sb.Fresh {
		// Save the seeded world at once, so a run stopped half-way still
		// leaves a world to come back to.
		if err := sb.Save(); err != nil {
			sb.Close()
			return nil, err
		}
	}

	return sb, nil
}

func add(s sim, specs []simkit.Spec) {
	type adder interface{ Add(...simkit.Spec) }
	if a, ok := s.(adder); ok && len(specs) > 0 {
		a.Add(specs...)
	}
}

// Getenv looks settings up in the simulators' environment: the fake
// credentials and loopback URLs that point each connector at its
// simulator. It never reads the process environment.
func (sb *Sandbox) Getenv(key string) string { return sb.env[key] }

// Settings returns the names of every setting Getenv answers, sorted.
func (sb *Sandbox) Settings() []string {
	return slices.Sorted(maps.Keys(sb.env))
}

// Server returns the named simulator's server (counters, faults).
func (sb *Sandbox) Server(name string) *simkit.Server {
	if s, ok := sb.sims[name]; ok {
		return s.Server()
	}

	return nil
}

// Requests returns each simulator's request counts by endpoint.
func (sb *Sandbox) Requests() map[string]map[string]int {
	out := make(map[string]map[string]int, len(sb.sims))
	for n, s := range sb.sims {
		out[n] = s.Server().Counters.Snapshot()
	}

	return out
}

// StateChanging counts, per simulator, the requests that change state at
// the OEM: enrolments, fleet changes and removals.
func (sb *Sandbox) StateChanging() map[string]int {
	out := make(map[string]int, len(sb.sims))
	for n, s := range sb.sims {
		out[n] = s.Server().Counters.Sum(IsStateChanging)
	}

	return out
}

// IsStateChanging reports whether a simulator endpoint pattern ("POST
// /vehicle") changes state at the OEM. Logins and look-ups with POST
// bodies (eligibility checks) do not.
func IsStateChanging(endpoint string) bool {
	method, path, _ := strings.Cut(endpoint, " ")
	if method == "GET" || method == "HEAD" {
		return false
	}

	for _, readOnly := range []string{"auth", "token", "login", "eligibilit", "vin-checker", "fleet_status",
		"access_token", "conversations", "cognito"} {
		if strings.Contains(strings.ToLower(path), readOnly) {
			return false
		}
	}

	return true
}

// Save writes every simulator's state.
func (sb *Sandbox) Save() error {
	var errs []error
	for _, n := range Names {
		if s, ok := sb.sims[n]; ok {
			if err := s.Save(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: save %s: %w", n, err))
			}
		}
	}

	return errors.Join(errs...)
}

// Close saves the simulators' state, stops them and frees the state
// directory.
func (sb *Sandbox) Close() error {
	var errs []error
	for _, n := range Names {
		if s, ok := sb.sims[n]; ok {
			if err := s.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: close %s: %w", n, err))
			}
		}
	}

	if sb.unlock != nil {
		sb.unlock()
		sb.unlock = nil
	}

	return errors.Join(errs...)
}
