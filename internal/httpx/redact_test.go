package httpx

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	t.Parallel()

	r := NewRedactor("fake-password-123", "abc")
	tests := []struct {
		in      string
		secrets []string
		keep    []string
	}{
		{`{"email":"fleet@example.com","password":"fake-password-123"}`, []string{"fake-password-123"}, []string{"fleet@example.com"}},
		{`{"AuthenticationResult":{"IdToken":"eyJhbGciOi.eyJzdWIiOi.c2ln","AccessToken":"tok-1"}}`, []string{"eyJhbGciOi", "tok-1"}, []string{"AuthenticationResult"}},
		{`grant_type=client_credentials&client_secret=fake-secret&client_assertion=xyz.abc.def`, []string{"fake-secret", "xyz.abc.def"}, []string{"grant_type=client_credentials"}},
		{`Authorization: Bearer sim-access-0123456789`, []string{"sim-access-0123456789"}, []string{"Authorization"}},
		{`the abc short literal is kept`, nil, []string{"abc"}},
	}

	for _, tt := range tests {
		got := r.String(tt.in)
		for _, s := range tt.secrets {
			if strings.Contains(got, s) {
				t.Errorf("String(%q) = %q still holds %q", tt.in, got, s)
			}
		}

		for _, k := range tt.keep {
			if !strings.Contains(got, k) {
				t.Errorf("String(%q) = %q lost %q", tt.in, got, k)
			}
		}
	}
}

func TestRedactHeaderAndURL(t *testing.T) {
	t.Parallel()

	r := NewRedactor()
	h := http.Header{}
	h.Set("Authorization", "Bearer x")
	h.Set("apiKey", "fake-api-key")
	h.Set("Accept", "application/json")
	got := r.Header(h)
	if got["Authorization"] != redacted || got["Apikey"] != redacted || got["Accept"] != "application/json" {
		t.Fatalf("Header = %v", got)
	}

	u, _ := url.Parse("https://user:pw@example.test/v1/x?vin=WBA&access_token=fake-token")
	s := r.URL(u)
	if strings.Contains(s, "fake-token") || strings.Contains(s, "pw@") || !strings.Contains(s, "vin=WBA") {
		t.Fatalf("URL = %q", s)
	}
}
