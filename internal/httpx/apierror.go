package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vehicleinfo/ingest/oem"
)

// SnippetLen bounds the body text kept in an *oem.APIError.
const SnippetLen = 512

// NewAPIError builds the typed error for an answer that was not a success.
// It reads the OEM's code, message and request id from the common body
// shapes (a JSON object, an "errors" array, a bare array, the OAuth shape,
// JSON nested inside a JSON string), falls back to the status for a body
// that is HTML, empty or garbage, and maps the status to a taxonomy kind.
// The snippet is bounded and redacted.
func NewAPIError(connector, op, method, path string, status int, h http.Header, body []byte,
	red *Redactor, now time.Time) *oem.APIError {
	e := &oem.APIError{
		Connector:  connector,
		Op:         op,
		Method:     method,
		Path:       path,
		StatusCode: status,
		Snippet:    snippet(red, body),
		RequestID:  requestID(h),
	}

	code, msg, rid := errorFields(body)
	e.Code = red.String(code)
	e.Message = truncate(red.String(msg), SnippetLen)
	if e.RequestID == "" {
		e.RequestID = rid
	}

	if d, ok := waitFromResponse(h, body, now); ok && (status == http.StatusTooManyRequests ||
		status == http.StatusServiceUnavailable || status == http.StatusForbidden) {
		e.RetryAfter = d
	}

	e.Kind = classify(status, code, msg, string(body))
	if e.Kind == oem.ErrQuotaExhausted && e.RetryAfter > 0 {
		e.Reset = now.Add(e.RetryAfter)
	}

	return e
}

// classify maps a status and the OEM's words to a taxonomy kind.
func classify(status int, code, msg, body string) error {
	low := strings.ToLower(code + " " + msg + " " + body)
	switch {
	case strings.Contains(low, "invalid_grant") || strings.Contains(low, "login_required"):
		return oem.ErrLoginRequired
	case status == http.StatusForbidden && isQuota(low):
		return oem.ErrQuotaExhausted
	case status == http.StatusTooManyRequests && isQuota(low) && !strings.Contains(low, "too many requests"):
		return oem.ErrQuotaExhausted
	}

	switch {
	case status == http.StatusBadRequest:
		if strings.Contains(low, "invalid_client") || strings.Contains(low, "unauthorized_client") {
			return oem.ErrAuth
		}

		return oem.ErrInvalidInput
	case status == http.StatusUnauthorized:
		return oem.ErrAuth
	case status == http.StatusForbidden:
		if strings.Contains(low, "consent") {
			return oem.ErrConsentRevoked
		}

		return oem.ErrPermissionDenied
	case status == http.StatusNotFound:
		return oem.ErrNotFound
	case status == http.StatusRequestTimeout:
		return oem.ErrUnavailable
	case status == http.StatusConflict:
		return oem.ErrConflict
	case status == http.StatusTooManyRequests:
		return oem.ErrRateLimited
	case status == http.StatusNotImplemented:
		return oem.ErrNotSupported
	case status >= 500:
		return oem.ErrTransient
	}

	return oem.ErrInvalidInput
}

func isQuota(low string) bool {
	for _, w := range []string{"quota", "daily limit", "limit exceeded", "cu-429", "exhausted", "replenish"} {
		if strings.Contains(low, w) {
			return true
		}
	}

	return false
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id",
		"X-Correlation-Id", "X-Txid"} {
		if v := h.Get(k); v != "" {
			return truncate(v, 128)
		}
	}

	return ""
}

// errorFields reads code, message and request id from an error body.
func errorFields(body []byte) (code, msg, rid string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", "", ""
	}

	var v any
	if json.Unmarshal(body, &v) != nil {
		return "", "", ""
	}

	// JSON inside a JSON string: "{\"code\":...}"
	if s, ok := v.(string); ok {
		var inner any
		if json.Unmarshal([]byte(s), &inner) == nil {
			v = inner
		} else {
			return "", s, ""
		}
	}

	return fieldsOf(v, 0)
}

func fieldsOf(v any, depth int) (code, msg, rid string) {
	if depth > 3 {
		return "", "", ""
	}

	switch t := v.(type) {
	case []any:
		if len(t) > 0 {
			return fieldsOf(t[0], depth+1)
		}
	case map[string]any:
		rid = str(t, "request_id", "requestId", "requestID")
		code = str(t, "logErrorId", "code", "error_code", "errorCode", "__type", "name", "title")
		msg = str(t, "error_description", "message", "Message", "detail", "description", "error_message")
		if e, ok := t["error"]; ok {
			switch ev := e.(type) {
			case string:
				if code == "" {
					code = ev
				} else if msg == "" {
					msg = ev
				}
			case map[string]any, []any:
				c, m, r := fieldsOf(ev, depth+1)
				code, msg, rid = first(code, c), first(msg, m), first(rid, r)
			}
		}

		if errs, ok := t["errors"]; ok {
			c, m, r := fieldsOf(errs, depth+1)
			code, msg, rid = first(code, c), first(msg, m), first(rid, r)
		}

		// A message that is itself JSON: {"message":"{\"error\":\"quota\"}"}
		if strings.HasPrefix(strings.TrimSpace(msg), "{") {
			var inner any
			if json.Unmarshal([]byte(msg), &inner) == nil {
				c, m, r := fieldsOf(inner, depth+1)
				code, msg, rid = first(code, c), first(m, msg), first(rid, r)
			}
		}
	}

	return code, msg, rid
}

func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}

	return ""
}

func first(a, b string) string {
	if a != "" {
		return a
	}

	return b
}

func snippet(red *Redactor, body []byte) string {
	s := string(bytes.TrimSpace(body))
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}

	// Collapse whitespace so an HTML page reads as one line.
	s = strings.Join(strings.Fields(s), " ")

	return truncate(red.String(s), SnippetLen)
}

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
