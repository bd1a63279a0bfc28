package renault

import (
	"bytes"
	"encoding/json"

	"github.com/vehicleinfo/ingest/internal/jsonx"
)

// vehicleAnswer is the body of GET /vehicle-information/v1/vehicles/{vin}.
// Only the members the connector uses are named; the others are ignored.
type vehicleAnswer struct {
	VIN                   jsonx.String `json:"vin"`
	Brand                 label        `json:"brand"`
	Model                 label        `json:"model"`
	Version               label        `json:"version"`
	FirstRegistrationDate jsonx.Time   `json:"firstRegistrationDate"`
	// BatteryCapacity is in kWh; 0 means unknown, as on Renault's consumer
	// API.
	BatteryCapacity jsonx.Float `json:"batteryCapacity"`
}

// wltpAnswer is the body of GET /import-vehicle-info/v1/wltp/vin?vin=….
type wltpAnswer struct {
	VIN jsonx.String `json:"vin"`
	// WLTPElecRangeCombined is the combined electric range in km.
	WLTPElecRangeCombined jsonx.Float `json:"wltpElecRangeCombined"`
}

// label is text that is either a JSON string or an object carrying it as
// "label", "name" or "code" (Renault's consumer API nests some codes that
// way). Like jsonx.String it is collapsed and trimmed, and "" is unset.
type label struct {
	jsonx.String
	// Odd is the raw value when it was present but held no text.
	Odd string
}

// UnmarshalJSON never fails.
func (l *label) UnmarshalJSON(b []byte) error {
	*l = label{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '[':
		l.Odd = shortRaw(b)
		return nil
	case len(b) == 0 || b[0] != '{':
		return l.String.UnmarshalJSON(b)
	}

	var obj struct {
		Label jsonx.String `json:"label"`
		Name  jsonx.String `json:"name"`
		Code  jsonx.String `json:"code"`
	}
	if json.Unmarshal(b, &obj) == nil {
		for _, s := range []jsonx.String{obj.Label, obj.Name, obj.Code} {
			if s.Set {
				l.String = s
				return nil
			}
		}
	}

	l.Odd = shortRaw(b)

	return nil
}

// errorBody is Renault's error answer: {"errors":[{"errorCode",
// "errorMessage"}]}, sometimes a bare object, sometimes all of it as JSON
// inside a JSON string.
type errorBody struct {
	ErrorCode    string      `json:"errorCode"`
	ErrorMessage string      `json:"errorMessage"`
	Errors       []errorBody `json:"errors"`
}

func shortRaw(b []byte) string {
	const n = 64
	if len(b) > n {
		return string(b[:n]) + "…"
	}

	return string(b)
}
