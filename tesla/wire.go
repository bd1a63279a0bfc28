package tesla

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

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

// vehiclesPage is GET /api/1/vehicles. Response stays raw so that a null,
// missing or non-list response is told apart from an empty list (see
// vehicles).
type vehiclesPage struct {
	Response   rawJSON         `json:"response"`
	Pagination *wirePagination `json:"pagination"`
	Count      jsonx.Int       `json:"count"`
}

// errNotAList is a listing page whose response is null, missing or not a
// JSON array: nothing says how many vehicles it should have held.
var errNotAList = errors.New("response is not a list of vehicles")

// vehicles decodes the page's response, which must be a JSON array (an
// empty one is an empty page).
func (p vehiclesPage) vehicles() ([]wireVehicle, error) {
	raw := bytes.TrimSpace(p.Response)
	if len(raw) == 0 || raw[0] != '[' {
		what := "missing"
		switch {
		case bytes.Equal(raw, []byte("null")):
			what = "null"
		case len(raw) > 0:
			what = "a JSON " + jsonKind(raw[0])
		}

		return nil, fmt.Errorf("%w (it is %s)", errNotAList, what)
	}

	var out []wireVehicle
	if err := decodeResponse(raw, &out); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotAList, err)
	}

	return out, nil
}

func jsonKind(first byte) string {
	switch first {
	case '{':
		return "object"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}

	return "number"
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
