package simkit

import "time"

// Outcome is what a simulated OEM does with an activation request.
type Outcome string

const (
	// OutcomeApprove: pending at first, active after Spec.After.
	OutcomeApprove Outcome = "approve"
	// OutcomePending: pending for ever (the driver never consents).
	OutcomePending Outcome = "pending"
	// OutcomeReject: pending at first, rejected after Spec.After with
	// Spec.Reason.
	OutcomeReject Outcome = "reject"
	// OutcomeIneligible: the eligibility check says no and activation is
	// refused the way that OEM refuses it.
	OutcomeIneligible Outcome = "ineligible"
)

// Spec describes one vehicle for a simulator to know, in terms every
// simulator maps onto its own wire format. The sandbox builds its world
// from these; tests seed single vehicles with them.
type Spec struct {
	VIN   string
	Make  string // canonical make, as oem.NormalizeMake gives it
	Model string // "i3", "Model 3", "ZOE", "e-208"
	// Type and Version are the OEM's codes where it has them ("94",
	// "R135", "MT337"); Trim is a display trim ("Long Range AWD").
	Type       string
	Version    string
	Trim       string
	Year       int
	Powertrain string  // "bev", "phev", "hev", "ice"
	BatteryKWh float64 // 0 when unknown
	RangeKm    int
	// WarrantyKm and WarrantyYears are the battery or vehicle warranty
	// the OEM reports, where it reports one.
	WarrantyKm    int
	WarrantyYears int
	BuildDate     time.Time
	FirstReg      time.Time
	LicencePlate  string
	// Account is the OEM account or fleet the vehicle belongs to (a Tesla
	// account name, a BMW fleet name); empty for the default.
	Account string
	// Initial is the vehicle's state at the OEM when seeded: "" (unknown to
	// the OEM's fleet), "active", "pending", "rejected", "inactive".
	Initial string
	// Outcome and After say what an activation request leads to.
	Outcome Outcome
	After   time.Duration
	// Reason is the rejection or ineligibility reason.
	Reason string
}
