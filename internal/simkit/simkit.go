// Package simkit is the toolkit the OEM simulators share: a loopback server
// with request counters by endpoint, scriptable faults (error statuses, the
// OEM's own rate-limit answer, connection resets, slow answers, malformed or
// HTML bodies), a request-rate limit, bearer tokens that expire, a clock
// tests can move, and state files for simulators that keep their world
// between runs.
package simkit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Clock is the simulators' time. The zero value follows the wall clock;
// Set and Advance freeze it at a chosen time.
type Clock struct {
	mu     sync.Mutex
	frozen bool
	t      time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.frozen {
		return c.t
	}

	return time.Now().UTC()
}

// Set freezes the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.frozen, c.t = true, t.UTC()
	c.mu.Unlock()
}

// Advance moves the clock forward by d, freezing it first if needed.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	if !c.frozen {
		c.frozen, c.t = true, time.Now().UTC()
	}
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Counters counts requests by endpoint pattern ("POST /vehicle"). Safe for
// concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one request to endpoint.
func (c *Counters) Add(endpoint string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]int)
	}
	c.m[endpoint]++
	c.mu.Unlock()
}

// Get returns the count for endpoint.
func (c *Counters) Get(endpoint string) int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.m[endpoint]
}

// Snapshot returns a copy of every count.
func (c *Counters) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()

	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}

	return out
}

// Sum adds the counts of every endpoint for which keep returns true.
func (c *Counters) Sum(keep func(endpoint string) bool) int {
	n := 0
	for k, v := range c.Snapshot() {
		if keep(k) {
			n += v
		}
	}

	return n
}

// Reset sets every count to zero.
func (c *Counters) Reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// Fault is one scripted misbehaviour.
type Fault struct {
	// Endpoint limits the fault to one pattern as registered on the mux
	// ("DELETE /vehicle/{vin}"); empty matches every endpoint.
	Endpoint string
	// Times is how many matching requests it hits; 0 means every one
	// until Clear.
	Times int
	// Delay is waited before answering (or before the rest of the fault).
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
	// Status, Body, ContentType and Header make the answer. A zero Status
	// with no Reset only delays and then serves normally.
	Status      int
	Body        string
	ContentType string
	Header      map[string]string
	// RateLimited answers with the simulator's own rate-limit signal
	// (Options.RenderRateLimit), with the wait in RetryAfter.
	RateLimited bool
	RetryAfter  time.Duration
}

// HTMLBody is a proxy's error page, for faults.
const HTMLBody = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"

// MalformedJSON is a body that is not valid JSON, for faults.
const MalformedJSON = `{"vehicles":[{"vin":`

// Options set up a Server.
type Options struct {
	// Addr is the loopback address to listen on ("127.0.0.1:8081"); a free
	// port on 127.0.0.1 when empty.
	Addr string
	// Limit and Per set a request-rate limit: at most Limit requests per
	// Per window (none when Limit is 0). Requests over it get the
	// rate-limit answer.
	Limit int
	Per   time.Duration
	// RenderRateLimit writes the OEM's own rate-limit answer; a plain 429
	// with Retry-After in seconds when nil.
	RenderRateLimit func(w http.ResponseWriter, wait time.Duration)
	// Clock is the time source for the rate limit (wall clock when nil).
	Clock *Clock
}

// Server is a simulator's HTTP server.
type Server struct {
	Counters *Counters

	mux  *http.ServeMux
	opts Options
	hs   *httptest.Server

	closing   chan struct{} // closed by Close
	closeOnce sync.Once

	mu          sync.Mutex
	faults      []*Fault
	windowStart time.Time
	windowCount int
}

// Start serves mux on loopback with counters, faults and the rate limit in
// front of it.
func Start(mux *http.ServeMux, opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = &Clock{}
	}

	s := &Server{Counters: &Counters{}, mux: mux, opts: opts, closing: make(chan struct{})}
	hs := httptest.NewUnstartedServer(s)
	if opts.Addr != "" {
		host, _, err := net.SplitHostPort(opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("simkit: address %q: %w", opts.Addr, err)
		}

		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("simkit: address %q is not a loopback address", opts.Addr)
		}

		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("simkit: listen: %w", err)
		}

		hs.Listener.Close()
		hs.Listener = l
	}

	hs.Start()
	s.hs = hs

	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.hs.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Close stops the server.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// AddFault scripts a misbehaviour; faults apply in the order added.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// SetLimit changes the request-rate limit.
func (s *Server) SetLimit(n int, per time.Duration) {
	s.mu.Lock()
	s.opts.Limit, s.opts.Per = n, per
	s.windowCount = 0
	s.mu.Unlock()
}

// ServeHTTP counts the request, applies faults and the rate limit, then
// serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = r.Method + " " + r.URL.Path
	}

	s.Counters.Add(pattern)

	if f := s.takeFault(pattern); f != nil {
		if f.Delay > 0 {
			// A POST whose body was not read does not see its client
			// leave, so Close must end the wait too.
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			}
		}

		switch {
		case f.Reset:
			resetConn(w)
			return
		case f.RateLimited:
			s.renderRateLimit(w, f.RetryAfter)
			return
		case f.Status != 0:
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}

			ct := f.ContentType
			if ct == "" {
				ct = "application/json"
				if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
					ct = "text/html"
				}
			}

			w.Header().Set("Content-Type", ct)
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))

			return
		}
	}

	if wait, limited := s.overLimit(); limited {
		s.renderRateLimit(w, wait)
		return
	}

	s.mux.ServeHTTP(w, r)
}

func (s *Server) takeFault(pattern string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()

	for i, f := range s.faults {
		if f.Endpoint != "" && f.Endpoint != pattern {
			continue
		}

		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}

		return f
	}

	return nil
}

func (s *Server) overLimit() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.opts.Limit <= 0 || s.opts.Per <= 0 {
		return 0, false
	}

	now := s.opts.Clock.Now()
	if now.Sub(s.windowStart) >= s.opts.Per {
		s.windowStart, s.windowCount = now, 0
	}

	s.windowCount++
	if s.windowCount > s.opts.Limit {
		return s.windowStart.Add(s.opts.Per).Sub(now), true
	}

	return 0, false
}

func (s *Server) renderRateLimit(w http.ResponseWriter, wait time.Duration) {
	if s.opts.RenderRateLimit != nil {
		s.opts.RenderRateLimit(w, wait)
		return
	}

	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
	WriteJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too Many Requests"})
}

func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}

	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}

	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}

	conn.Close()
}

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadJSON decodes a request body into v, answering 400 itself and
// returning false when it cannot.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20))
	if err := dec.Decode(v); err != nil {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid JSON body"})
		return false
	}

	return true
}

// SaveState writes v as JSON to path atomically (a temporary file renamed
// over the old one).
func SaveState(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("simkit: encode state: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("simkit: save state: %w", err)
	}

	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("simkit: save state: %w", err)
	}

	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("simkit: save state: %w", err)
	}

	return nil
}

// LoadState reads JSON state from path into v. It reports false, with no
// error, when the file does not exist.
func LoadState(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}

	if err != nil {
		return false, fmt.Errorf("simkit: load state: %w", err)
	}

	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("simkit: load state %s: %w", path, err)
	}

	return true, nil
}
