package bmw

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// maxPages bounds a listing, in case a paging link never ends without ever
// repeating.
const maxPages = 10000

// The raw status words the connector reports: BMW has no status words of
// its own, only answers to its calls.
const (
	rawInFleet    = "in_fleet"
	rawRegistered = "registered"
	rawUnknown    = "not_registered"
	rawIneligible = "no_extended_capability"
	rawNotAllowed = codeNotAllowed
	rawStillThere = "still_registered"
	rawDeleted    = "deleted"
)

// fleetRef is the fleet the connector works on.
type fleetRef struct {
	ID   string
	Name string
}

// resolveFleet finds the fleet once: Config.FleetID checked against GET
// /fleet, else the fleet named Config.FleetName (trimmed,
// case-insensitive), else the account's only fleet. A failure is not kept,
// so a later call tries again.
func (c *Connector) resolveFleet(ctx context.Context) (fleetRef, error) {
	c.fleetMu.Lock()
	defer c.fleetMu.Unlock()

	if c.fleet != nil {
		return *c.fleet, nil
	}

	var ans fleetsAnswer
	_, err := c.http.DoJSON(ctx, httpx.Request{
		Op: "list fleets", Method: http.MethodGet, Path: "/fleet",
	}, &ans)
	if err != nil {
		return fleetRef{}, fmt.Errorf("bmw: find the fleet: %w", err)
	}

	names := make([]string, 0, len(ans.Fleets))
	var matches []fleetRef
	for _, f := range ans.Fleets {
		ref := fleetRef{ID: strings.TrimSpace(string(f.FleetID)), Name: f.Name.V}
		names = append(names, fmt.Sprintf("%q", ref.Name))
		switch {
		case c.cfg.FleetID != "":
			if ref.ID == c.cfg.FleetID {
				matches = append(matches, ref)
			}
		case c.cfg.FleetName != "":
			if oem.OwnerMatches(c.cfg.FleetName, ref.Name) {
				matches = append(matches, ref)
			}
		default:
			matches = append(matches, ref)
		}
	}

	all := strings.Join(names, ", ")
	switch {
	case len(matches) == 1:
		c.fleet = &matches[0]
		return matches[0], nil
	case c.cfg.FleetID != "" && len(matches) == 0:
		return fleetRef{}, fmt.Errorf("bmw: fleet id %s (BMW_FLEET_ID) is not among the "+
			"account's fleets [%s]: %w", c.cfg.FleetID, all, ErrFleetNotFound)
	case c.cfg.FleetName != "" && len(matches) == 0:
		return fleetRef{}, fmt.Errorf("bmw: no fleet is named %q (BMW_FLEET_NAME); the account "+
			"has [%s]: %w", c.cfg.FleetName, all, ErrFleetNotFound)
	case c.cfg.FleetName != "":
		return fleetRef{}, fmt.Errorf("bmw: %d fleets are named %q; set BMW_FLEET_ID: %w",
			len(matches), c.cfg.FleetName, oem.ErrInvalidInput)
	case len(matches) == 0:
		return fleetRef{}, fmt.Errorf("bmw: the account has no fleet: %w", ErrFleetNotFound)
	}

	return fleetRef{}, fmt.Errorf("bmw: the account has %d fleets [%s]; set BMW_FLEET_ID or "+
		"BMW_FLEET_NAME: %w", len(matches), all, oem.ErrInvalidInput)
}

// Fleet lists the fleet's vehicles, all active. The whole list is read
// before anything is yielded, so an error on any page fails the listing
// instead of passing a short list off as the fleet; a VIN listed twice
// yields one record, the most recently added. A listed VIN that does not
// parse is a *oem.VehicleError and the stream goes on.
func (c *Connector) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		ref, err := c.resolveFleet(ctx)
		if err != nil {
			yield(oem.Observed{}, err)
			return
		}

		recs, bad, err := c.listFleet(ctx, ref)
		if err != nil {
			yield(oem.Observed{}, err)
			return
		}

		for _, o := range recs {
			if !yield(o, nil) {
				return
			}
		}

		for _, e := range bad {
			if !yield(oem.Observed{}, e) {
				return
			}
		}
	}
}

func (c *Connector) listFleet(ctx context.Context, ref fleetRef) ([]oem.Observed, []error, error) {
	base, err := url.Parse(c.http.BaseURL())
	if err != nil {
		return nil, nil, fmt.Errorf("bmw: base URL: %w", err)
	}

	first := base.JoinPath("fleet", ref.ID, "vehicle")
	var (
		recs  []oem.Observed
		bad   []error
		index = make(map[oem.VIN]int)
		seen  = make(map[string]bool)
	)

	for page, cur := 1, first; cur != nil; page++ {
		if page > maxPages {
			return nil, nil, fmt.Errorf("bmw: list fleet %s: more than %d pages: %w",
				ref.ID, maxPages, oem.ErrTransient)
		}

		link := cur.String()
		if seen[link] {
			return nil, nil, fmt.Errorf("bmw: list fleet %s: page %d links back to %s, "+
				"a page already read: %w", ref.ID, page, c.http.Redactor().URL(cur), oem.ErrTransient)
		}

		seen[link] = true

		var ans fleetVehiclesAnswer
		_, err := c.http.DoJSON(ctx, httpx.Request{
			Op: fmt.Sprintf("list fleet vehicles, page %d", page), Method: http.MethodGet, Path: link,
		}, &ans)
		if err != nil {
			return nil, nil, fmt.Errorf("bmw: list fleet %s: %w", ref.ID, err)
		}

		if ans.Vehicles == nil {
			return nil, nil, fmt.Errorf("bmw: list fleet %s: page %d has no vehicles member: %w",
				ref.ID, page, oem.ErrTransient)
		}

		for _, v := range *ans.Vehicles {
			vin, err := oem.ParseVIN(v.VIN.V)
			if err != nil {
				bad = append(bad, oem.NewVehicleError(oem.VIN(v.VIN.V), "list",
					fmt.Errorf("bmw: fleet %s lists an unusable VIN: %w", ref.ID, err)))
				continue
			}

			o := oem.Observed{VIN: vin, Status: oem.StatusActive, Raw: rawInFleet,
				Account: ref.Name, ChangedAt: v.AddedToFleet.V}
			if i, dup := index[vin]; dup {
				if o.ChangedAt.After(recs[i].ChangedAt) {
					recs[i] = o
				}

				continue
			}

			index[vin] = len(recs)
			recs = append(recs, o)
		}

		cur = nil
		if ans.Next.Set {
			cur, err = c.nextPage(base, link, ans.Next.V)
			if err != nil {
				return nil, nil, fmt.Errorf("bmw: list fleet %s: page %d: %w", ref.ID, page, err)
			}
		}
	}

	return recs, bad, nil
}

// nextPage resolves a next link against the page it came from. A link to
// another host is refused: the token must not go there.
func (c *Connector) nextPage(base *url.URL, from, link string) (*url.URL, error) {
	cur, err := url.Parse(from)
	if err != nil {
		return nil, err
	}

	ref, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("next link %q does not parse: %w", link, oem.ErrTransient)
	}

	next := cur.ResolveReference(ref)
	if !strings.EqualFold(next.Host, base.Host) || next.Scheme != base.Scheme {
		return nil, fmt.Errorf("next link points at another host (%s): %w", next.Host, oem.ErrTransient)
	}

	return next, nil
}
