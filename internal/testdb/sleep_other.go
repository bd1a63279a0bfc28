//go:build !linux

package testdb

import "time"

// TODO: a precise sleep outside Linux; the runtime's timers may wake an idle
// program up to a millisecond late, so Link's delays are longer there.
func sleepUntil(t time.Time) {
	time.Sleep(time.Until(t))
}
