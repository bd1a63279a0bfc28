package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// testServer serves a few endpoints that tests point faults at.
func testServer(t *testing.T, opts simkit.Options) *simkit.Server {
	t.Helper()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		simkit.WriteJSON(w, 200, map[string]any{"id": 1493021234567890123, "auth": r.Header.Get("Authorization") != ""})
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 4096))
	})

	s, err := simkit.Start(mux, opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(s.Close)

	return s
}

func fastConfig(url string) Config {
	return Config{
		Connector:  "test",
		BaseURL:    url,
		MinBackoff: time.Millisecond,
		MaxBackoff: 5 * time.Millisecond,
		MaxWait:    2 * time.Second,
	}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()

	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	return c
}

func TestRetriesTransientThenSucceeds(t *testing.T) {
	t.Parallel()

	for _, f := range []simkit.Fault{
		{Endpoint: "GET /ok", Times: 2, Status: 503, Body: simkit.HTMLBody},
		{Endpoint: "GET /ok", Times: 2, Reset: true},
		{Endpoint: "GET /ok", Times: 1, Status: 429, Body: `{"message":"Too Many Requests"}`},
		{Endpoint: "GET /ok", Times: 1, Status: 429, Header: map[string]string{"Retry-After": "0.01"}},
		{Endpoint: "GET /ok", Times: 1, Status: 429, Body: "retry after 0.02s"},
	} {
		t.Run(fmt.Sprintf("%d-%v", f.Status, f.Reset), func(t *testing.T) {
			t.Parallel()

			s := testServer(t, simkit.Options{})
			s.AddFault(f)
			c := newClient(t, fastConfig(s.URL()))

			var counter oem.RequestCounter
			ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &counter), oem.RequestListing)
			resp, err := c.Do(ctx, Request{Op: "get", Method: "GET", Path: "/ok"})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}

			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}

			want := int64(f.Times + 1)
			if got := counter.Get(oem.RequestListing); got != want {
				t.Fatalf("counted %d listing requests, want %d", got, want)
			}

			if got := s.Counters.Get("GET /ok"); got != int(want) {
				t.Fatalf("server saw %d requests, want %d", got, want)
			}
		})
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Status: 500, Body: `{"message":"boom"}`})
	cfg := fastConfig(s.URL())
	cfg.MaxRetries = 2
	c := newClient(t, cfg)

	_, err := c.Do(t.Context(), Request{Op: "get thing", Method: "GET", Path: "/ok"})
	var ae *oem.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || !errors.Is(err, oem.ErrTransient) || ae.Message != "boom" {
		t.Fatalf("err = %v", err)
	}

	if got := s.Counters.Get("GET /ok"); got != 3 {
		t.Fatalf("server saw %d requests, want 3", got)
	}
}

func TestLongWaitEndsAtOnce(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Status: 429, Body: `{"error":"Retry in 37829 seconds"}`})
	c := newClient(t, fastConfig(s.URL()))

	start := time.Now()
	_, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, oem.ErrRateLimited) {
		t.Fatalf("err = %v, want rate limited", err)
	}

	if d, ok := oem.RetryAfter(err); !ok || d != 37829*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}

	if got := s.Counters.Get("GET /ok"); got != 1 {
		t.Fatalf("server saw %d requests, want 1 (no retry past MaxWait)", got)
	}

	if time.Since(start) > time.Second {
		t.Fatal("waited instead of failing")
	}
}

