package hm

import (
	"context"
	"net/http"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

var (
	errCanceled = context.Canceled
	errDeadline = context.DeadlineExceeded
)

// High Mobility's own words in error answers, lower case.
const (
	wordAlreadyRemoved = "already removed"   // 409 on DELETE: nothing left to remove
	wordTransition     = "transition"        // 409 on DELETE: revoking or canceling already
	wordNotSupported   = "not supported"     // 422 on DELETE: this brand cannot cancel
	wordAfterOneDay    = "after 1 day"       // 422 on DELETE: a pending one is too young
	wordTooEarly       = "too early"         // the title of that 422
	wordPending        = "pending"           // 422 on vehicle data: no data yet
	wordNotAvailable   = "not available yet" // its detail
	wordConsent        = "consent"           // 401/403 on vehicle data: consent gone
	wordPrivacy        = "privacy mode"      // 403 on vehicle data
	wordNoFleet        = "not associated with a fleet"
)

// classify adjusts the kind of a failed answer to High Mobility's meaning.
// internal/httpx has already read the title, detail and request id from
// any of the three error shapes ({"errors":[...]}, a bare array, OAuth's
// {"error","error_description"}) and mapped the status to a kind.
func classify(e *oem.APIError, _ []byte) {
	words := strings.ToLower(e.Code + " " + e.Message + " " + e.Snippet)
	token := strings.HasSuffix(e.Path, "/access_tokens") || strings.HasSuffix(e.Path, "/access_token")

	switch {
	case token && (e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnauthorized ||
		e.StatusCode == http.StatusForbidden):
		// "client_secret is invalid" comes as a 400 invalid_request.
		if e.Kind != oem.ErrLoginRequired {
			e.Kind = oem.ErrAuth
		}
	case e.StatusCode == http.StatusUnauthorized && strings.Contains(words, wordConsent):
		// "Consent is removed by OEM": the vehicle's consent, not our token.
		e.Kind = oem.ErrConsentRevoked
	case e.StatusCode == http.StatusForbidden && strings.Contains(words, wordConsent):
		e.Kind = oem.ErrConsentRevoked
	case e.StatusCode == http.StatusForbidden && strings.Contains(words, wordPrivacy):
		e.Kind = oem.ErrPermissionDenied
	case e.StatusCode == http.StatusConflict:
		e.Kind = oem.ErrConflict
	case e.StatusCode == http.StatusUnprocessableEntity:
		switch {
		case strings.Contains(words, wordNotSupported):
			e.Kind = oem.ErrNotSupported
		case strings.Contains(words, wordAfterOneDay) || strings.Contains(words, wordTooEarly):
			e.Kind = oem.ErrConflict
		case strings.Contains(words, wordPending) || strings.Contains(words, wordNotAvailable):
			e.Kind = oem.ErrNoData
		}
	}
}

// says reports whether an error answer carries one of High Mobility's
// words.
func says(e *oem.APIError, word string) bool {
	return strings.Contains(strings.ToLower(e.Code+" "+e.Message+" "+e.Snippet), word)
}
