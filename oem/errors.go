package oem

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The error taxonomy. Connectors wrap these (usually inside an *APIError or
// a *VehicleError) so callers can test the kind with errors.Is whatever the
// OEM.
var (
	ErrAuth             = errors.New("authentication failed")
	ErrLoginRequired    = errors.New("login required again")
	ErrConsentRevoked   = errors.New("consent revoked")
	ErrPermissionDenied = errors.New("permission denied")
	ErrNotFound         = errors.New("not found")
	ErrNotEnrolled      = errors.New("vehicle not enrolled")
	ErrRateLimited      = errors.New("rate limited")
	ErrQuotaExhausted   = errors.New("quota exhausted")
	ErrUnavailable      = errors.New("vehicle unavailable") // asleep, offline
	ErrNoData           = errors.New("no data yet")         // approved, nothing delivered yet
	ErrNotSupported     = errors.New("not supported")
	ErrInvalidInput     = errors.New("invalid input")
	ErrConflict         = errors.New("conflict or in transition")
	ErrTransient        = errors.New("upstream transient failure")
	ErrUnroutable       = errors.New("no connector serves this vehicle")
)

// Kinds lists the sentinels in a stable order, for reports that count errors
// by kind.
func Kinds() []error {
	return []error{
		ErrAuth, ErrLoginRequired, ErrConsentRevoked, ErrPermissionDenied, ErrNotFound,
		ErrNotEnrolled, ErrRateLimited, ErrQuotaExhausted, ErrUnavailable, ErrNoData,
		ErrNotSupported, ErrInvalidInput, ErrConflict, ErrTransient, ErrUnroutable,
	}
}

// KindOf names the kind of err as a short snake_case word ("rate_limited"),
// "canceled" for a cancelled context, or "other".
func KindOf(err error) string {
	if err == nil {
		return ""
	}

	for _, k := range Kinds() {
		if errors.Is(err, k) {
			return strings.ReplaceAll(kindWord(k), " ", "_")
		}
	}

	if isCanceled(err) {
		return "canceled"
	}

	return "other"
}

func kindWord(k error) string {
	switch k {
	case ErrAuth:
		return "auth"
	case ErrLoginRequired:
		return "login_required"
	case ErrConsentRevoked:
		return "consent_revoked"
	case ErrPermissionDenied:
		return "permission_denied"
	case ErrNotFound:
		return "not_found"
	case ErrNotEnrolled:
		return "not_enrolled"
	case ErrRateLimited:
		return "rate_limited"
	case ErrQuotaExhausted:
		return "quota_exhausted"
	case ErrUnavailable:
		return "unavailable"
	case ErrNoData:
		return "no_data"
	case ErrNotSupported:
		return "not_supported"
	case ErrInvalidInput:
		return "invalid_input"
	case ErrConflict:
		return "conflict"
	case ErrTransient:
		return "transient"
	case ErrUnroutable:
		return "unroutable"
	}

	return k.Error()
}

// APIError is an OEM's answer that was not a success, built in one place by
// the HTTP stack. It never holds a secret: the body snippet is bounded and
// redacted.
type APIError struct {
	Connector  string // "bmw"
	Op         string // what was being done: "register vehicle"
	Method     string
	Path       string // the URL path, without query
	StatusCode int
	Code       string // the OEM's own error code, e.g. "BMWFD_VEHICLE_NOT_ALLOWED"
	Message    string // the OEM's message, when it gave one
	RequestID  string
	Snippet    string // the start of the body, bounded
	// Kind is the taxonomy sentinel this answer maps to; errors.Is sees it.
	Kind error
	// RetryAfter is how long the OEM asked us to wait, when it said.
	RetryAfter time.Duration
	// Reset is when a spent quota comes back, when the OEM said.
	Reset time.Time
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Connector != "" {
		b.WriteString(e.Connector)
		b.WriteString(": ")
	}

	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}

	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}

	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Snippet != "" {
		fmt.Fprintf(&b, ": %q", e.Snippet)
	}

	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}

	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}

	return b.String()
}

// Unwrap exposes the kind to errors.Is.
func (e *APIError) Unwrap() error { return e.Kind }

// VehicleError is a failure about one vehicle. In a Fleet or Describe stream
// a *VehicleError is about that vehicle only and the stream goes on; any
// other error ends the stream.
type VehicleError struct {
	VIN VIN
	Op  string // "activate", "describe", ...
	Err error
}

func (e *VehicleError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("vehicle %s: %v", e.VIN, e.Err)
	}

	return fmt.Sprintf("%s %s: %v", e.Op, e.VIN, e.Err)
}

func (e *VehicleError) Unwrap() error { return e.Err }

// NewVehicleError wraps err as a failure of op for one vehicle.
func NewVehicleError(vin VIN, op string, err error) error {
	return &VehicleError{VIN: vin, Op: op, Err: err}
}

// AsVehicleError returns the *VehicleError in err's chain, if any.
func AsVehicleError(err error) (*VehicleError, bool) {
	var ve *VehicleError
	ok := errors.As(err, &ve)

	return ve, ok
}

// RetryAfter returns the wait an error asks for (from an *APIError), and
// whether it said one.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}

	return 0, false
}

// RowError is a fleet file row that cannot be used; the other rows go on.
type RowError struct {
	Line int    // 1-based line in the file; 0 for the file as a whole
	VIN  string // the VIN as written, when there was one
	Err  error
}

func (e *RowError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("fleet file: %v", e.Err)
	}

	if e.VIN != "" {
		return fmt.Sprintf("line %d (vin %s): %v", e.Line, e.VIN, e.Err)
	}

	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

func isCanceled(err error) bool {
	return errors.Is(err, errCanceled) || errors.Is(err, errDeadline)
}
