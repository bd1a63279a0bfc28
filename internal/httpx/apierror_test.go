package httpx

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

func TestNewAPIErrorShapes(t *testing.T) {
	t.Parallel()

	now := time.Now()
	red := NewRedactor()
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		kind     error
		code     string
		msg      string
		reqID    string
		retry    time.Duration
		snippet  string
		noSecret string
	}{
		{name: "bmw code", status: 403, body: `{"logErrorId":"BMWFD_VEHICLE_ALREADY_EXISTS","message":"exists"}`,
			kind: oem.ErrPermissionDenied, code: "BMWFD_VEHICLE_ALREADY_EXISTS", msg: "exists"},
		{name: "hm errors array", status: 422, body: `{"errors":[{"title":"Pending","detail":"no data yet","source":"x"}],"request_id":"r-1"}`,
			kind: oem.ErrInvalidInput, code: "Pending", msg: "no data yet", reqID: "r-1"},
		{name: "bare array", status: 400, body: `[{"title":"Bad VIN","detail":"vin should be 17 character(s)"}]`,
			kind: oem.ErrInvalidInput, code: "Bad VIN", msg: "vin should be 17 character(s)"},
		{name: "oauth invalid_grant", status: 400, body: `{"error":"invalid_grant","error_description":"refresh token used"}`,
			kind: oem.ErrLoginRequired, code: "invalid_grant", msg: "refresh token used"},
		{name: "oauth invalid_client", status: 401, body: `{"error":"invalid_client"}`, kind: oem.ErrAuth, code: "invalid_client"},
		{name: "quota 403", status: 403, body: `{"code":"CU-429","message":"daily quota exhausted"}`, kind: oem.ErrQuotaExhausted, code: "CU-429"},
		{name: "html proxy page", status: 502, body: "<html><body>\n<h1>Bad Gateway</h1>\n</body></html>",
			kind: oem.ErrTransient, snippet: "<html><body> <h1>Bad Gateway</h1> </body></html>"},
		{name: "empty body", status: 404, body: "", kind: oem.ErrNotFound},
		{name: "nested json string", status: 400, body: `"{\"errorCode\":\"err.func.wired.notFound\",\"errorMessage\":\"x\"}"`,
			kind: oem.ErrInvalidInput, code: "err.func.wired.notFound"},
		{name: "json in message", status: 500, body: `{"message":"{\"error\":\"internal\",\"error_description\":\"boom\"}"}`,
			kind: oem.ErrTransient, code: "internal", msg: "boom"},
		{name: "429 retry-after", status: 429, header: map[string]string{"Retry-After": "12", "X-Request-Id": "abc"},
			body: `{"message":"Too Many Requests"}`, kind: oem.ErrRateLimited, retry: 12 * time.Second, reqID: "abc"},
		{name: "429 wait in text", status: 429, body: "retry after 10s", kind: oem.ErrRateLimited, retry: 10 * time.Second},
		{name: "tesla region", status: 421, body: `{"response":null,"error":"user out of region, use base URL: https://fleet-api.prd.na.vn.cloud.tesla.com"}`,
			kind: oem.ErrInvalidInput, code: "user out of region, use base URL: https://fleet-api.prd.na.vn.cloud.tesla.com"},
		{name: "asleep", status: 408, body: `{"response":null,"error":"vehicle unavailable"}`, kind: oem.ErrUnavailable},
		{name: "secret in body", status: 400, body: `{"message":"bad","password":"fake-pw-999"}`, kind: oem.ErrInvalidInput,
			msg: "bad", noSecret: "fake-pw-999"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}

			e := NewAPIError("x", "op", "GET", "/p", tt.status, h, []byte(tt.body), red, now)
			if !errors.Is(e, tt.kind) {
				t.Errorf("kind = %v, want %v", e.Kind, tt.kind)
			}

			if tt.code != "" && e.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Code, tt.code)
			}

			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("message = %q, want %q", e.Message, tt.msg)
			}

			if e.RequestID != tt.reqID {
				t.Errorf("request id = %q, want %q", e.RequestID, tt.reqID)
			}

			if e.RetryAfter != tt.retry {
				t.Errorf("retry after = %v, want %v", e.RetryAfter, tt.retry)
			}

			if tt.snippet != "" && e.Snippet != tt.snippet {
				t.Errorf("snippet = %q, want %q", e.Snippet, tt.snippet)
			}

			if tt.noSecret != "" && (strings.Contains(e.Error(), tt.noSecret) || strings.Contains(e.Snippet, tt.noSecret)) {
				t.Errorf("secret leaked: %q / %q", e.Error(), e.Snippet)
			}

			if !strings.Contains(e.Error(), "x: op: GET /p: HTTP") {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestSnippetIsBounded(t *testing.T) {
	t.Parallel()

	body := strings.Repeat("é", 5000)
	e := NewAPIError("x", "op", "GET", "/", 500, http.Header{}, []byte(body), NewRedactor(), time.Now())
	if len(e.Snippet) > SnippetLen+len("…") {
		t.Fatalf("snippet has %d bytes", len(e.Snippet))
	}

	if !strings.HasSuffix(e.Snippet, "…") {
		t.Fatalf("snippet not marked as cut: %q", e.Snippet[len(e.Snippet)-8:])
	}
}
