package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vehicleinfo/ingest/oem"
)

// progress shows the run's progress: a live display with one line per
// connector on a terminal, or a log line per connector and phase, at most
// every few seconds, otherwise.
//
// It is also the program's stderr: everything written to it (log lines,
// messages) clears the live block first and redraws it after, so the two
// never garble each other.
type progress struct {
	w    io.Writer
	live bool
	off  bool
	log  *slog.Logger // set once the logger, which writes through p, exists

	mu     sync.Mutex
	state  map[string]oem.Progress
	logged map[string]time.Time
	drawn  int
	last   time.Time
}

func newProgress(w io.Writer, mode string) *progress {
	p := &progress{w: w, log: slog.New(slog.DiscardHandler), state: map[string]oem.Progress{},
		logged: map[string]time.Time{}}
	switch mode {
	case "off":
		p.off = true
	case "live":
		p.live = true
	case "log":
	default:
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			p.live = true
		}
	}

	return p
}

func (p *progress) update(ev oem.Progress) {
	if p.off {
		return
	}

	p.mu.Lock()
	prev, seen := p.state[ev.Connector]
	p.state[ev.Connector] = ev

	if p.live {
		if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || ev.Phase == oem.PhaseDone {
			p.last = now
			p.draw()
		}

		p.mu.Unlock()

		return
	}

	key := ev.Connector
	logIt := !seen || prev.Phase != ev.Phase || time.Since(p.logged[key]) > 5*time.Second || ev.Phase == oem.PhaseDone
	if logIt {
		p.logged[key] = time.Now()
	}
	p.mu.Unlock()

	// The logger writes through p, so it is called without the lock.
	if logIt {
		p.log.Info("progress", "connector", ev.Connector, "phase", string(ev.Phase), "done", ev.Done, "total", ev.Total)
	}
}

// Write writes b above the live block.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	if !p.live || p.drawn == 0 {
		return p.w.Write(b)
	}

	// Move to the top of the block and clear it, write, then redraw below.
	if _, err := fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn); err != nil {
		return 0, err
	}

	p.drawn = 0
	n, err := p.w.Write(b)
	p.draw()

	return n, err
}

// draw rewrites the block of connector lines in place.
func (p *progress) draw() {
	names := make([]string, 0, len(p.state))
	for n := range p.state {
		names = append(names, n)
	}

	slices.Sort(names)

	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}

	for _, n := range names {
		ev := p.state[n]
		fmt.Fprintf(&b, "\x1b[2K%-11s %-10s %s\n", n, ev.Phase, bar(ev.Done, ev.Total))
	}

	p.drawn = len(names)
	_, _ = io.WriteString(p.w, b.String())
}

func bar(done, total int) string {
	const width = 30
	if total <= 0 {
		return fmt.Sprintf("%d", done)
	}

	filled := min(width, done*width/max(total, 1))

	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func (p *progress) finish() {
	if p.off || !p.live {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.draw()
}
