package tesla

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// Errors particular to Tesla. Each wraps the taxonomy sentinel callers test
// for, so errors.Is works with both.
var (
	// ErrNotRegistered is Tesla's 412: the application is not registered
	// in the region of the base URL (a partner-account step to do once).
	ErrNotRegistered = fmt.Errorf("tesla: application not registered in this region: %w",
		oem.ErrPermissionDenied)
	// ErrWrongRegion is a 421 that could not be followed: no base URL in
	// the answer, a host that is not Tesla's, or a second region change.
	ErrWrongRegion = fmt.Errorf("tesla: account is served by another region: %w", oem.ErrInvalidInput)
)

// classify adjusts the typed error the HTTP stack built from a failed
// answer ({"response":null,"error":…,"error_description":…}) to Tesla's
// statuses.
func classify(e *oem.APIError, _ []byte) {
	// The HTTP stack has already read error (as Code) and
	// error_description (as Message), redacted; only the kinds change.
	switch e.StatusCode {
	case http.StatusPreconditionFailed:
		e.Kind = ErrNotRegistered
	case http.StatusMisdirectedRequest:
		e.Kind = ErrWrongRegion
	case http.StatusRequestTimeout:
		// Asleep or offline: not worth hammering.
		e.Kind = oem.ErrUnavailable
	case http.StatusNotFound:
		e.Kind = oem.ErrNotFound
	}
}

// answerError types a 200 whose envelope carries an error.
func answerError(op, method, path, code, desc string) error {
	kind := oem.ErrTransient
	low := strings.ToLower(code + " " + desc)
	switch {
	case strings.Contains(low, "not_found") || strings.Contains(low, "not found"):
		kind = oem.ErrNotFound
	case strings.Contains(low, "asleep") || strings.Contains(low, "offline") ||
		strings.Contains(low, "timeout"):
		kind = oem.ErrUnavailable
	}

	return &oem.APIError{Connector: "tesla", Op: op, Method: method, Path: path,
		StatusCode: http.StatusOK, Code: truncate(code, 128), Message: truncate(desc, 512), Kind: kind}
}

var urlRe = regexp.MustCompile(`https?://[^\s"'<>,;]+`)

// regionURL finds the base URL a 421 names ("user out of region, use base
// URL: https://…") and checks that it is a Tesla host (or a loopback one,
// for simulators). It returns "" when there is none.
func regionURL(body []byte) (string, error) {
	m := urlRe.Find(body)
	if m == nil {
		return "", fmt.Errorf("421 without a base URL in the answer: %w", ErrWrongRegion)
	}

	raw := strings.TrimRight(string(m), "./\\")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("421 names %q, not a URL: %w", truncate(raw, 100), ErrWrongRegion)
	}

	if !trustedHost(u) {
		return "", fmt.Errorf("421 names %s, which is neither a tesla.com host nor loopback: %w",
			u.Host, ErrWrongRegion)
	}

	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"), nil
}

func trustedHost(u *url.URL) bool {
	host := u.Hostname()
	if u.Scheme == "https" && (host == "tesla.com" || strings.HasSuffix(host, ".tesla.com")) {
		return true
	}

	if host == "localhost" {
		return true
	}

	ip := net.ParseIP(host)

	return ip != nil && ip.IsLoopback()
}

func sameBase(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	return s[:n] + "…"
}
