// Package oem is the core of vehicleinfo: the types every part of the
// library shares and the run that ties them together.
//
// A Connector speaks to one carmaker's (OEM's) API: it lists the vehicles
// the OEM knows (Fleet), switches data sharing on and off (Activate,
// Deactivate) and describes vehicles (Describe). Connectors register a
// Driver under a lower-case name from their package's init, as database/sql
// drivers do, so a program opens every configured connector with
// OpenFromEnv after importing the connector packages for their side effect.
//
// A Store keeps the wanted fleet (FleetEntry: what the company wants to
// share), what is known of each Vehicle, the append-only history of status
// changes, Model records and runs. Package store has the SQL store; package
// oemtest an in-memory one.
//
// An Ingester runs it all: it reads the wanted fleet, routes each vehicle
// to its connectors (Routing), lets an Activator (package activation) plan
// and apply activations and deactivations from what each OEM lists,
// describes the vehicles whose information is missing or stale, saves in
// batches as results arrive, and returns a Report. Connectors run
// concurrently and in isolation: one OEM that fails or hangs does not stop
// the others.
//
// Every failure is typed. The sentinels (ErrRateLimited, ErrAuth, ...) say
// what kind of failure it was whatever the OEM; an *APIError carries the
// OEM's answer; a *VehicleError names the one vehicle it concerns, and a
// *RowError the fleet file line.
package oem
