package httpx

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value in any of the forms seen: whole
// seconds ("30"), fractional seconds ("0.62") or an HTTP date. A date in
// the past gives a zero wait. It reports false when v is none of these.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}

	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 1e9 {
			return 0, false
		}

		return time.Duration(secs * float64(time.Second)), true
	}

	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}

		return 0, true
	}

	return 0, false
}

var (
	// "retry after 10s", "Retry in 37829 seconds", "try again in 5 minutes",
	// "retry after 1.5 seconds"
	waitWordsRe = regexp.MustCompile(`(?i)(?:retry|try again|wait|available)\s*(?:again\s*)?(?:after|in)?\s*:?\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)?\b`)
	// "replenished in 01:11:25", "resets in 1:05"
	waitClockRe = regexp.MustCompile(`(?i)(?:in|after)\s+(\d{1,3}):(\d{2})(?::(\d{2}))?`)
)

// ParseWaitText finds a wait written in prose inside an error body: "retry
// after 10s", "Retry in 37829 seconds", "replenished in 01:11:25". It
// reports false when the text names no wait.
func ParseWaitText(body string) (time.Duration, bool) {
	if m := waitClockRe.FindStringSubmatch(body); m != nil {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if m[3] != "" {
			c, _ := strconv.Atoi(m[3])
			return time.Duration(a)*time.Hour + time.Duration(b)*time.Minute + time.Duration(c)*time.Second, true
		}

		return time.Duration(a)*time.Minute + time.Duration(b)*time.Second, true
	}

	m := waitWordsRe.FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}

	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}

	unit := time.Second
	switch u := strings.ToLower(m[2]); {
	case u == "ms" || strings.HasPrefix(u, "milli"):
		unit = time.Millisecond
	case u == "m" || strings.HasPrefix(u, "min"):
		unit = time.Minute
	case u == "h" || strings.HasPrefix(u, "hour"):
		unit = time.Hour
	}

	return time.Duration(n * float64(unit)), true
}

// waitFromResponse finds the wait an answer asks for: the Retry-After
// header first, then a RateLimit-Reset header when nothing remains, then
// prose in the body.
func waitFromResponse(h http.Header, body []byte, now time.Time) (time.Duration, bool) {
	if d, ok := ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}

	if rem := strings.TrimSpace(h.Get("RateLimit-Remaining")); rem == "0" {
		if d, ok := ParseRetryAfter(h.Get("RateLimit-Reset"), now); ok {
			return d, true
		}
	}

	if len(body) > 0 {
		return ParseWaitText(string(body))
	}

	return 0, false
}
