package oem

import (
	"context"
	"sync/atomic"
)

var (
	errCanceled = context.Canceled
	errDeadline = context.DeadlineExceeded
)

// RequestKind says what an OEM request was for. Reports count requests per
// connector by kind, because every OEM call can cost money.
type RequestKind string

const (
	RequestListing      RequestKind = "listing"
	RequestEligibility  RequestKind = "eligibility"
	RequestActivation   RequestKind = "activation"
	RequestDeactivation RequestKind = "deactivation"
	RequestDescription  RequestKind = "description"
	RequestAuth         RequestKind = "auth"
	RequestOther        RequestKind = "other"
)

// RequestKinds lists the kinds in report order.
func RequestKinds() []RequestKind {
	return []RequestKind{
		RequestListing, RequestEligibility, RequestActivation, RequestDeactivation,
		RequestDescription, RequestAuth, RequestOther,
	}
}

// RequestCounter counts the HTTP requests a connector sends, by kind. It is
// safe for concurrent use. The HTTP stack in this module increments the
// counter found in the request's context once per attempt sent.
type RequestCounter struct {
	n [7]atomic.Int64
}

func kindIndex(k RequestKind) int {
	for i, kk := range RequestKinds() {
		if kk == k {
			return i
		}
	}

	return len(RequestKinds()) - 1
}

// Add counts one request of kind k.
func (c *RequestCounter) Add(k RequestKind) {
	if c != nil {
		c.n[kindIndex(k)].Add(1)
	}
}

// Get returns the count for kind k.
func (c *RequestCounter) Get(k RequestKind) int64 {
	if c == nil {
		return 0
	}

	return c.n[kindIndex(k)].Load()
}

// Snapshot returns every non-zero count.
func (c *RequestCounter) Snapshot() map[RequestKind]int64 {
	out := make(map[RequestKind]int64)
	for _, k := range RequestKinds() {
		if v := c.Get(k); v > 0 {
			out[k] = v
		}
	}

	return out
}

type counterKey struct{}
type kindKey struct{}

// WithRequestCounter returns a context whose OEM requests are counted in c.
func WithRequestCounter(ctx context.Context, c *RequestCounter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// WithRequestKind returns a context whose OEM requests count as kind k.
func WithRequestKind(ctx context.Context, k RequestKind) context.Context {
	return context.WithValue(ctx, kindKey{}, k)
}

// CountRequest counts one request in the counter carried by ctx, under the
// kind carried by ctx (RequestOther when none). HTTP stacks call it once per
// request actually sent, retries included.
func CountRequest(ctx context.Context) {
	c, _ := ctx.Value(counterKey{}).(*RequestCounter)
	if c == nil {
		return
	}

	k, _ := ctx.Value(kindKey{}).(RequestKind)
	if k == "" {
		k = RequestOther
	}

	c.Add(k)
}
