package renault

import (
	"context"

	"github.com/vehicleinfo/ingest/oem"
)

// notHere is the reason every activation answer carries.
const notHere = "Renault vehicles are activated through High Mobility (the hm connector)"

// Activate answers oem.ErrNotSupported for every VIN, with no request and no
// error for the call: Renault vehicles are activated through High Mobility.
func (c *Connector) Activate(_ context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return oem.NotSupported(vins, oem.StatusUnknown, notHere), nil
}

// Deactivate answers oem.ErrNotSupported for every VIN, as Activate does.
func (c *Connector) Deactivate(_ context.Context, vins []oem.VIN) ([]oem.Result, error) {
	return oem.NotSupported(vins, oem.StatusUnknown, notHere), nil
}
