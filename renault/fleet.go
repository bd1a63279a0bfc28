package renault

import (
	"context"
	"fmt"
	"iter"

	"github.com/vehicleinfo/ingest/oem"
)

// Fleet lists nothing: Renault's B2B API has no fleet listing (the vehicles
// are enrolled, and listed, through High Mobility). The stream is empty and
// sends no request; a cancelled context is its only error.
func (c *Connector) Fleet(ctx context.Context) iter.Seq2[oem.Observed, error] {
	return func(yield func(oem.Observed, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(oem.Observed{}, fmt.Errorf("%s: fleet: %w", Name, err))
		}
	}
}
