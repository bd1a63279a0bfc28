package renault

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// The credential problems a CredentialError can name. Each is also an
// oem.ErrAuth, so callers that only know the taxonomy see an auth failure.
var (
	// ErrWrongPassword: the PKCS#12 password does not open the bundle.
	ErrWrongPassword = errors.New("wrong PKCS#12 password")
	// ErrBadPKCS12: the bundle cannot be read or is not PKCS#12 at all.
	ErrBadPKCS12 = errors.New("unreadable PKCS#12 bundle")
	// ErrNoRSAKey: the bundle holds no RSA private key (none at all, or
	// an ECDSA or Ed25519 one).
	ErrNoRSAKey = errors.New("no RSA private key in the PKCS#12 bundle")
	// ErrAssertionRejected: the token endpoint refused the signed client
	// assertion (unknown kid, wrong client id or audience, bad signature,
	// expired, replayed).
	ErrAssertionRejected = errors.New("client assertion rejected")
	// ErrTokenAnswer: the token endpoint answered 200 without a usable
	// access token.
	ErrTokenAnswer = errors.New("token answer without an access token")
)

// CredentialError is a failure of the Renault login: the PKCS#12 bundle, the
// client assertion or the token answer. It names the cause and the setting
// to check, and never holds a secret: no password, no key material, no
// assertion, no token.
type CredentialError struct {
	// Cause says what went wrong, in words.
	Cause string
	// Setting names the variable to check, when one is to blame.
	Setting string
	// Err is one of the sentinels above.
	Err error
	// API is the token endpoint's answer, when there was one.
	API *oem.APIError
}

func (e *CredentialError) Error() string {
	var b strings.Builder
	b.WriteString(Name)
	b.WriteString(": ")
	b.WriteString(e.Cause)
	if e.Setting != "" {
		b.WriteString(" (check ")
		b.WriteString(e.Setting)
		b.WriteString(")")
	}

	return b.String()
}

// Unwrap exposes the sentinel, oem.ErrAuth and the token endpoint's
// *oem.APIError to errors.Is and errors.As.
func (e *CredentialError) Unwrap() []error {
	out := []error{e.Err, oem.ErrAuth}
	if e.API != nil {
		out = append(out, e.API)
	}

	return out
}

// classifier reads Renault's own error shapes into an *oem.APIError the
// HTTP stack built: {"errors":[{"errorCode","errorMessage"}]}, the same as a
// bare object, either of them as JSON inside a JSON string, and a message
// that is itself JSON. An answer that blames the API key is an auth failure
// of the whole connector, not of one vehicle. What it takes from the body
// passes through red first.
func classifier(red *httpx.Redactor) func(e *oem.APIError, body []byte) {
	return func(e *oem.APIError, body []byte) {
		code, msg := renaultError(body, 0)
		if e.Code == "" && code != "" {
			e.Code = red.String(code)
		}

		if msg != "" && (e.Message == "" || strings.HasPrefix(e.Message, "{")) {
			e.Message = truncate(red.String(msg), httpx.SnippetLen)
		}

		words := strings.NewReplacer(" ", "", "-", "", "_", "").Replace(
			strings.ToLower(e.Code + " " + e.Message))
		if (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) &&
			strings.Contains(words, "apikey") {
			e.Kind = oem.ErrAuth
		}
	}
}

// renaultError finds the first errorCode and errorMessage in body,
// unwrapping JSON held in strings up to a few levels deep.
func renaultError(body []byte, depth int) (code, msg string) {
	if depth > 3 {
		return "", ""
	}

	body = []byte(strings.TrimSpace(string(body)))
	if len(body) == 0 {
		return "", ""
	}

	if body[0] == '"' {
		var inner string
		if json.Unmarshal(body, &inner) != nil {
			return "", ""
		}

		return renaultError([]byte(inner), depth+1)
	}

	var eb errorBody
	if body[0] != '{' || json.Unmarshal(body, &eb) != nil {
		return "", ""
	}

	for len(eb.Errors) > 0 && eb.ErrorCode == "" && eb.ErrorMessage == "" {
		eb = eb.Errors[0]
	}

	code, msg = strings.TrimSpace(eb.ErrorCode), strings.TrimSpace(eb.ErrorMessage)
	if strings.HasPrefix(msg, "{") || strings.HasPrefix(msg, `"`) {
		if c, m := renaultError([]byte(msg), depth+1); c != "" || m != "" {
			return first(code, c), m
		}
	}

	return code, msg
}

func first(a, b string) string {
	if a != "" {
		return a
	}

	return b
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}

	return s[:cut] + "…"
}
