package hmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// handleEligibility is POST /v1/eligibility.
func (s *Sim) handleEligibility(w http.ResponseWriter, r *http.Request) {
	var req struct {
		VIN   string `json:"vin"`
		Brand string `json:"brand"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid input", Source: "body", Detail: "the body is not valid JSON"})
		return
	}

	switch {
	case len(req.VIN) != 17:
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid VIN", Source: "vin", Detail: "vin should be 17 character(s)"})
		return
	case !eligibilityBrands[req.Brand]:
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid brand", Source: "brand", Detail: "The brand is invalid"})
		return
	}

	s.mu.Lock()
	v, ok := s.vehicles[req.VIN]
	known := ok && v.Known
	eligible := known && simkit.Outcome(v.Outcome) != simkit.OutcomeIneligible
	s.mu.Unlock()

	ans := map[string]any{
		"vin":                   req.VIN,
		"eligible":              eligible,
		"data_delivery":         []string{},
		"connectivity_status":   "unknown",
		"primary_user_assigned": false,
	}
	switch {
	case eligible:
		ans["data_delivery"] = []string{"pull", "push"}
		ans["connectivity_status"] = "activated"
		ans["primary_user_assigned"] = true
	case known:
		ans["connectivity_status"] = "deactivated"
	}

	simkit.WriteJSON(w, http.StatusOK, ans)
}

// handleVehicleData is GET /v1/vehicle-data/autoapi-13/{vin}. A VIN
// without an approved clearance gets 403 "No active consent" ([guess] the
// spec lists no 404, and for such a VIN there is no consent); an asleep
// one 408; one approved less than DataDelay ago, or marked with
// SetNoData, 422 "Pending".
func (s *Sim) handleVehicleData(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.clock.Now()
	v, ok := s.vehicles[r.PathValue("vin")]
	if ok {
		s.advance(v, now)
	}

	if !ok || v.Status != "approved" {
		s.mu.Unlock()
		writeErrors(w, http.StatusForbidden, true,
			apiError{Title: "Forbidden", Detail: "No active consent for this vehicle"})

		return
	}

	if v.Asleep {
		s.mu.Unlock()
		writeErrors(w, http.StatusRequestTimeout, true,
			apiError{Title: "Request Timeout", Detail: "Vehicle is offline or asleep"})

		return
	}

	if v.NoData || now.Sub(v.ChangedAt) < s.opts.DataDelay {
		s.mu.Unlock()
		writeErrors(w, http.StatusUnprocessableEntity, true,
			apiError{Title: "Pending", Detail: "Vehicle data is not available yet"})

		return
	}

	sp, brand, at := v.Spec, v.Brand, v.ChangedAt
	s.mu.Unlock()

	data := dataBrands[brand]
	if data == "" {
		data = "unknown"
	}

	ans := map[string]any{"request_id": requestID(), "vin": sp.VIN, "brand": data}
	if sp.BatteryKWh > 0 {
		ans["charging"] = map[string]any{
			"battery_capacity": map[string]any{
				"data":      map[string]any{"value": sp.BatteryKWh, "unit": "kilowatt_hours"},
				"timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"),
			},
		}
	}

	simkit.WriteJSON(w, http.StatusOK, ans)
}

// handleStaticData is GET /v1/vehicle-static-data/{vin}/data: every number
// a string. A VIN the simulator was not seeded with, or seeded without a
// model, gets a 404 in the file's error shape: [guess] the spec lists only
// 200, 401 and 504 for this call. It does not ask for a clearance [guess]:
// the data comes from a catalogue looked up by VIN.
func (s *Sim) handleStaticData(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v, ok := s.vehicles[r.PathValue("vin")]
	var sp simkit.Spec
	if ok {
		sp = v.Spec
	}
	s.mu.Unlock()

	if !ok || !v.Known || sp.Model == "" {
		writeErrors(w, http.StatusNotFound, true,
			apiError{Title: "Not Found", Detail: "No static data for this VIN"})
		return
	}

	model := sp.Model
	if sp.Year > 0 {
		model = fmt.Sprintf("%s (%s)(%d->)", sp.Model, strings.ToUpper(sp.Type), sp.Year)
		model = strings.ReplaceAll(model, " ()", "")
	}

	sub := sp.Trim
	if sub == "" {
		sub = sp.Version
	}

	manufacturer := map[string]any{
		"brand":             map[string]string{"id": "1", "name": sp.Make},
		"model":             map[string]string{"id": "1", "name": model},
		"sales_description": strings.TrimSpace(sp.Model + " " + sub),
		"vehicle_type":      map[string]string{"id": "1", "name": "Passenger car, SUV, small van"},
	}
	if sub != "" {
		manufacturer["sub_model"] = map[string]string{"id": "1", "name": sub, "variant": "1"}
	}

	specs := map[string]any{"body": map[string]string{"doors": "5", "seats": "5"}}
	if ft, ok := fuelTypes[sp.Powertrain]; ok {
		fuel := map[string]any{"type": ft}
		if sp.Powertrain != "bev" {
			fuel["capacity"] = "50"
		}

		specs["fuel"] = fuel
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"vehicle": map[string]any{"manufacturer": manufacturer, "specs": specs},
	})
}

// fuelTypes are the static data's fuel type objects by powertrain.
var fuelTypes = map[string]map[string]string{
	"bev":  {"category": "E", "code": "E", "name": "Electric"},
	"phev": {"category": "H", "code": "P", "name": "Plug-in hybrid (petrol/electric)"},
	"hev":  {"category": "H", "code": "H", "name": "Hybrid (petrol/electric)"},
	"ice":  {"category": "B", "code": "B", "name": "Petrol"},
	"fcev": {"category": "W", "code": "W", "name": "Hydrogen"},
}
