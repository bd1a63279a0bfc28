package oem_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

func TestDefaultRouting(t *testing.T) {
	t.Parallel()

	r := oem.DefaultRouting()
	one := func(n string) oem.Route { return oem.Route{Activate: n, Describe: n} }
	renault := oem.Route{Activate: "hm", Describe: "renault"}

	tests := []struct {
		name  string
		entry oem.FleetEntry
		want  oem.Route
	}{
		{"BMW by make", oem.FleetEntry{Make: "BMW"}, one("bmw")},
		{"MINI by make", oem.FleetEntry{Make: "mini"}, one("bmw")},
		{"Tesla by WMI", oem.FleetEntry{VIN: "5YJ3E1EA7KF000001"}, one("tesla")},
		{"Peugeot", oem.FleetEntry{Make: "Peugeot"}, one("stellantis")},
		{"Citroen without accent", oem.FleetEntry{Make: "CITROEN"}, one("stellantis")},
		{"DS", oem.FleetEntry{Make: "DS Automobiles"}, one("stellantis")},
		{"Opel", oem.FleetEntry{Make: "Opel"}, one("stellantis")},
		{"Vauxhall", oem.FleetEntry{Make: "Vauxhall"}, one("stellantis")},
		{"Fiat by WMI", oem.FleetEntry{VIN: "ZFA31200000000001"}, one("stellantis")},
		{"Jeep", oem.FleetEntry{Make: "Jeep"}, one("stellantis")},
		{"Alfa Romeo", oem.FleetEntry{Make: "alfa_romeo"}, one("stellantis")},
		{"Lancia", oem.FleetEntry{Make: "Lancia"}, one("stellantis")},
		{"Abarth", oem.FleetEntry{Make: "Abarth"}, one("stellantis")},
		{"Renault split", oem.FleetEntry{Make: "Renault"}, renault},
		{"Dacia by WMI", oem.FleetEntry{VIN: "UU1DJF00000000001"}, renault},
		{"Ford", oem.FleetEntry{Make: "Ford"}, one("hm")},
		{"Mercedes", oem.FleetEntry{Make: "mercedes benz"}, one("hm")},
		{"Kia", oem.FleetEntry{Make: "Kia"}, one("hm")},
		{"Volvo", oem.FleetEntry{Make: "Volvo Cars"}, one("hm")},
		{"any other make", oem.FleetEntry{Make: "Lada"}, one("hm")},
		{"explicit connector wins over make", oem.FleetEntry{Make: "BMW", Connector: " HM "},
			one("hm")},
		{"explicit renault is the split", oem.FleetEntry{Make: "Renault", Connector: "renault"},
			renault},
		{"make wins over WMI", oem.FleetEntry{Make: "Tesla", VIN: "WBA00000000000001"},
			one("tesla")},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			got, ok := r.Route(tc.entry)
			if !ok || got != tc.want {
				t.Errorf("Route(%+v) = %+v, %v; want %+v", tc.entry, got, ok, tc.want)
			}
		})
	}

	if _, ok := r.Route(oem.FleetEntry{VIN: "XXX00000000000001"}); ok {
		t.Error("a vehicle with no make and an unknown WMI was routed")
	}
}

func TestCustomRouting(t *testing.T) {
	t.Parallel()

	r := oem.DefaultRouting().Clone()
	r.Makes["Kia"] = oem.Route{Activate: "kia", Describe: "kia"}
	r.Default = oem.Route{}

	if got, _ := r.Route(oem.FleetEntry{Make: "Kia"}); got.Activate != "kia" {
		t.Errorf("custom make route = %+v", got)
	}

	if _, ok := r.Route(oem.FleetEntry{Make: "Lada"}); ok {
		t.Error("with no default route, an unknown make was routed")
	}

	if got, _ := oem.DefaultRouting().Route(oem.FleetEntry{Make: "Kia"}); got.Activate != "hm" {
		t.Errorf("Clone shares the makes table: default Kia route = %+v", got)
	}
}

func TestUnroutableError(t *testing.T) {
	t.Parallel()

	vin := oem.VIN("WBA00000000000001")
	for _, e := range []*oem.UnroutableError{
		{VIN: vin},
		{VIN: vin, Make: "Lada"},
		{VIN: vin, Make: "BMW", Connector: "bmw"},
	} {
		if !errors.Is(e, oem.ErrUnroutable) {
			t.Errorf("%v is not ErrUnroutable", e)
		}

		if !strings.Contains(e.Error(), string(vin)) {
			t.Errorf("%q does not name the VIN", e)
		}

		if oem.KindOf(e) != "unroutable" {
			t.Errorf("KindOf(%v) = %q", e, oem.KindOf(e))
		}
	}
}
