package tesla

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// RawShared is the raw status word of a listed vehicle: Tesla has no status
// of its own for data sharing; being listed is the share.
const RawShared = "shared"

// maxListPages guards against a listing that never ends.
const maxListPages = 10000

// Fleet lists every configured account, one after the other, each paged to
// the end. A vehicle listed in several accounts is yielded once, with the
// first account (in configured order) in Observed.Account. When an
// account's listing fails on any page, none of its vehicles is yielded and,
// after the other accounts, one error names each failed account: the
// listing is then incomplete. A cancelled context, a rate limit, an
// unregistered application or a region that cannot be followed end the
// listing at once with that error.
func (c *Connector) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		seen := make(map[oem.VIN]bool)
		var failed []error

		for _, account := range c.accounts {
			recs, bad, err := c.listAccount(ctx, account)
			if err != nil {
				err = fmt.Errorf("tesla: list account %s: %w", account, err)
				if stopErr(ctx, err) {
					yield(oem.Observed{}, err)
					return
				}

				failed = append(failed, err)

				continue
			}

			c.remember(account, recs)

			for _, verr := range bad {
				if !yield(oem.Observed{}, verr) {
					return
				}
			}

			for _, r := range recs {
				if seen[r.vin] {
					continue
				}

				seen[r.vin] = true
				obs := oem.Observed{VIN: r.vin, Status: oem.StatusActive, Raw: RawShared,
					Account: account, Make: oem.MakeTesla}
				if !yield(obs, nil) {
					return
				}
			}
		}

		if len(failed) > 0 {
			yield(oem.Observed{}, errors.Join(failed...))
		}
	}
}

type listed struct {
	vin oem.VIN
	rec vehicleRecord
}

// listAccount reads every page of one account's listing. A record without
// a usable VIN is a *VehicleError in bad; any failed page fails the whole
// account, and so does a listing that ends early (CASES 5): a page whose
// response is null or not a list, an empty page that the page before named
// as the next one, or a last page reached with fewer vehicles than a page
// announced in count, or before the page number a page announced in pages.
func (c *Connector) listAccount(ctx context.Context, account string) ([]listed, []error, error) {
	var (
		out     []listed
		bad     []error
		byVIN   = make(map[oem.VIN]bool)
		prevIDs string
		tally   listingTally
	)

	page := 1
	for n := 0; ; n++ {
		if n >= maxListPages {
			return nil, nil, fmt.Errorf("more than %d pages: %w", maxListPages, oem.ErrTransient)
		}

		var p vehiclesPage
		err := c.get(ctx, account, "list vehicles", "/api/1/vehicles", map[string]string{
			"page": strconv.Itoa(page), "per_page": strconv.Itoa(c.cfg.PageSize),
		}, &p)
		if err != nil {
			return nil, nil, fmt.Errorf("page %d: %w", page, err)
		}

		items, err := p.vehicles()
		if err != nil {
			return nil, nil, fmt.Errorf("page %d: %w: %w", page, err, oem.ErrTransient)
		}

		if len(items) == 0 && tally.next == page {
			return nil, nil, fmt.Errorf("page %d is empty, though page %d named it as the next: %w",
				page, tally.prev, oem.ErrTransient)
		}

		tally.note(page, len(items), p)
		ids := make([]string, 0, len(items))
		for _, v := range items {
			id := string(v.ID)
			if id == "" {
				id = v.IDS.V
			}

			ids = append(ids, id)
			vin, err := oem.ParseVIN(v.VIN.V)
			if err != nil {
				bad = append(bad, oem.NewVehicleError(oem.VIN(strings.ToUpper(v.VIN.V)), "list",
					fmt.Errorf("tesla: account %s lists vehicle id %s: %w", account, id, err)))

				continue
			}

			if byVIN[vin] {
				continue
			}

			byVIN[vin] = true
			out = append(out, listed{vin: vin, rec: vehicleRecord{
				Account: account, ID: id, VehicleID: string(v.VehicleID),
				DisplayName: v.DisplayName.V, State: v.State.V, AccessType: v.AccessType.V,
			}})
		}

		// A page that repeats the previous one means the page parameter is
		// ignored: stop rather than loop.
		joined := strings.Join(ids, ",")
		if page > 1 && len(ids) > 0 && joined == prevIDs {
			return nil, nil, fmt.Errorf("page %d repeats page %d: %w", page, page-1, oem.ErrTransient)
		}

		prevIDs = joined

		next, more, err := nextPage(page, len(items), c.cfg.PageSize, p.Pagination)
		if err != nil {
			return nil, nil, err
		}

		// An empty page is the end: nothing is asked past it, and whether
		// the listing is whole is for the tally to say.
		if !more || len(items) == 0 {
			if err := tally.whole(page); err != nil {
				return nil, nil, err
			}

			return out, bad, nil
		}

		page = next
	}
}

