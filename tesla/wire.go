package tesla

import (
	"bytes"
	"encoding/json"

	"github.com/vehicleinfo/ingest/internal/jsonx"
)

// rawJSON keeps a member undecoded.
type rawJSON = json.RawMessage

// decodeResponse decodes a whole answer into out, keeping numbers exact.
func decodeResponse(body []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()

	return dec.Decode(out)
}

// vehiclesPage is GET /api/1/vehicles.
type vehiclesPage struct {
	Response   []wireVehicle   `json:"response"`
	Pagination *wirePagination `json:"pagination"`
	Count      jsonx.Int       `json:"count"`
}

type wireVehicle struct {
	ID          jsonx.ID     `json:"id"`
	IDS         jsonx.String `json:"id_s"`
	VehicleID   jsonx.ID     `json:"vehicle_id"`
	VIN         jsonx.String `json:"vin"`
	DisplayName jsonx.String `json:"display_name"`
	State       jsonx.String `json:"state"`
	AccessType  jsonx.String `json:"access_type"`
}

type wirePagination struct {
	Previous jsonx.Int `json:"previous"`
	Next     jsonx.Int `json:"next"`
	Current  jsonx.Int `json:"current"`
	PerPage  jsonx.Int `json:"per_page"`
	Count    jsonx.Int `json:"count"`
	Pages    jsonx.Int `json:"pages"`
}

// optionsAnswer is GET /api/1/dx/vehicles/options.
type optionsAnswer struct {
	Response struct {
		Codes []wireOption `json:"codes"`
	} `json:"response"`
}

type wireOption struct {
	Code        jsonx.String `json:"code"`
	DisplayName jsonx.String `json:"displayName"`
	IsActive    jsonx.Bool   `json:"isActive"`
}

// warrantyAnswer is GET /api/1/dx/warranty/details.
type warrantyAnswer struct {
	Response struct {
		Active   []wireWarranty `json:"activeWarranty"`
		Upcoming []wireWarranty `json:"upcomingWarranty"`
		Expired  []wireWarranty `json:"expiredWarranty"`
	} `json:"response"`
}

type wireWarranty struct {
	Type        jsonx.String `json:"warrantyType"`
	DisplayName jsonx.String `json:"warrantyDisplayName"`
	Expiration  jsonx.Time   `json:"expirationDate"`
	Odometer    jsonx.Float  `json:"expirationOdometer"`
	Unit        jsonx.String `json:"odometerUnit"`
	Years       jsonx.Float  `json:"coverageAgeInYears"`
}
