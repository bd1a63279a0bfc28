package hm

import (
	"strings"

	"github.com/vehicleinfo/ingest/oem"
)

// brand is one High Mobility brand in its three spellings.
type brand struct {
	make      string // canonical make, as oem.NormalizeMake gives it
	clearance string // the clearance and eligibility APIs' name
	data      string // the vehicle data API's name
}

// brands lists the brands the clearance API accepts (its FleetVehicle
// enum). The data names follow the vehicle data API's brand enum; that enum
// has no entry for vauxhall, maserati, tesla or polestar, so for those the
// data name is our guess and a real answer for them may say "unknown".
var brands = []brand{
	{oem.MakeBMW, "bmw", "bmw"},
	{oem.MakeMini, "mini", "mini"},
	{oem.MakeMercedesBenz, "mercedes-benz", "mercedes_benz"},
	{oem.MakeCitroen, "citroen", "citroen"},
	{oem.MakeDS, "ds", "ds"},
	{oem.MakeOpel, "opel", "opel"},
	{oem.MakePeugeot, "peugeot", "peugeot"},
	{oem.MakeVauxhall, "vauxhall", "vauxhall"},
	{oem.MakeJeep, "jeep", "jeep"},
	{oem.MakeFiat, "fiat", "fiat"},
	{oem.MakeAlfaRomeo, "alfaromeo", "alfaromeo"},
	{oem.MakeMaserati, "maserati", "maserati"},
	{oem.MakeFord, "ford", "ford"},
	{oem.MakeRenault, "renault", "renault"},
	{oem.MakeDacia, "dacia", "dacia"},
	{oem.MakeToyota, "toyota", "toyota"},
	{oem.MakeLexus, "lexus", "lexus"},
	{oem.MakePorsche, "porsche", "porsche"},
	{oem.MakeKia, "kia", "kia"},
	{oem.MakeTesla, "tesla", "tesla"},
	{oem.MakeVolvo, "volvo-cars", "volvo_cars"},
	{oem.MakePolestar, "polestar", "polestar"},
	{oem.MakeSkoda, "skoda", "skoda"},
	{oem.MakeAudi, "audi", "audi"},
	{oem.MakeVolkswagen, "volkswagen", "volkswagen"},
	{oem.MakeSeat, "seat", "seat"},
	{oem.MakeCupra, "cupra", "cupra"},
	{"", "sandbox", "sandbox"}, // High Mobility's test brand: no make of ours
}

// dataOnly are brands the vehicle data API names but the clearance API does
// not accept.
var dataOnly = map[string]string{
	"abarth": oem.MakeAbarth, "lancia": oem.MakeLancia, "hyundai": oem.MakeHyundai,
	"nissan": oem.MakeNissan, "smart": "smart", "alpine": "Alpine", "cadillac": "Cadillac",
	"chevrolet": "Chevrolet", "chrysler": "Chrysler", "dodge": "Dodge", "honda": "Honda",
	"iveco": "Iveco", "jaguar": "Jaguar", "land_rover": "Land Rover", "man": "MAN",
	"mazda": "Mazda", "mitsubishi": "Mitsubishi", "subaru": "Subaru",
}

// eligibilityBrands are the brands the eligibility API accepts (its Request
// enum, shorter than the clearance one).
var eligibilityBrands = map[string]bool{
	"mercedes-benz": true, "ford": true, "bmw": true, "mini": true, "citroen": true,
	"peugeot": true, "opel": true, "vauxhall": true, "ds": true, "jeep": true, "fiat": true,
	"alfaromeo": true, "renault": true, "toyota": true, "lexus": true, "volvo-cars": true,
	"sandbox": true,
}

// ClearanceBrand returns High Mobility's clearance name for a brand given
// in any spelling: a canonical make ("Mercedes-Benz", "Citroën", "Alfa
// Romeo", "Volvo"), a clearance name ("volvo-cars") or a data name
// ("volvo_cars"). It reports false for a brand the clearance API does not
// accept.
func ClearanceBrand(name string) (string, bool) {
	low := strings.ToLower(strings.Join(strings.Fields(name), " "))
	if low == "" {
		return "", false
	}

	for _, b := range brands {
		if low == b.clearance || low == b.data {
			return b.clearance, true
		}
	}

	m := oem.NormalizeMake(name)
	for _, b := range brands {
		if b.make != "" && strings.EqualFold(m, b.make) {
			return b.clearance, true
		}
	}

	return "", false
}

// MakeOf returns the canonical make for a High Mobility brand name, in its
// clearance ("mercedes-benz") or data ("mercedes_benz") spelling. It gives
// "" for "unknown", "sandbox", an empty name and names it does not know.
func MakeOf(hmBrand string) string {
	low := strings.ToLower(strings.TrimSpace(hmBrand))
	if low == "" || low == "unknown" {
		return ""
	}

	for _, b := range brands {
		if low == b.clearance || low == b.data {
			return b.make
		}
	}

	return dataOnly[low]
}

// DataBrand returns the vehicle data API's name for a clearance name
// ("mercedes-benz" gives "mercedes_benz"), or "" when it knows none.
func DataBrand(clearance string) string {
	for _, b := range brands {
		if b.clearance == clearance {
			return b.data
		}
	}

	return ""
}
