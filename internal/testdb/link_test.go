package testdb_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/testdb"
)

// echoServer answers every connection with what it receives.
func echoServer(t *testing.T) string {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { ln.Close() })

	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}

			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()

	return "postgres://fake-user@" + ln.Addr().String() + "/db?sslmode=disable"
}

func TestLinkDelaysEachWayAndKeepsBytes(t *testing.T) {
	t.Parallel()

	const oneWay = 20 * time.Millisecond

	dsn := testdb.Link(t, echoServer(t), oneWay)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	if u.Hostname() != "127.0.0.1" || u.User.Username() != "fake-user" || u.Path != "/db" ||
		u.Query().Get("sslmode") != "disable" {
		t.Fatalf("Link gave %s: want the same DSN on a 127.0.0.1 relay", dsn)
	}

	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// A small message: the round trip is at least both delays.
	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}

	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}

	if rtt := time.Since(start); rtt < 2*oneWay || string(got) != "ping" {
		t.Fatalf("round trip %v with %q: want ≥ %v and \"ping\"", rtt, got, 2*oneWay)
	}

	// 4 MiB sent in one go come back whole and in order, and in far less
	// than one delay per chunk: the relay adds latency, not a limit on
	// bandwidth.
	want := make([]byte, 4<<20)
	rand.Read(want)

	start = time.Now()
	go c.Write(want)

	back := make([]byte, len(want))
	if _, err := io.ReadFull(c, back); err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(back, want) {
		t.Fatal("the bytes came back changed")
	}

	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("4 MiB took %v through a %v link: the delays add up per chunk", took, oneWay)
	}

	// The end of the stream is passed on after the data.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}

	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("after CloseWrite read %d bytes, %v: want EOF", n, err)
	}
}

func TestLinkReachesPostgres(t *testing.T) {
	t.Parallel()

	const oneWay = 2 * time.Millisecond

	db, err := sql.Open("postgres", testdb.Link(t, testdb.BaseDSN(t), oneWay))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var one int
	if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}

	if rtt := time.Since(start); rtt < 2*oneWay {
		t.Errorf("SELECT 1 took %v: want ≥ %v through the link", rtt, 2*oneWay)
	}
}

// openSockets counts the process's open sockets (Linux only). Other files
// come and go: io.Copy between TCP connections splices through pipes the
// runtime keeps for reuse.
func openSockets(t *testing.T) int {
	t.Helper()

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open files: %v", err)
	}

	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil &&
			strings.HasPrefix(l, "socket:") {
			n++
		}
	}

	return n
}

// Connections that end cleanly are closed on the relay's side too, not only
// when the test ends. Not parallel: it counts the whole process's sockets.
func TestLinkClosesFinishedConnections(t *testing.T) {
	dsn := testdb.Link(t, echoServer(t), 0)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	before := openSockets(t)

	const n = 100
	for range n {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}

		got := make([]byte, 4)
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}

		if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
			t.Fatalf("read %q, %v; want ping", got, err)
		}

		c.Close()
	}

	// The relay closes each pair once both ways have ended, a moment after
	// the client's Close.
	deadline := time.Now().Add(5 * time.Second)
	for openSockets(t) > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	if after := openSockets(t); after > before {
		t.Errorf("%d open sockets after %d connections through the link, %d before: "+
			"the relay keeps finished connections open", after, n, before)
	}
}

// A connection still open when the test ends is closed by the relay.
func TestLinkClosesOpenConnectionsAtCleanup(t *testing.T) {
	t.Parallel()

	upstream := echoServer(t)

	var c net.Conn
	t.Run("link", func(t *testing.T) {
		u, err := url.Parse(testdb.Link(t, upstream, 0))
		if err != nil {
			t.Fatal(err)
		}

		if c, err = net.Dial("tcp", u.Host); err != nil {
			t.Fatal(err)
		}
	})

	if c == nil {
		t.FailNow()
	}
	defer c.Close()

	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("read after the link's test ended: %d bytes, %v; want EOF", n, err)
	}
}
