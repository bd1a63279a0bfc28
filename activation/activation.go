package activation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vehicleinfo/ingest/oem"
)

// Defaults of Config.
const (
	DefaultMaxActivations      = 5000
	DefaultRejectedCooldown    = 7 * 24 * time.Hour
	DefaultEligibilityCooldown = 30 * 24 * time.Hour
	DefaultMissingGrace        = 24 * time.Hour
	DefaultBatchSize           = 10
)

// Config tunes the Activator. The zero value gives the defaults.
type Config struct {
	// MaxActivations is the most activations one plan may have for one
	// connector (default DefaultMaxActivations). A negative value means no
	// cap. A plan above the cap is refused with an *oem.ActivationCapError.
	MaxActivations int
	// Caps overrides MaxActivations per connector name.
	Caps map[string]int
	// RejectedCooldown is how long a rejected vehicle (or one the OEM
	// reports in error) waits before it is activated again, counted from its
	// status change (default DefaultRejectedCooldown).
	RejectedCooldown time.Duration
	// EligibilityCooldown is how long an ineligible vehicle waits before it
	// is checked and activated again (default DefaultEligibilityCooldown).
	EligibilityCooldown time.Duration
	// MissingGrace is how long a wanted vehicle stored as active or
	// pending may be absent from complete listings before it is asked for
	// again (default DefaultMissingGrace). One listing that omits a
	// vehicle proves nothing (CASES 7); one that has omitted it for a day
	// means the OEM no longer has it.
	MissingGrace time.Duration
	// BatchSize is the batch size when the caller gives none (default
	// DefaultBatchSize).
	BatchSize int
	// Logger receives debug lines about plans and batches; nil is quiet.
	Logger *slog.Logger
}

// Activator is the default oem.Activator. It is safe for concurrent use.
type Activator struct {
	cfg Config
	log *slog.Logger
}

var _ oem.Activator = (*Activator)(nil)

// New returns an Activator with cfg, defaults filled in.
func New(cfg Config) *Activator {
	if cfg.MaxActivations == 0 {
		cfg.MaxActivations = DefaultMaxActivations
	}

	if cfg.RejectedCooldown <= 0 {
		cfg.RejectedCooldown = DefaultRejectedCooldown
	}

	if cfg.EligibilityCooldown <= 0 {
		cfg.EligibilityCooldown = DefaultEligibilityCooldown
	}

	if cfg.MissingGrace <= 0 {
		cfg.MissingGrace = DefaultMissingGrace
	}

	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}

	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	return &Activator{cfg: cfg, log: log}
}

// Cap returns the activation cap for the named connector; negative means
// none.
func (a *Activator) Cap(connector string) int {
	if n, ok := a.cfg.Caps[connector]; ok && n != 0 {
		return n
	}

	return a.cfg.MaxActivations
}

// Plan decides an action for every candidate (see the package comment). If
// the plan has more activations than the connector's cap, Plan returns it
// together with an *oem.ActivationCapError: the plan is for reporting only
// and must not be applied.
func (a *Activator) Plan(_ context.Context, in oem.PlanInput) (*oem.Plan, error) {
	p := &oem.Plan{Connector: in.Connector, Items: make([]oem.PlanItem, 0, len(in.Candidates))}
	for _, c := range in.Candidates {
		p.Items = append(p.Items, a.decide(c, in.Now))
	}

	n := p.Counts()[oem.ActionActivate]
	a.log.Debug("activation plan", "connector", in.Connector, "vehicles", len(p.Items),
		"activate", n, "deactivate", p.Counts()[oem.ActionDeactivate])

	if limit := a.Cap(in.Connector); limit >= 0 && n > limit {
		return p, &oem.ActivationCapError{Connector: in.Connector, Count: n, Cap: limit}
	}

	return p, nil
}

// decide is the rule table for one vehicle.
func (a *Activator) decide(c oem.Candidate, now time.Time) oem.PlanItem {
	cur := c.CurrentStatus()
	listed := c.Observed != nil
	item := func(act oem.Action, reason string) oem.PlanItem {
		return oem.PlanItem{VIN: c.Entry.VIN, Action: act, Status: cur, Reason: reason}
	}

	if !c.Entry.WantActive {
		switch cur {
		case oem.StatusActive, oem.StatusPending:
			return item(oem.ActionDeactivate, "not wanted and "+string(cur))
		case oem.StatusDeactivating:
			if listed {
				return item(oem.ActionWait, "the OEM is deactivating it")
			}

			// Our own deactivation that the OEM refused for now (too
			// early): try again.
			return item(oem.ActionDeactivate, "deactivation requested before; trying again")
		}

		return item(oem.ActionKeep, "not wanted")
	}

	if since := c.MissingSince(); !listed && (cur == oem.StatusActive || cur == oem.StatusPending) &&
		!since.IsZero() && now.Sub(since) >= a.cfg.MissingGrace {
		return item(oem.ActionActivate, fmt.Sprintf("%s here but not listed by the OEM since %s; asked again",
			cur, since.UTC().Format(time.DateOnly)))
	}

	switch cur {
	case oem.StatusActive:
		return item(oem.ActionKeep, "active")
	case oem.StatusPending:
		return item(oem.ActionWait, "pending at the OEM; not requested again")
	case oem.StatusDeactivating:
		if listed {
			return item(oem.ActionWait, "the OEM is deactivating it; left alone")
		}
	case oem.StatusRejected:
		if left := a.wait(c, now, a.cfg.RejectedCooldown); left > 0 {
			return item(oem.ActionCooldown, "rejected; retried in "+roundDur(left))
		}

		return item(oem.ActionActivate, "rejected before the cool-down; asked again")
	case oem.StatusError:
		if listed {
			if left := a.wait(c, now, a.cfg.RejectedCooldown); left > 0 {
				return item(oem.ActionCooldown, "in error at the OEM; retried in "+roundDur(left))
			}
		}

		return item(oem.ActionActivate, "the last attempt failed; asked again")
	case oem.StatusIneligible:
		if left := a.wait(c, now, a.cfg.EligibilityCooldown); left > 0 {
			return item(oem.ActionCooldown, "ineligible; checked again in "+roundDur(left))
		}

		return item(oem.ActionActivate, "ineligible before the cool-down; checked again")
	case oem.StatusUnknown:
		if listed {
			return item(oem.ActionKeep, fmt.Sprintf("unknown OEM status %q; not acted on",
				c.Observed.Raw))
		}
	}

	if e := c.Entry.Eligible; e != nil && !*e {
		return item(oem.ActionKeep, "marked not eligible in the fleet")
	}

	return item(oem.ActionActivate, "wanted and not active")
}

// wait returns how much of the cool-down d is left for the candidate's
// current status. A status whose start is unknown starts its cool-down now.
func (a *Activator) wait(c oem.Candidate, now time.Time, d time.Duration) time.Duration {
	since := c.StatusSince()
	if since.IsZero() || since.After(now) {
		return d
	}

	return d - now.Sub(since)
}

func roundDur(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd", int(d.Round(24*time.Hour)/(24*time.Hour)))
	}

	return d.Round(time.Minute).String()
}
