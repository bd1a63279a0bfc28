package testdb

import (
	"syscall"
	"time"
)

// sleepUntil sleeps in the kernel: the runtime's own timers wake an idle
// program a millisecond late at best, which would swamp the sub-millisecond
// delays a link is asked for.
func sleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}

	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
