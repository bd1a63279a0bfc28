package httpx

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{" 0.62 ", 620 * time.Millisecond, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-5", 0, false},
	}

	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseWaitText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`{"message":"Rate limit exceeded, retry after 10s"}`, 10 * time.Second, true},
		{"Retry in 37829 seconds", 37829 * time.Second, true},
		{"Your quota will be replenished in 01:11:25", time.Hour + 11*time.Minute + 25*time.Second, true},
		{"please try again in 5 minutes", 5 * time.Minute, true},
		{"retry after 250ms", 250 * time.Millisecond, true},
		{"retry after 1.5 seconds", 1500 * time.Millisecond, true},
		{"Too Many Requests", 0, false},
		{"", 0, false},
	}

	for _, tt := range tests {
		got, ok := ParseWaitText(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseWaitText(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWaitFromResponsePrefersHeader(t *testing.T) {
	t.Parallel()

	now := time.Now()
	h := http.Header{}
	h.Set("Retry-After", "3")
	if d, ok := waitFromResponse(h, []byte("retry after 10s"), now); !ok || d != 3*time.Second {
		t.Fatalf("header wait = %v, %v; want 3s", d, ok)
	}

	h = http.Header{}
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", "7200")
	if d, ok := waitFromResponse(h, nil, now); !ok || d != 2*time.Hour {
		t.Fatalf("RateLimit-Reset wait = %v, %v; want 2h", d, ok)
	}

	if d, ok := waitFromResponse(http.Header{}, []byte(`{"error":"retry after 10s"}`), now); !ok || d != 10*time.Second {
		t.Fatalf("body wait = %v, %v; want 10s", d, ok)
	}
}