func TestQuotaIsNotRetried(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Status: 403, Body: `{"code":"CU-429","message":"API quota exhausted"}`})
	var logins atomic.Int32
	cfg := fastConfig(s.URL())
	cfg.Tokens = NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		logins.Add(1)
		return &oauth2.Token{AccessToken: "sim-access-1"}, nil
	}, 0)
	c := newClient(t, cfg)

	_, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, oem.ErrQuotaExhausted) || errors.Is(err, oem.ErrAuth) {
		t.Fatalf("err = %v, want quota", err)
	}

	if s.Counters.Get("GET /ok") != 1 || logins.Load() != 1 {
		t.Fatalf("requests %d, logins %d; want 1 and 1", s.Counters.Get("GET /ok"), logins.Load())
	}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Times: 1, Status: 401, Body: `{"message":"expired"}`})
	var logins atomic.Int32
	cfg := fastConfig(s.URL())
	cfg.Tokens = NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		n := logins.Add(1)
		return &oauth2.Token{AccessToken: fmt.Sprintf("sim-access-%d", n), Expiry: time.Now().Add(time.Hour)}, nil
	}, 0)
	c := newClient(t, cfg)

	if _, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}); err != nil {
		t.Fatal(err)
	}

	if logins.Load() != 2 || s.Counters.Get("GET /ok") != 2 {
		t.Fatalf("logins %d, requests %d; want 2 and 2", logins.Load(), s.Counters.Get("GET /ok"))
	}

	// A second 401 in a row is an auth error, not a loop.
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Times: 2, Status: 401, Body: `{"message":"revoked"}`})
	_, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, oem.ErrAuth) {
		t.Fatalf("err = %v, want auth", err)
	}

	if logins.Load() != 3 {
		t.Fatalf("logins %d, want 3", logins.Load())
	}
}

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	var logins atomic.Int32
	cfg := fastConfig(s.URL())
	cfg.Tokens = NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		logins.Add(1)
		time.Sleep(10 * time.Millisecond)
		return &oauth2.Token{AccessToken: "sim-access-x", Expiry: time.Now().Add(time.Hour)}, nil
	}, 0)
	c := newClient(t, cfg)

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}); err != nil {
				t.Error(err)
			}
		})
	}

	wg.Wait()
	if logins.Load() != 1 {
		t.Fatalf("%d logins, want 1", logins.Load())
	}
}

func TestCachedTokenRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	ct := NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		n++
		return &oauth2.Token{AccessToken: fmt.Sprint("t", n), Expiry: now.Add(5 * time.Minute)}, nil
	}, 30*time.Second)
	ct.SetClock(func() time.Time { return now })

	a, _ := ct.Token()
	now = now.Add(4 * time.Minute)
	b, _ := ct.Token()
	now = now.Add(31 * time.Second)
	c, _ := ct.Token()
	if a.AccessToken != "t1" || b.AccessToken != "t1" || c.AccessToken != "t2" {
		t.Fatalf("tokens %s %s %s, want t1 t1 t2", a.AccessToken, b.AccessToken, c.AccessToken)
	}

	ct.Invalidate(a) // stale: t2 is cached, so nothing happens
	d, _ := ct.Token()
	if d.AccessToken != "t2" {
		t.Fatalf("stale invalidate dropped the new token: %s", d.AccessToken)
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	cfg := fastConfig(s.URL())
	cfg.MaxBodyBytes = 1000
	c := newClient(t, cfg)

	_, err := c.Do(t.Context(), Request{Op: "get big", Method: "GET", Path: "/big"})
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamCap(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	cfg := fastConfig(s.URL())
	cfg.StreamBytes = 1000
	c := newClient(t, cfg)

	resp, err := c.Stream(t.Context(), Request{Op: "stream", Method: "GET", Path: "/big"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeKeepsBigIDs(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	c := newClient(t, fastConfig(s.URL()))

	var out struct {
		ID any `json:"id"`
	}
	if _, err := c.DoJSON(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}, &out); err != nil {
		t.Fatal(err)
	}

	if fmt.Sprint(out.ID) != "1493021234567890123" {
		t.Fatalf("id = %v", out.ID)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Delay: 5 * time.Second, Status: 200})
	cfg := fastConfig(s.URL())
	cfg.CancelGrace = 100 * time.Millisecond
	c := newClient(t, cfg)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := c.Do(ctx, Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}

	if time.Since(start) > 2*time.Second {
		t.Fatal("cancel did not stop the call")
	}
}

func TestServerRateLimitHeadersPause(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Times: 1, Status: 200, Body: `{}`,
		Header: map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "36000"}})
	c := newClient(t, fastConfig(s.URL()))

	if _, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}); err != nil {
		t.Fatal(err)
	}

	_, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, oem.ErrRateLimited) {
		t.Fatalf("err = %v, want rate limited while the OEM's window is spent", err)
	}

	if d, _ := oem.RetryAfter(err); d < 9*time.Hour {
		t.Fatalf("retry after %v", d)
	}

	if s.Counters.Get("GET /ok") != 1 {
		t.Fatalf("sent %d requests; the second must not be sent", s.Counters.Get("GET /ok"))
	}
}

func TestClientRateLimit(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	cfg := fastConfig(s.URL())
	cfg.RateLimit = 50
	cfg.Burst = 1
	c := newClient(t, cfg)

	start := time.Now()
	for range 6 {
		if _, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}); err != nil {
			t.Fatal(err)
		}
	}

	// Six requests at 50/s with a burst of one take at least 100 ms.
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("6 requests took %v; the limiter did not pace them", d)
	}
}

