package hm_test

import (
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		listed := []oem.VIN{testVIN(wmiMercedes, 1), testVIN(wmiVolvo, 2)}
		activatable := []oem.VIN{testVIN(wmiKia, 3), testVIN(wmiFord, 4)}
		e := newEnv(t, envOpt{}, mercedes(1, "active"), volvo(2, "active"), kia(3, ""), ford(4, ""))

		return oemtest.ConnectorSubject{
			Connector:     e.conn,
			Listed:        listed,
			Activatable:   activatable,
			Describable:   listed,
			Unknown:       testVIN(wmiRenault, 9),
			CanActivate:   true,
			CanDeactivate: true,
		}
	})
}
