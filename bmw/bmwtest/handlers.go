package bmwtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// Cognito's names for the login call.
const (
	amzJSON       = "application/x-amz-json-1.1"
	initiateAuth  = "AWSCognitoIdentityProviderService.InitiateAuth"
	passwordLogin = "USER_PASSWORD_AUTH"
)

// timeLayout is how the API writes timestamps: 2024-05-01T10:00:00.000+0000.
const timeLayout = "2006-01-02T15:04:05.000-0700"

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+LoginPath, s.login)
	mux.HandleFunc("GET /fleet", s.auth(s.listFleets))
	mux.HandleFunc("GET /fleet/{fleet_id}/vehicle", s.auth(s.listFleetVehicles))
	mux.HandleFunc("POST /fleet/{fleet_id}/vehicle/{vin}", s.auth(s.addToFleet))
	mux.HandleFunc("GET /vin-checker/{vin}", s.auth(s.checkVIN))
	mux.HandleFunc("POST /vehicle", s.auth(s.register))
	mux.HandleFunc("GET /vehicle/{vin}", s.auth(s.getVehicle))
	mux.HandleFunc("DELETE /vehicle/{vin}", s.auth(s.deleteVehicle))
	mux.HandleFunc("GET /data/vehicle/{vin}", s.auth(s.vehicleData))

	return mux
}

