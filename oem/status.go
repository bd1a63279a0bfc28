package oem

import "strings"

// Status is the canonical activation state of a vehicle at its OEM. Every
// connector maps its OEM's own words onto these and keeps the raw word
// beside it.
type Status string

const (
	StatusUnknown      Status = "unknown"      // the OEM said something we do not recognise
	StatusPending      Status = "pending"      // requested, waiting for consent or the OEM
	StatusActive       Status = "active"       // data sharing is on
	StatusRejected     Status = "rejected"     // the OEM or the driver refused
	StatusDeactivating Status = "deactivating" // removal requested, not finished
	StatusInactive     Status = "inactive"     // not sharing (never was, or removed)
	StatusIneligible   Status = "ineligible"   // the vehicle cannot share (too old, wrong market)
	StatusError        Status = "error"        // we could not find out or act; see the reason
)

// Statuses lists every canonical status in a stable order.
func Statuses() []Status {
	return []Status{
		StatusUnknown, StatusPending, StatusActive, StatusRejected,
		StatusDeactivating, StatusInactive, StatusIneligible, StatusError,
	}
}

// Valid reports whether s is one of the canonical statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusUnknown, StatusPending, StatusActive, StatusRejected,
		StatusDeactivating, StatusInactive, StatusIneligible, StatusError:
		return true
	}

	return false
}

// ParseStatus reads a canonical status word, case-insensitively. An empty or
// unknown word gives StatusUnknown and false.
func ParseStatus(s string) (Status, bool) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	if st.Valid() {
		return st, true
	}

	return StatusUnknown, false
}

// Sharing reports whether the status means data sharing is on or on its way.
func (s Status) Sharing() bool {
	return s == StatusActive || s == StatusPending
}

func (s Status) String() string { return string(s) }
