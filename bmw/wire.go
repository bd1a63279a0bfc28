package bmw

import (
	"bytes"
	"encoding/json"

	"github.com/vehicleinfo/ingest/internal/jsonx"
)

// The Cognito login, as OEM-APIS.md describes it.
const (
	amzJSON       = "application/x-amz-json-1.1"
	initiateAuth  = "AWSCognitoIdentityProviderService.InitiateAuth"
	passwordLogin = "USER_PASSWORD_AUTH"
)

// dataKeys is the keys-list header sent to GET /data/vehicle/{vin}.
const dataKeys = "brand,model,basic_model_range,basic_drive_train,basic_propulsion_type," +
	"basic_construction_date,capacity"

type loginRequest struct {
	AuthFlow       string            `json:"AuthFlow"`
	ClientID       string            `json:"ClientId"`
	AuthParameters map[string]string `json:"AuthParameters"`
}

type loginAnswer struct {
	AuthenticationResult *struct {
		AccessToken  jsonx.String `json:"AccessToken"`
		IDToken      jsonx.String `json:"IdToken"`
		ExpiresIn    jsonx.Int    `json:"ExpiresIn"`
		RefreshToken jsonx.String `json:"RefreshToken"`
		TokenType    jsonx.String `json:"TokenType"`
	} `json:"AuthenticationResult"`
	ChallengeName jsonx.String `json:"ChallengeName"`
}

type fleetsAnswer struct {
	Fleets []struct {
		FleetID jsonx.ID     `json:"fleet_id"`
		Name    jsonx.String `json:"name"`
	} `json:"fleets"`
}

type fleetVehiclesAnswer struct {
	// Vehicles is nil when the member is missing, which is not an empty
	// fleet but a broken answer.
	Vehicles *[]fleetVehicle `json:"vehicles"`
	// Next is a link to the next page. No paging was ever seen; this is
	// the guess OEM-APIS.md asks us to support.
	Next jsonx.String `json:"next"`
}

type fleetVehicle struct {
	VIN          jsonx.String `json:"vin"`
	AddedToFleet jsonx.Time   `json:"added_to_fleet"`
	LicencePlate jsonx.String `json:"licence_plate"`
}

type vinCheckAnswer struct {
	ExtendedCapability jsonx.Bool `json:"extended_capability"`
}

// registerRequest is the body of POST /vehicle. Every member but the VIN
// is optional; BMW keeps them on the vehicle's record.
type registerRequest struct {
	VIN          string            `json:"vin"`
	LicencePlate string            `json:"licence_plate,omitempty"`
	Note         string            `json:"note,omitempty"`
	Contract     *registerContract `json:"contract,omitempty"`
}

type registerContract struct {
	// EndDate is a calendar date, YYYY-MM-DD. [guess: the old module sent
	// the spreadsheet's date; ISO is the safe reading.]
	EndDate string `json:"end_date"`
}

type vehicleAnswer struct {
	VIN          jsonx.String    `json:"vin"`
	Fleet        json.RawMessage `json:"fleet"`
	AddedToFleet jsonx.Time      `json:"added_to_fleet"`
}

// fleetID reads the vehicle's fleet, written as an id, an object with a
// fleet_id, or null.
func (v vehicleAnswer) fleetID() string {
	raw := bytes.TrimSpace(v.Fleet)
	if len(raw) == 0 || raw[0] != '{' {
		var id jsonx.ID
		_ = json.Unmarshal(raw, &id)

		return string(id)
	}

	var obj struct {
		FleetID jsonx.ID `json:"fleet_id"`
		ID      jsonx.ID `json:"id"`
	}
	_ = json.Unmarshal(raw, &obj)
	if obj.FleetID != "" {
		return string(obj.FleetID)
	}

	return string(obj.ID)
}

type dataAnswer struct {
	Data []dataItem `json:"data"`
}

// dataItem is one value of the data endpoint: every member but key may be
// null, and value is a string.
type dataItem struct {
	Key         string       `json:"key"`
	Value       jsonx.String `json:"value"`
	Unit        jsonx.String `json:"unit"`
	DateOfValue jsonx.Time   `json:"date_of_value"`
}
