package testdb

import (
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Link returns dsn rewritten to reach the same server through a relay on
// 127.0.0.1 that holds every chunk of bytes for oneWay before passing it on,
// in both directions: the server as a program on another host would see it,
// oneWay being half the round trip. The delay is latency only, not a limit
// on bandwidth: bytes that arrive together leave together, oneWay later.
// A connection is closed once both ways have ended; the relay stops, and
// closes those still open, when t ends.
//
// Delays are slept in the kernel (nanosleep on Linux), so each one is late
// by the timer slack, about 50 µs; callers that report figures should
// measure the round trip the relay gives (a SELECT 1) rather than assume
// 2 × oneWay. Toxiproxy's latency toxic, the usual library for this, counts
// in whole milliseconds, too coarse for a data centre's sub-millisecond
// links.
func Link(t testing.TB, dsn string, oneWay time.Duration) string {
	t.Helper()

	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("testdb: link: the DSN is not a postgres:// URL with a host") // never print it
	}

	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testdb: link: %v", err)
	}

	r := &relay{ln: ln, upstream: upstream, delay: oneWay, conns: map[net.Conn]bool{}}
	r.wg.Add(1)

	go r.serve()

	t.Cleanup(r.close)

	u.Host = ln.Addr().String()

	return u.String()
}

type relay struct {
	ln       net.Listener
	upstream string
	delay    time.Duration
	wg       sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (r *relay) serve() {
	defer r.wg.Done()

	for {
		down, err := r.ln.Accept()
		if err != nil {
			return
		}

		up, err := net.Dial("tcp", r.upstream)
		if err != nil {
			down.Close()

			continue
		}

		if !r.track(down, up) {
			return
		}

		r.wg.Add(1)

		go r.relayPair(down, up)
	}
}

// relayPair relays both ways between a client's connection and the
// server's, then closes both and forgets them. Each way ends on its own,
// passing the end of its stream on, so a client that closes only its
// sending side still gets the server's last bytes.
func (r *relay) relayPair(down, up net.Conn) {
	defer r.wg.Done()

	var ways sync.WaitGroup
	ways.Go(func() { r.pipe(up, down) })
	ways.Go(func() { r.pipe(down, up) })
	ways.Wait()

	r.untrack(down, up)
}

// track records a connection pair, or closes it when the relay is closing.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()

	if r.closed {
		for _, c := range cs {
			c.Close()
		}

		return false
	}

	for _, c := range cs {
		r.conns[c] = true
	}

	return true
}

// untrack closes a connection pair and drops it from the relay.
func (r *relay) untrack(cs ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()

	for _, c := range cs {
		c.Close()
		delete(r.conns, c)
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk oneWay after it was read. A reader
// goroutine stamps chunks as they arrive so that waiting for one chunk's
// time does not delay the reading of the next.
func (r *relay) pipe(dst, src net.Conn) {
	chunks := make(chan chunk, 256)
	go func() {
		defer close(chunks)

		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{buf[:n], time.Now().Add(r.delay)}
			}

			if err != nil {
				return
			}
		}
	}()

	for c := range chunks {
		sleepUntil(c.due)

		if _, err := dst.Write(c.b); err != nil {
			src.Close()

			for range chunks { // let the reader finish
			}

			return
		}
	}

	// src is done: pass the end on, so the other side sees it in order.
	if tc, ok := dst.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
			dst.Close()
		}

		return
	}

	dst.Close()
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()

	r.wg.Wait()
}
