package stellantis

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// ErrExportFailed is wrapped by the error that ends a description when the
// car-states export reports a failure inside its stream, or stops before
// its closing bracket.
var ErrExportFailed = fmt.Errorf("car-states export failed: %w", oem.ErrTransient)

// ErrRepeatedPage is wrapped by the error that ends a listing whose page
// repeats the page before it (CASES 6).
var ErrRepeatedPage = fmt.Errorf("contracts page repeats the previous page: %w", oem.ErrTransient)

// classify adjusts the kind of a failed answer with the words Mobilisights
// uses. Errors come as {"name","message"}; the name lands in Code.
func classify(e *oem.APIError, _ []byte) {
	low := strings.ToLower(e.Code + " " + e.Message + " " + e.Snippet)
	switch {
	case strings.Contains(low, "eligib"):
		// Activation refused because the car cannot share data [guess:
		// the refusal's wording is not known; the simulator says
		// "not eligible"].
		switch e.StatusCode {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusUnprocessableEntity:
			e.Kind = oem.ErrPermissionDenied
		}
	case e.StatusCode == http.StatusForbidden && strings.Contains(low, "credential"):
		e.Kind = oem.ErrAuth
	}
}

// isIneligible reports whether err is an activation refused because the
// vehicle is not eligible.
func isIneligible(err error) bool {
	var ae *oem.APIError
	if !errors.As(err, &ae) {
		return false
	}

	low := strings.ToLower(ae.Code + " " + ae.Message + " " + ae.Snippet)

	return errors.Is(err, oem.ErrPermissionDenied) && strings.Contains(low, "eligib")
}

// codeKind maps an eligibility item's error_code to a kind. The codes are
// not documented; the words are read loosely.
func codeKind(code string) error {
	low := strings.ToLower(code)
	switch {
	case strings.Contains(low, "not_found") || strings.Contains(low, "notfound") ||
		strings.Contains(low, "unknown"):
		return oem.ErrNotFound
	case strings.Contains(low, "invalid"):
		return oem.ErrInvalidInput
	case strings.Contains(low, "not_supported") || strings.Contains(low, "unsupported") ||
		strings.Contains(low, "brand"):
		return oem.ErrNotSupported
	case strings.Contains(low, "eligib"):
		return oem.ErrPermissionDenied
	}

	return oem.ErrTransient
}

// ctxErr wraps the context's error when the context is done, so callers
// see errors.Is(err, context.Canceled); otherwise it returns err.
func ctxErr(ctxDone error, op string, err error) error {
	if ctxDone != nil && !errors.Is(err, ctxDone) {
		return fmt.Errorf("stellantis: %s: %w", op, ctxDone)
	}

	return err
}

// asAPIError returns the *oem.APIError in err's chain.
func asAPIError(err error) (*oem.APIError, bool) {
	var ae *oem.APIError
	ok := errors.As(err, &ae)

	return ae, ok
}