// listingTally is what the pages of one listing announced so far, to tell
// a listing that ended early from a complete one.
type listingTally struct {
	records int64 // vehicle records read, bad VINs and repeats included
	count   int64 // the largest vehicle count any page announced
	pages   int64 // the largest page count any page announced
	prev    int   // the page read last
	next    int   // the next page it named in pagination.next; 0 for none
}

func (t *listingTally) note(page, got int, p vehiclesPage) {
	t.records += int64(got)
	t.count = max(t.count, totalCount(p))
	t.prev, t.next = page, 0
	if pg := p.Pagination; pg != nil {
		if pg.Pages.Set {
			t.pages = max(t.pages, pg.Pages.V)
		}

		if pg.Next.Set {
			t.next = int(pg.Next.V)
		}
	}
}

// whole checks a listing that ended at page against what its pages
// announced. Without counts or page numbers (no pagination object and no
// count), a short page is the end and the listing is whole.
func (t *listingTally) whole(page int) error {
	if t.count > 0 && t.records < t.count {
		return fmt.Errorf("listing ended at page %d after %d of the %d vehicles announced: %w",
			page, t.records, t.count, oem.ErrTransient)
	}

	if int64(page) < t.pages {
		return fmt.Errorf("listing ended at page %d of the %d pages announced: %w",
			page, t.pages, oem.ErrTransient)
	}

	return nil
}

// nextPage decides whether there is a page after page: Tesla's pagination
// next when present, else its page count, else whether the page was full
// (a full page means "ask for the next one").
func nextPage(page, got, perPage int, pg *wirePagination) (int, bool, error) {
	if pg != nil && pg.Next.Set {
		next := int(pg.Next.V)
		if next <= page {
			return 0, false, fmt.Errorf("page %d names page %d as the next: %w", page, next, oem.ErrTransient)
		}

		return next, true, nil
	}

	if pg != nil && pg.Pages.Set {
		return page + 1, int64(page) < pg.Pages.V, nil
	}

	if pg != nil && (pg.Current.Set || pg.Count.Set) {
		// A pagination object with next null: the last page.
		return 0, false, nil
	}

	return page + 1, got >= perPage && got > 0, nil
}

func totalCount(p vehiclesPage) int64 {
	if p.Pagination != nil && p.Pagination.Count.Set {
		return p.Pagination.Count.V
	}

	if p.Count.Set {
		return p.Count.V
	}

	return 0
}

// remember keeps an account's complete listing for Activate and Describe.
func (c *Connector) remember(account string, recs []listed) {
	m := make(map[oem.VIN]vehicleRecord, len(recs))
	for _, r := range recs {
		m[r.vin] = r.rec
	}

	c.mu.Lock()
	c.listing[account] = m
	c.mu.Unlock()
}

// lookupVehicle says which account lists vin, from the last complete
// listing of each account; complete is false while some account has never
// been listed completely.
func (c *Connector) lookupVehicle(vin oem.VIN) (rec vehicleRecord, found, complete bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()

	complete = true
	for _, a := range c.accounts {
		m, ok := c.listing[a]
		if !ok {
			complete = false
			continue
		}

		if r, ok := m[vin]; ok && !found {
			rec, found = r, true
		}
	}

	return rec, found, complete
}

// unlisted returns the accounts that have no complete listing yet.
func (c *Connector) unlisted() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()

	var out []string
	for _, a := range c.accounts {
		if _, ok := c.listing[a]; !ok {
			out = append(out, a)
		}
	}

	return out
}
