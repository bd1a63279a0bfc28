package bmw

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// BMW's own error ids that change what an answer means.
const (
	codeAlreadyExists = "BMWFD_VEHICLE_ALREADY_EXISTS" // 403 on POST /vehicle: already registered
	codeNotAllowed    = "BMWFD_VEHICLE_NOT_ALLOWED"    // 412 on POST /vehicle: ineligible
)

// ErrFleetNotFound is returned when no fleet of the account matches the
// configured fleet id or owner name. It wraps oem.ErrNotFound.
var ErrFleetNotFound = fmt.Errorf("fleet not found: %w", oem.ErrNotFound)

// classify maps BMW's and Cognito's own codes onto the taxonomy; it runs on
// every failed answer the HTTP stack builds.
func classify(e *oem.APIError, _ []byte) {
	code := e.Code
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:] // Cognito may prefix the __type with a namespace
		e.Code = code
	}

	switch code {
	case "NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException",
		"ResourceNotFoundException", "UserNotConfirmedException":
		e.Kind = oem.ErrAuth
	case "TooManyRequestsException", "LimitExceededException":
		e.Kind = oem.ErrRateLimited
	case codeAlreadyExists:
		e.Kind = oem.ErrConflict
	case codeNotAllowed:
		e.Kind = oem.ErrPermissionDenied
	}

	if e.StatusCode == http.StatusTooManyRequests && e.Kind != oem.ErrQuotaExhausted {
		e.Kind = oem.ErrRateLimited
	}
}

// apiError returns the *oem.APIError in err's chain.
func apiError(err error) (*oem.APIError, bool) {
	var ae *oem.APIError
	ok := errors.As(err, &ae)

	return ae, ok
}
