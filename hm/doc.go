// Package hm is the High Mobility connector: an aggregator that gives fleet
// access to many brands (Mercedes-Benz, Ford, Kia, Volvo, Renault, the
// Stellantis brands and more) through one API.
//
// The connector speaks five of High Mobility's APIs:
//
//   - OAuth2 (auth.go): client credentials posted as a JSON body to
//     /v1/access_tokens; the five-minute token is cached and fetched again
//     shortly before it expires.
//   - Fleet clearance (fleet.go, activate.go): the listing of every
//     clearance, decoded as a stream so memory does not grow with the
//     fleet; activation in batches with per-item results; deactivation one
//     VIN at a time with High Mobility's 409 and 422 answers mapped to
//     "already done", "retry later" and "not supported".
//   - Eligibility (eligibility.go): the optional oem.EligibilityChecker.
//   - Vehicle data and static data (describe.go): standardised make,
//     model, version, powertrain and battery capacity, each with its
//     source.
//
// # Brands
//
// High Mobility needs the vehicle's brand to create a clearance, and names
// brands its own way: hyphenated in the clearance and eligibility APIs
// ("mercedes-benz", "volvo-cars", "alfaromeo"), underscored in data answers
// ("mercedes_benz", "volvo_cars"). The connector translates between those
// and the canonical makes of oem.NormalizeMake (brands.go).
//
// At activation the brand of a VIN is, in this order: the one a caller gave
// for that VIN with Config.Brands or Connector.SetBrands (any spelling: a
// make such as "Mercedes-Benz", or a High Mobility name such as
// "mercedes-benz" or "sandbox"), else the make of the VIN's WMI
// (oem.VIN.Make). A VIN with neither gets a per-vehicle oem.ErrInvalidInput
// Result and is never sent.
//
// The simulator in hm/hmtest speaks the same wire format for tests and the
// sandbox.
package hm
