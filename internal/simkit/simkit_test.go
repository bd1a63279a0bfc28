package simkit

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
	})

	s, err := Start(mux, opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(s.Close)

	return s
}

func get(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()

	resp, err := s.Client().Get(s.URL() + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()

	b, _ := io.ReadAll(resp.Body)

	return resp.StatusCode, string(b)
}

func TestFaultsAndCounters(t *testing.T) {
	t.Parallel()

	s := start(t, Options{})
	s.AddFault(Fault{Endpoint: "GET /v/{id}", Times: 2, Status: 502, Body: HTMLBody})

	for i, want := range []int{502, 502, 200} {
		if got, _ := get(t, s, "/v/1"); got != want {
			t.Fatalf("request %d: status %d, want %d", i, got, want)
		}
	}

	s.AddFault(Fault{Times: 1, Reset: true})
	// A fresh connection, so net/http does not quietly retry on another.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Get(s.URL() + "/v/2"); err == nil {
		resp.Body.Close()
		t.Fatalf("reset fault answered %d", resp.StatusCode)
	}

	if got := s.Counters.Get("GET /v/{id}"); got != 4 {
		t.Fatalf("counter = %d, want 4", got)
	}

	if got := s.Counters.Get("GET /nope"); got != 0 {
		t.Fatal("phantom count")
	}

	get(t, s, "/nope")
	if got := s.Counters.Get("GET /nope"); got != 1 {
		t.Fatalf("unmatched path count = %d", got)
	}
}

func TestRateLimitWindow(t *testing.T) {
	t.Parallel()

	clock := &Clock{}
	clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, Options{Limit: 2, Per: time.Minute, Clock: clock})

	codes := []int{}
	for range 3 {
		c, _ := get(t, s, "/v/1")
		codes = append(codes, c)
	}

	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("codes %v", codes)
	}

	clock.Advance(time.Minute)
	if c, _ := get(t, s, "/v/1"); c != 200 {
		t.Fatalf("after the window: %d", c)
	}
}

func TestTokensExpire(t *testing.T) {
	t.Parallel()

	clock := &Clock{}
	clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tk := NewTokens(5*time.Minute, clock)
	tok := tk.Issue("sim-access-", "client-1")

	if sub, ok := tk.Valid(tok); !ok || sub != "client-1" {
		t.Fatal("fresh token invalid")
	}

	clock.Advance(5 * time.Minute)
	if _, ok := tk.Valid(tok); ok {
		t.Fatal("expired token valid")
	}

	tok = tk.Issue("sim-access-", "c")
	tk.ExpireAll()
	if _, ok := tk.Valid(tok); ok {
		t.Fatal("ExpireAll left a token")
	}
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "sim", "bmw.json")
	in := map[string]string{"WBA": "active"}
	if err := SaveState(path, in); err != nil {
		t.Fatal(err)
	}

	var out map[string]string
	ok, err := LoadState(path, &out)
	if err != nil || !ok || out["WBA"] != "active" {
		t.Fatalf("LoadState = %v %v %v", out, ok, err)
	}

	ok, err = LoadState(filepath.Join(t.TempDir(), "none.json"), &out)
	if ok || err != nil {
		t.Fatal("missing file must be (false, nil)")
	}
}

func TestOnlyLoopback(t *testing.T) {
	t.Parallel()

	if _, err := Start(http.NewServeMux(), Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("listened on a non-loopback address")
	}

	s, err := Start(http.NewServeMux(), Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// Close ends a delay fault's wait even for a POST whose body the fault
// never read, so a test cannot hang on it.
func TestCloseEndsDelays(t *testing.T) {
	t.Parallel()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) {})
	s, err := Start(mux, Options{})
	if err != nil {
		t.Fatal(err)
	}

	s.AddFault(Fault{Endpoint: "POST /x", Delay: 10 * time.Minute})
	go func() {
		resp, err := s.Client().Post(s.URL()+"/x", "application/json", strings.NewReader(`{"a":1}`))
		if err == nil {
			resp.Body.Close()
		}
	}()

	time.Sleep(100 * time.Millisecond)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()

	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the delay fault")
	}
}