func TestAcceptAndBaseSwitch(t *testing.T) {
	t.Parallel()

	a := testServer(t, simkit.Options{})
	b := testServer(t, simkit.Options{})
	a.AddFault(simkit.Fault{Endpoint: "GET /ok", Status: 421, Body: `{"error":"user out of region"}`})
	c := newClient(t, fastConfig(a.URL()))

	resp, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok", Accept: []int{421}})
	if err != nil || resp.StatusCode != 421 {
		t.Fatalf("resp %v err %v", resp, err)
	}

	if err := c.SetBaseURL(b.URL()); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/ok"}); err != nil {
		t.Fatal(err)
	}

	if b.Counters.Get("GET /ok") != 1 || c.BaseURL() != b.URL() {
		t.Fatalf("base switch failed: %v", b.Counters.Snapshot())
	}

	if err := c.SetBaseURL("ftp://x"); err == nil {
		t.Fatal("accepted a non-http base")
	}
}

func TestWireLogHasNoSecrets(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	var buf bytes.Buffer
	cfg := fastConfig(s.URL())
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Header = http.Header{"apiKey": {"fake-api-key-42"}}
	cfg.Secrets = []string{"fake-password-77"}
	cfg.Tokens = NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "sim-access-secret-token"}, nil
	}, 0)
	c := newClient(t, cfg)

	_, _ = c.Do(t.Context(), Request{Op: "echo", Method: "POST", Path: "/echo",
		Query: map[string][]string{"password": {"fake-password-77"}},
		JSON:  map[string]string{"password": "fake-password-77"}})

	out := buf.String()
	if !strings.Contains(out, "POST") {
		t.Fatalf("nothing logged: %q", out)
	}

	for _, secret := range []string{"fake-api-key-42", "fake-password-77", "sim-access-secret-token"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log holds %q: %s", secret, out)
		}
	}
}

// An exchange on the wire when the caller cancels still completes within
// the grace, so the caller learns what the OEM did; nothing new is sent.
func TestInFlightAnswerSurvivesCancel(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "POST /echo", Times: 1, Delay: 200 * time.Millisecond})
	c := newClient(t, fastConfig(s.URL()))

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)

	resp, err := c.Do(ctx, Request{Op: "echo", Method: "POST", Path: "/echo", JSON: map[string]string{"vin": "X"}})
	if err != nil {
		t.Fatalf("in-flight answer lost: %v", err)
	}

	if !strings.Contains(string(resp.Body), `"vin":"X"`) {
		t.Fatalf("body %q", resp.Body)
	}

	// After the cancel no request goes out.
	_, err = c.Do(ctx, Request{Op: "echo", Method: "POST", Path: "/echo", JSON: map[string]string{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}

	if n := s.Counters.Get("POST /echo"); n != 1 {
		t.Fatalf("server saw %d requests, want 1", n)
	}
}

// A retry wait ends at once when the caller cancels, and no retry is sent.
func TestCancelDuringRetryWait(t *testing.T) {
	t.Parallel()

	s := testServer(t, simkit.Options{})
	s.AddFault(simkit.Fault{Endpoint: "GET /ok", Status: 503, Header: map[string]string{"Retry-After": "1"}})
	c := newClient(t, fastConfig(s.URL()))

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)

	start := time.Now()
	_, err := c.Do(ctx, Request{Op: "get", Method: "GET", Path: "/ok"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}

	if time.Since(start) > 2*time.Second || s.Counters.Get("GET /ok") > 2 {
		t.Fatalf("took %v, %d requests", time.Since(start), s.Counters.Get("GET /ok"))
	}
}

// A session token the OEM echoes back in an error body is redacted from
// the error, whatever its shape.
func TestEchoedTokenIsRedacted(t *testing.T) {
	t.Parallel()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo-token", func(w http.ResponseWriter, r *http.Request) {
		simkit.WriteJSON(w, 401, map[string]string{"message": "token " + r.Header.Get("Authorization")[7:] + " is not valid"})
	})
	s, err := simkit.Start(mux, simkit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	cfg := fastConfig(s.URL())
	cfg.Tokens = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "opaque-session-4711"})
	c := newClient(t, cfg)

	_, err = c.Do(t.Context(), Request{Op: "get", Method: "GET", Path: "/echo-token"})
	if err == nil || strings.Contains(err.Error(), "opaque-session-4711") {
		t.Fatalf("err = %v", err)
	}

	var ae *oem.APIError
	if !errors.As(err, &ae) || strings.Contains(ae.Snippet, "opaque-session-4711") || !strings.Contains(ae.Message, redacted) {
		t.Fatalf("api error %+v", ae)
	}
}