// cognitoError writes Cognito's error shape: HTTP 400 with __type.
func cognitoError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", amzJSON)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func amzAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", amzJSON)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// login is Cognito's InitiateAuth with the USER_PASSWORD_AUTH flow.
func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), amzJSON) {
		cognitoError(w, "SerializationException", "expected Content-Type "+amzJSON)
		return
	}

	if r.Header.Get("X-Amz-Target") != initiateAuth {
		cognitoError(w, "UnknownOperationException", "unknown X-Amz-Target")
		return
	}

	var body struct {
		AuthFlow       string            `json:"AuthFlow"`
		ClientID       string            `json:"ClientId"`
		AuthParameters map[string]string `json:"AuthParameters"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		cognitoError(w, "SerializationException", "body is not JSON")
		return
	}

	switch {
	case body.AuthFlow != passwordLogin:
		cognitoError(w, "InvalidParameterException", "AuthFlow not supported: "+body.AuthFlow)
	case body.ClientID != s.opts.ClientID:
		cognitoError(w, "ResourceNotFoundException", "User pool client does not exist.")
	case body.AuthParameters["USERNAME"] != s.opts.Username:
		cognitoError(w, "UserNotFoundException", "User does not exist.")
	case body.AuthParameters["PASSWORD"] != s.opts.Password:
		cognitoError(w, "NotAuthorizedException", "Incorrect username or password.")
	case s.opts.PasswordResetRequired:
		cognitoError(w, "PasswordResetRequiredException", "Password reset required for the user")
	case s.opts.Challenge != "":
		amzAnswer(w, map[string]any{
			"ChallengeName":       s.opts.Challenge,
			"Session":             "sim-session-opaque",
			"ChallengeParameters": map[string]string{"USER_ID_FOR_SRP": s.opts.Username},
		})
	default:
		res := map[string]any{
			"AccessToken":  "sim-access-not-for-the-api",
			"IdToken":      s.tokens.Issue("sim-id-", body.AuthParameters["USERNAME"]),
			"RefreshToken": "sim-refresh-unused",
			"TokenType":    "Bearer",
		}
		if !s.opts.OmitExpiresIn {
			res["ExpiresIn"] = int(s.tokens.TTL().Seconds())
		}

		amzAnswer(w, map[string]any{"AuthenticationResult": res, "ChallengeParameters": map[string]string{}})
	}
}

// auth answers 401 unless the request carries a live IdToken.
func (s *Sim) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.tokens.Bearer(r); !ok {
			simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
			return
		}

		h(w, r)
	}
}

// apiError writes the fleet data API's error shape. The ids other than
// BMWFD_VEHICLE_ALREADY_EXISTS and BMWFD_VEHICLE_NOT_ALLOWED are the
// simulator's guesses.
func apiError(w http.ResponseWriter, status int, id, msg string) {
	simkit.WriteJSON(w, status, map[string]string{"logErrorId": id, "message": msg})
}

func badVIN(w http.ResponseWriter, vin string) {
	apiError(w, http.StatusBadRequest, "BMWFD_INVALID_VIN",
		fmt.Sprintf("vin %q must be 17 characters of A-H J-N P R-Z 0-9", vin))
}

func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}

	return t.UTC().Format(timeLayout)
}

func (s *Sim) listFleets(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	type fleet struct {
		ID   string `json:"fleet_id"`
		Name string `json:"name"`
	}

	out := make([]fleet, 0, len(s.fleets))
	for id, name := range s.fleets {
		out = append(out, fleet{ID: id, Name: name})
	}
	s.mu.Unlock()

	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"fleets": out})
}

func (s *Sim) listFleetVehicles(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("fleet_id")

	s.mu.Lock()
	defer s.mu.Unlock()

	if _, ok := s.fleets[id]; !ok {
		apiError(w, http.StatusNotFound, "BMWFD_FLEET_NOT_FOUND", "fleet not found")
		return
	}

	vins := s.fleetVINs(id)
	page, next := 1, 0
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		page = p
	}

	if n := s.opts.PageSize; n > 0 {
		from := min((page-1)*n, len(vins))
		to := min(from+n, len(vins))
		if to < len(vins) {
			next = page + 1
		}

		vins = vins[from:to]
		if s.opts.RepeatNext {
			next = 2
		}
	}

	list := make([]map[string]any, 0, len(vins))
	for _, vin := range vins {
		list = append(list, s.fleetEntry(s.vehicles[vin]))
	}

	answer := map[string]any{"vehicles": list}
	if next > 0 {
		answer["next"] = fmt.Sprintf("%s/fleet/%s/vehicle?page=%d", s.URL(), id, next)
	}

	simkit.WriteJSON(w, http.StatusOK, answer)
}

func (s *Sim) fleetEntry(v *vehicle) map[string]any {
	var contract any
	if v.ContractEnd != "" {
		contract = map[string]any{"end_date": v.ContractEnd}
	}

	return map[string]any{
		"vin":            v.Spec.VIN,
		"added_to_fleet": stamp(v.AddedAt),
		"licence_plate":  nullable(v.LicencePlate),
		"note":           nullable(v.Note),
		"contract":       contract,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}

	return s
}

func (s *Sim) checkVIN(w http.ResponseWriter, r *http.Request) {
	vin := r.PathValue("vin")
	if !validVIN(vin) {
		badVIN(w, vin)
		return
	}

	s.mu.Lock()
	v, known := s.vehicles[vin]
	s.mu.Unlock()

	capable := known && v.Spec.Outcome != simkit.OutcomeIneligible
	simkit.WriteJSON(w, http.StatusOK, map[string]bool{"extended_capability": capable})
}

func (s *Sim) register(w http.ResponseWriter, r *http.Request) {
	var body struct {
		VIN          string  `json:"vin"`
		LicencePlate *string `json:"licence_plate"`
		Note         *string `json:"note"`
		Contract     *struct {
			EndDate *string `json:"end_date"`
		} `json:"contract"`
	}
	if !simkit.ReadJSON(w, r, &body) {
		return
	}

	if !validVIN(body.VIN) {
		badVIN(w, body.VIN)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	v, known := s.vehicles[body.VIN]
	if known {
		s.settle(v)
	}

	switch {
	case !known || v.Spec.Outcome == simkit.OutcomeIneligible:
		apiError(w, http.StatusPreconditionFailed, "BMWFD_VEHICLE_NOT_ALLOWED",
			"vehicle not allowed: its head unit does not support fleet data")
		return
	case v.Spec.Outcome == simkit.OutcomeReject:
		reason := v.Spec.Reason
		if reason == "" {
			reason = "vehicle not allowed"
		}

		apiError(w, http.StatusPreconditionFailed, "BMWFD_VEHICLE_NOT_ALLOWED", reason)
		return
	case v.Registered:
		apiError(w, http.StatusForbidden, "BMWFD_VEHICLE_ALREADY_EXISTS", "vehicle already exists")
		return
	}

	now := s.clock.Now()
	v.Registered, v.Created, v.Updated, v.Fleet, v.AddedAt = true, now, now, "", time.Time{}
	if body.LicencePlate != nil {
		v.LicencePlate = *body.LicencePlate
	}

	if body.Note != nil {
		v.Note = *body.Note
	}

	if body.Contract != nil && body.Contract.EndDate != nil {
		v.ContractEnd = *body.Contract.EndDate
	}

	simkit.WriteJSON(w, http.StatusCreated, s.vehicleDoc(v))
}

func (s *Sim) vehicleDoc(v *vehicle) map[string]any {
	doc := s.fleetEntry(v)
	doc["fleet"] = nullable(v.Fleet)
	doc["created"] = stamp(v.Created)
	doc["updated"] = stamp(v.Updated)

	return doc
}

func (s *Sim) addToFleet(w http.ResponseWriter, r *http.Request) {
	id, vin := r.PathValue("fleet_id"), r.PathValue("vin")
	if !validVIN(vin) {
		badVIN(w, vin)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	if _, ok := s.fleets[id]; !ok {
		apiError(w, http.StatusNotFound, "BMWFD_FLEET_NOT_FOUND", "fleet not found")
		return
	}

	v, ok := s.vehicles[vin]
	if ok {
		s.settle(v)
	}

	switch {
	case !ok || !v.Registered:
		apiError(w, http.StatusNotFound, "BMWFD_VEHICLE_NOT_FOUND", "vehicle not registered")
		return
	case v.Fleet == id:
		apiError(w, http.StatusUnprocessableEntity, "BMWFD_VEHICLE_ALREADY_IN_FLEET",
			"vehicle already in this fleet")
		return
	}

	now := s.clock.Now()
	v.Fleet, v.AddedAt, v.Updated = id, now, now
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) getVehicle(w http.ResponseWriter, r *http.Request) {
	vin := r.PathValue("vin")
	if !validVIN(vin) {
		badVIN(w, vin)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[vin]
	if ok {
		s.settle(v)
	}

	if !ok || !v.Registered {
		apiError(w, http.StatusNotFound, "BMWFD_VEHICLE_NOT_FOUND", "vehicle not found")
		return
	}

	simkit.WriteJSON(w, http.StatusOK, s.vehicleDoc(v))
}

func (s *Sim) deleteVehicle(w http.ResponseWriter, r *http.Request) {
	vin := r.PathValue("vin")
	if !validVIN(vin) {
		badVIN(w, vin)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[vin]
	if ok {
		s.settle(v)
	}

	if !ok || !v.Registered {
		apiError(w, http.StatusNotFound, "BMWFD_VEHICLE_NOT_FOUND", "vehicle not found")
		return
	}

	if s.opts.DeleteDelay > 0 {
		if v.GoneAt.IsZero() {
			v.GoneAt = s.clock.Now().Add(s.opts.DeleteDelay)
		}
	} else {
		v.Registered, v.Fleet, v.AddedAt = false, "", time.Time{}
	}

	w.WriteHeader(http.StatusNoContent)
}

// SetDataBody makes GET /data/vehicle/{vin} answer body verbatim (status
// 200) for vin, for tests of odd data; an empty body goes back to the
// answer built from the Spec.
func (s *Sim) SetDataBody(vin, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.dataBodies == nil {
		s.dataBodies = make(map[string]string)
	}

	if body == "" {
		delete(s.dataBodies, vin)
		return
	}

	s.dataBodies[vin] = body
}

func (s *Sim) vehicleData(w http.ResponseWriter, r *http.Request) {
	vin := r.PathValue("vin")
	if !validVIN(vin) {
		badVIN(w, vin)
		return
	}

	keys := strings.Split(r.Header.Get("keys-list"), ",")
	if strings.TrimSpace(r.Header.Get("keys-list")) == "" {
		apiError(w, http.StatusBadRequest, "BMWFD_MISSING_KEYS_LIST", "header keys-list is required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	v, ok := s.vehicles[vin]
	if ok {
		s.settle(v)
	}

	if !ok || !v.Registered {
		apiError(w, http.StatusNotFound, "BMWFD_VEHICLE_NOT_FOUND", "vehicle not found")
		return
	}

	if body, ok := s.dataBodies[vin]; ok {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))

		return
	}

	values := dataValues(v.Spec)
	items := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}

		item := map[string]any{"key": k, "value": nil, "unit": nil, "info": nil, "date_of_value": nil}
		if val, ok := values[k]; ok {
			item["value"] = val
			item["date_of_value"] = stamp(v.Created)
			if k == "capacity" {
				item["unit"] = "kWh"
			}
		}

		items = append(items, item)
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": items})
}

// dataValues renders a Spec as the data endpoint's string values. The
// words for drive train and propulsion are the simulator's guesses.
func dataValues(sp simkit.Spec) map[string]string {
	out := make(map[string]string)
	mk := sp.Make
	if mk == "" {
		mk = "BMW"
	}

	out["brand"] = mk
	if m := strings.TrimSpace(sp.Model + " " + sp.Type); m != "" {
		out["model"] = m
		out["basic_model_range"] = sp.Model
	}

	switch strings.ToLower(sp.Powertrain) {
	case "":
	case "bev":
		out["basic_drive_train"], out["basic_propulsion_type"] = "BEV", "ELECTRIC"
	case "phev":
		out["basic_drive_train"], out["basic_propulsion_type"] = "PHEV", "PLUGIN_HYBRID"
	case "hev":
		out["basic_drive_train"], out["basic_propulsion_type"] = "HEV", "HYBRID"
	case "ice":
		out["basic_drive_train"], out["basic_propulsion_type"] = "CONV", "COMBUSTION"
	default:
		out["basic_drive_train"] = strings.ToUpper(sp.Powertrain)
	}

	if sp.BatteryKWh != 0 {
		out["capacity"] = strconv.FormatFloat(sp.BatteryKWh, 'f', -1, 64)
	}

	if !sp.BuildDate.IsZero() {
		out["basic_construction_date"] = sp.BuildDate.UTC().Format("2006-01-02")
	}

	return out
}
