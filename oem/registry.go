package oem

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Driver opens a connector from settings. Drivers register themselves from
// their package's init, in the manner of database/sql.
type Driver interface {
	// Settings lists the variables the driver reads. Required ones must all
	// be set for the connector to open; if none of them is set the
	// connector is skipped by OpenFromEnv.
	Settings() []Setting

	// Open builds the connector from getenv (os.Getenv in programs, a map
	// in tests) and what the program hands every connector in o.
	Open(getenv func(string) string, o OpenOptions) (Connector, error)
}

// OpenOptions are what a program hands every connector it opens, beside
// the settings. The zero value is valid.
type OpenOptions struct {
	// Logger receives the connector's warnings and, at debug level, its
	// wire traffic with secrets redacted; nil keeps the connector quiet.
	Logger *slog.Logger
}

// OpenOption sets an OpenOptions field.
type OpenOption func(*OpenOptions)

// WithConnectorLogger hands l to every connector opened.
func WithConnectorLogger(l *slog.Logger) OpenOption {
	return func(o *OpenOptions) { o.Logger = l }
}

func openOptions(opts []OpenOption) OpenOptions {
	var o OpenOptions
	for _, f := range opts {
		f(&o)
	}

	return o
}

// Setting describes one variable a driver reads.
type Setting struct {
	Name     string // e.g. "BMW_CLIENT_ID"
	Required bool
	Secret   bool   // never log its value
	Doc      string // one line for help texts
}

// DriverFunc adapts a settings list and an open function to a Driver.
type DriverFunc struct {
	Vars     []Setting
	OpenFunc func(getenv func(string) string, o OpenOptions) (Connector, error)
}

// Settings returns d.Vars.
func (d DriverFunc) Settings() []Setting { return d.Vars }

// Open calls d.OpenFunc.
func (d DriverFunc) Open(getenv func(string) string, o OpenOptions) (Connector, error) {
	return d.OpenFunc(getenv, o)
}

// DriverOf builds a connector package's Driver from its settings, its
// environment parsing and its constructor; open receives the program's
// logger (OpenOptions.Logger, nil for none) beside the parsed config. A
// failed open gives a nil Connector, never a typed nil inside one.
func DriverOf[C any, T Connector](settings []Setting, fromEnv func(getenv func(string) string) (C, error),
	open func(cfg C, logger *slog.Logger) (T, error)) Driver {
	return DriverFunc{Vars: settings, OpenFunc: func(getenv func(string) string, o OpenOptions) (Connector, error) {
		cfg, err := fromEnv(getenv)
		if err != nil {
			return nil, err
		}

		c, err := open(cfg, o.Logger)
		if err != nil {
			return nil, err
		}

		return c, nil
	}}
}

// Registry holds named drivers. The package-level functions use a default
// registry that connector packages fill from init; programs and tests that
// want no globals make their own with NewRegistry.
type Registry struct {
	mu      sync.RWMutex
	drivers map[string]Driver
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{drivers: make(map[string]Driver)}
}

var defaultRegistry = NewRegistry()

// DefaultRegistry returns the registry that Register fills.
func DefaultRegistry() *Registry { return defaultRegistry }

// Register makes a driver available under name in the default registry. It
// panics if name is empty, not lower-case, already registered, or the driver
// is nil.
func Register(name string, d Driver) { defaultRegistry.Register(name, d) }

// Drivers returns the sorted names of the default registry's drivers.
func Drivers() []string { return defaultRegistry.Drivers() }

// Open opens the named connector from the default registry.
func Open(name string, getenv func(string) string, opts ...OpenOption) (Connector, error) {
	return defaultRegistry.Open(name, getenv, opts...)
}

// OpenFromEnv opens every connector of the default registry whose settings
// are present; see Registry.OpenFromEnv.
func OpenFromEnv(getenv func(string) string, opts ...OpenOption) ([]Connector, error) {
	return defaultRegistry.OpenFromEnv(getenv, opts...)
}

// Register adds a driver. It panics on an empty or non-lower-case name, a nil
// driver or a duplicate, as database/sql does.
func (r *Registry) Register(name string, d Driver) {
	if err := r.AddSafely(name, d); err != nil {
		panic(err)
	}
}

// AddSafely is Register returning an error instead of panicking.
func (r *Registry) AddSafely(name string, d Driver) error {
	if name == "" || name != strings.ToLower(name) || strings.TrimSpace(name) != name {
		return fmt.Errorf("oem: register %q: name must be non-empty lower case", name)
	}

	if d == nil {
		return fmt.Errorf("oem: register %q: driver is nil", name)
	}

	r.mu.Lock()
	defer r.mu.Unlock()

	if _, dup := r.drivers[name]; dup {
		return fmt.Errorf("oem: register called twice for driver %q", name)
	}

	r.drivers[name] = d

	return nil
}

// Drivers returns the sorted names of the registered drivers.
func (r *Registry) Drivers() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()

	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}

	slices.Sort(names)

	return names
}

// Driver returns the named driver.
func (r *Registry) Driver(name string) (Driver, error) {
	r.mu.RLock()
	d, ok := r.drivers[name]
	r.mu.RUnlock()

	if !ok {
		return nil, fmt.Errorf("oem: unknown connector %q (forgotten import? e.g. _ \"github.com/vehicleinfo/ingest/%s\"); registered: %s",
			name, name, strings.Join(r.Drivers(), ", "))
	}

	return d, nil
}

// Open opens the named connector, failing when a required setting is
// missing.
func (r *Registry) Open(name string, getenv func(string) string, opts ...OpenOption) (Connector, error) {
	d, err := r.Driver(name)
	if err != nil {
		return nil, err
	}

	if _, missing := presence(d, getenv); len(missing) > 0 {
		return nil, &SettingsError{Connector: name, Missing: missing}
	}

	c, err := d.Open(getenv, openOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("oem: open %s: %w", name, err)
	}

	return c, nil
}

// OpenFromEnv opens every registered connector whose settings are present,
// in name order. A connector with none of its required settings set is
// skipped; one with some but not all fails the call with a *SettingsError
// naming the missing variables (all such connectors are named, joined).
func (r *Registry) OpenFromEnv(getenv func(string) string, opts ...OpenOption) ([]Connector, error) {
	o := openOptions(opts)

	var (
		out  []Connector
		errs []error
	)

	for _, name := range r.Drivers() {
		d, _ := r.Driver(name)
		set, missing := presence(d, getenv)
		if set == 0 {
			continue
		}

		if len(missing) > 0 {
			errs = append(errs, &SettingsError{Connector: name, Missing: missing})
			continue
		}

		c, err := d.Open(getenv, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("oem: open %s: %w", name, err))
			continue
		}

		out = append(out, c)
	}

	if len(errs) > 0 {
		return out, joinErrors(errs)
	}

	return out, nil
}

// presence counts the required settings that are set and names the missing
// ones.
func presence(d Driver, getenv func(string) string) (set int, missing []string) {
	for _, s := range d.Settings() {
		if !s.Required {
			continue
		}

		if strings.TrimSpace(getenv(s.Name)) != "" {
			set++
		} else {
			missing = append(missing, s.Name)
		}
	}

	return set, missing
}

// SettingsError says which required settings a half-configured connector
// lacks. It names variables only, never values.
type SettingsError struct {
	Connector string
	Missing   []string
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("oem: %s is partly configured: missing %s", e.Connector, strings.Join(e.Missing, ", "))
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *SettingsError) Is(target error) bool { return target == ErrInvalidInput }
