package oem

import (
	"fmt"
	"maps"
	"strings"
)

// Route names the connectors that serve one vehicle: Activate lists it and
// switches its data sharing on and off, Describe says what it is. They
// differ when an OEM's own API describes its vehicles but another service
// enrols them (Renault: activated through High Mobility, described by
// Renault).
type Route struct {
	Activate string
	Describe string
}

// Routing maps fleet entries to connectors. An entry's explicit connector
// name wins (looked up in Names, else used for both roles), then its make,
// then the make of its VIN's WMI; a known make without a route of its own
// goes to Default. An entry with no make at all and an unknown WMI has no
// route.
type Routing struct {
	// Makes maps canonical make names (NormalizeMake) to routes.
	Makes map[string]Route
	// Names maps explicit connector names that stand for a split route
	// ("renault") to that route.
	Names map[string]Route
	// Default serves any other known make; an empty Activate means none.
	Default Route
}

// Connector names used by the default routing.
const (
	ConnectorBMW        = "bmw"
	ConnectorHM         = "hm"
	ConnectorStellantis = "stellantis"
	ConnectorTesla      = "tesla"
	ConnectorRenault    = "renault"
)

// DefaultRouting returns the routing the old module used: BMW and MINI
// through bmw, Tesla through tesla, the Stellantis brands through
// stellantis, Renault and Dacia activated through hm and described through
// renault, and every other make through hm.
func DefaultRouting() Routing {
	one := func(name string) Route { return Route{Activate: name, Describe: name} }
	renault := Route{Activate: ConnectorHM, Describe: ConnectorRenault}

	makes := map[string]Route{
		MakeBMW:     one(ConnectorBMW),
		MakeMini:    one(ConnectorBMW),
		MakeTesla:   one(ConnectorTesla),
		MakeRenault: renault,
		MakeDacia:   renault,
	}
	for _, m := range []string{MakePeugeot, MakeCitroen, MakeDS, MakeOpel, MakeVauxhall,
		MakeFiat, MakeJeep, MakeAlfaRomeo, MakeLancia, MakeAbarth} {
		makes[m] = one(ConnectorStellantis)
	}

	return Routing{
		Makes:   makes,
		Names:   map[string]Route{ConnectorRenault: renault},
		Default: one(ConnectorHM),
	}
}

// Clone returns a deep copy, to change without touching the original.
func (r Routing) Clone() Routing {
	r.Makes = maps.Clone(r.Makes)
	r.Names = maps.Clone(r.Names)

	return r
}

// Route returns the route for e, and false when nothing routes it.
func (r Routing) Route(e FleetEntry) (Route, bool) {
	if name := strings.ToLower(strings.TrimSpace(e.Connector)); name != "" {
		if rt, ok := r.Names[name]; ok {
			return rt, true
		}

		return Route{Activate: name, Describe: name}, true
	}

	mk := NormalizeMake(e.Make)
	if mk == "" {
		mk = e.VIN.Make()
	}

	if mk == "" {
		return Route{}, false
	}

	if rt, ok := r.Makes[mk]; ok {
		return rt, true
	}

	if rt, ok := r.makeFold(mk); ok {
		return rt, true
	}

	if r.Default.Activate == "" {
		return Route{}, false
	}

	return r.Default, true
}

// makeFold finds a route whose make matches mk regardless of case, for
// hand-written routing tables.
func (r Routing) makeFold(mk string) (Route, bool) {
	for k, rt := range r.Makes {
		if strings.EqualFold(NormalizeMake(k), mk) {
			return rt, true
		}
	}

	return Route{}, false
}

// UnroutableError says why no connector serves a vehicle. errors.Is(err,
// ErrUnroutable) holds for it.
type UnroutableError struct {
	VIN       VIN
	Make      string // the make the routing went by, if any
	Connector string // the connector it was routed to, when that one is not open
}

func (e *UnroutableError) Error() string {
	switch {
	case e.Connector != "":
		return fmt.Sprintf("%s: routed to connector %q, which is not open: %v",
			e.VIN, e.Connector, ErrUnroutable)
	case e.Make != "":
		return fmt.Sprintf("%s: make %q: %v", e.VIN, e.Make, ErrUnroutable)
	}

	return fmt.Sprintf("%s: make unknown (no make given, WMI %s not known): %v",
		e.VIN, e.VIN.WMI(), ErrUnroutable)
}

// Unwrap exposes ErrUnroutable.
func (e *UnroutableError) Unwrap() error { return ErrUnroutable }
