package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/oem/oemtest"
)

func TestCustomConnectorRuns(t *testing.T) {
	t.Parallel()

	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", out.String())
	}

	if strings.Count(out.String(), " active Roadrunner EV 64 kWh\n") != 2 || strings.Count(out.String(), " ineligible ") != 1 {
		t.Fatalf("output:\n%s", out.String())
	}

	if lines[3] != `statuses: {"active":2,"ineligible":1}` {
		t.Fatalf("statuses line %q", lines[3])
	}
}

// The connector passes the same conformance suite as the built-in ones.
func TestAcmeConformance(t *testing.T) {
	t.Parallel()

	oemtest.TestConnector(t, func(t *testing.T) oemtest.ConnectorSubject {
		a := newAcme()
		listed := oem.MustParseVIN("ZZZACME0000000010").WithCheckDigit()
		fresh := oem.MustParseVIN("ZZZACME0000000011").WithCheckDigit()
		a.sharing[listed] = true
		for _, v := range []oem.VIN{listed, fresh} {
			a.catalogs[v] = oem.Info{VIN: v, Model: "Roadrunner", Sources: map[oem.Field]string{oem.FieldModel: "acme"}}
		}

		return oemtest.ConnectorSubject{
			Connector: a, Listed: []oem.VIN{listed}, Activatable: []oem.VIN{fresh},
			Describable: []oem.VIN{listed, fresh}, Unknown: oem.MustParseVIN("ZZZACME0000000099").WithCheckDigit(),
			CanActivate: true, CanDeactivate: true,
		}
	})
}
