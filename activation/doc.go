// Package activation is the default oem.Activator. It turns what the company
// wants (a fleet entry's WantActive) and what an OEM lists into a plan for
// one connector, then carries the plan out in batches:
//
//   - a wanted vehicle that is not active or pending is activated, after an
//     eligibility check where the connector can do one;
//   - an unwanted vehicle that is active or pending is deactivated;
//   - a pending vehicle is never requested again, an OEM's "deactivating"
//     is left alone, and a rejected or ineligible vehicle waits out a
//     cool-down measured from its status change;
//   - a vehicle a complete listing omitted is never deactivated for that
//     alone;
//   - a wanted vehicle the fleet marks not eligible (FleetEntry.Eligible
//     false) is not activated: each activation can cost money;
//   - a plan with more activations than the cap is refused as a whole.
//
// Planning is pure: it calls nothing, so a dry run is Plan without Apply.
package activation
