package hm

import "github.com/vehicleinfo/ingest/internal/jsonx"

// Wire types: what High Mobility sends and expects, as its OpenAPI files in
// shared/specs/hm describe it. Answers are decoded with the tolerant jsonx
// types so that one odd field fails that field only.

// tokenRequest is the JSON body of POST /v1/access_tokens.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// tokenResponse is the answer of POST /v1/access_tokens.
type tokenResponse struct {
	AccessToken string    `json:"access_token"`
	ExpiresIn   jsonx.Int `json:"expires_in"`
	TokenType   string    `json:"token_type"`
	Scope       string    `json:"scope"`
}

// clearanceRequest is the body of POST /v1/fleets/vehicles.
type clearanceRequest struct {
	Vehicles []clearanceVehicle `json:"vehicles"`
}

type clearanceVehicle struct {
	VIN   string            `json:"vin"`
	Brand string            `json:"brand"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// clearanceResponse is the answer of POST /v1/fleets/vehicles: one item per
// VIN, some possibly with status "error".
type clearanceResponse struct {
	Vehicles []clearanceItem `json:"vehicles"`
}

// clearanceItem is one item of a clearance answer (FleetVin) and of the
// DELETE answer.
type clearanceItem struct {
	VIN         jsonx.String `json:"vin"`
	Status      jsonx.String `json:"status"`
	Description jsonx.String `json:"description"`
}

// fleetVehicle is one element of the GET /v1/fleets/vehicles array.
type fleetVehicle struct {
	VIN       jsonx.String     `json:"vin"`
	Status    jsonx.String     `json:"status"`
	Brand     jsonx.String     `json:"brand"`
	Changelog []changelogEntry `json:"changelog"`
}

type changelogEntry struct {
	Timestamp jsonx.Time   `json:"timestamp"`
	Status    jsonx.String `json:"status"`
	Reason    jsonx.String `json:"reason"`
}

// eligibilityRequest is the body of POST /v1/eligibility.
type eligibilityRequest struct {
	VIN   string `json:"vin"`
	Brand string `json:"brand"`
}

type eligibilityResponse struct {
	VIN                 jsonx.String   `json:"vin"`
	Eligible            jsonx.Bool     `json:"eligible"`
	DataDelivery        []jsonx.String `json:"data_delivery"`
	ConnectivityStatus  jsonx.String   `json:"connectivity_status"`
	PrimaryUserAssigned jsonx.Bool     `json:"primary_user_assigned"`
}

// vehicleData is the part of GET /v1/vehicle-data/autoapi-13/{vin} the
// connector reads.
type vehicleData struct {
	VIN      jsonx.String `json:"vin"`
	Brand    jsonx.String `json:"brand"`
	Charging *struct {
		BatteryCapacity *energyProperty `json:"battery_capacity"`
	} `json:"charging"`
}

// energyProperty is a single-value property: {"data":{"value","unit"},
// "timestamp","failure"}.
type energyProperty struct {
	Data *struct {
		Value jsonx.Float  `json:"value"`
		Unit  jsonx.String `json:"unit"`
	} `json:"data"`
	Timestamp jsonx.Time `json:"timestamp"`
	Failure   *struct {
		Reason      jsonx.String `json:"reason"`
		Description jsonx.String `json:"description"`
	} `json:"failure"`
}

// staticData is the part of GET /v1/vehicle-static-data/{vin}/data the
// connector reads. Every number in it is a string.
type staticData struct {
	Vehicle struct {
		Manufacturer struct {
			Brand            idName       `json:"brand"`
			Model            idName       `json:"model"`
			SubModel         idName       `json:"sub_model"`
			SalesDescription jsonx.String `json:"sales_description"`
		} `json:"manufacturer"`
		Specs struct {
			Fuel struct {
				Type struct {
					Category jsonx.String `json:"category"`
					Code     jsonx.String `json:"code"`
					Name     jsonx.String `json:"name"`
				} `json:"type"`
			} `json:"fuel"`
		} `json:"specs"`
	} `json:"vehicle"`
}

type idName struct {
	ID   jsonx.String `json:"id"`
	Name jsonx.String `json:"name"`
}
