package stellantistest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

const api = "/connected-fleet/api"

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", s.login)
	mux.HandleFunc("POST "+api+"/vehicles/eligibilities", s.auth(s.eligibilities))
	mux.HandleFunc("GET "+api+"/contracts", s.auth(s.listContracts))
	mux.HandleFunc("POST "+api+"/contracts", s.auth(s.createContract))
	mux.HandleFunc("DELETE "+api+"/contracts/{id}", s.auth(s.deleteContract))
	mux.HandleFunc("PUT "+api+"/fleets/{fleet}/vehicles", s.auth(s.putInFleet))
	mux.HandleFunc("GET "+api+"/exports/car-states.json", s.auth(s.carStatesExport))

	return mux
}

// fail writes the API's error shape, {"name","message"}.
func fail(w http.ResponseWriter, status int, name, msg string) {
	simkit.WriteJSON(w, status, map[string]string{"name": name, "message": msg})
}

func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !simkit.ReadJSON(w, r, &body) {
		return
	}

	if body.Email == "" || body.Password == "" {
		fail(w, http.StatusBadRequest, "ValidationError", "email and password are required")
		return
	}

	if !strings.EqualFold(body.Email, s.opts.Email) || body.Password != s.opts.Password {
		fail(w, http.StatusUnauthorized, "AuthenticationError", "Invalid email or password")
		return
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]string{
		"authToken": s.tokens.Issue("sim-stellantis-", body.Email),
	})
}

// auth checks the bearer token of every fleet call.
func (s *Sim) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.tokens.Bearer(r); !ok {
			fail(w, http.StatusUnauthorized, "Unauthorized", "invalid or expired token")
			return
		}

		h(w, r)
	}
}

func (s *Sim) eligibilities(w http.ResponseWriter, r *http.Request) {
	var body struct {
		VINs          []string `json:"vins"`
		ResultByEmail *bool    `json:"resultByEmail"`
	}
	if !simkit.ReadJSON(w, r, &body) {
		return
	}

	s.mu.Lock()
	s.eligibilityNth++
	flaky := s.opts.EligibilityBadGatewayEvery > 0 &&
		s.eligibilityNth%s.opts.EligibilityBadGatewayEvery == 0
	s.mu.Unlock()

	if flaky {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(simkit.HTMLBody))

		return
	}

	switch {
	case len(body.VINs) == 0:
		fail(w, http.StatusBadRequest, "ValidationError", "vins must be a non-empty array")
		return
	case len(body.VINs) > s.opts.MaxEligibilityVINs:
		fail(w, http.StatusBadRequest, "ValidationError",
			fmt.Sprintf("at most %d vins per request", s.opts.MaxEligibilityVINs))
		return
	case body.ResultByEmail == nil:
		fail(w, http.StatusBadRequest, "ValidationError", "resultByEmail is required")
		return
	case *body.ResultByEmail:
		// The real API mails the result; the simulator does not.
		fail(w, http.StatusBadRequest, "ValidationError", "resultByEmail is not simulated")
		return
	}

	s.mu.Lock()
	out := make([]map[string]any, 0, len(body.VINs))
	for _, v := range body.VINs {
		sp, known := s.st.Vehicles[v]
		switch {
		case len(v) != 17:
			out = append(out, map[string]any{"vin": v, "error_code": "INVALID_VIN"})
		case !known:
			out = append(out, map[string]any{"vin": v, "error_code": "VEHICLE_NOT_FOUND"})
		default:
			out = append(out, map[string]any{"vin": v,
				"eligible": sp.Outcome != simkit.OutcomeIneligible})
		}
	}
	s.mu.Unlock()

	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) listContracts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	skip, limit := 0, s.opts.PageSize
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(w, http.StatusBadRequest, "ValidationError", "skip must be a non-negative integer")
			return
		}

		skip = n
	}

	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > s.opts.PageSize {
			fail(w, http.StatusBadRequest, "ValidationError",
				fmt.Sprintf("limit must be between 1 and %d", s.opts.PageSize))
			return
		}

		limit = n
	}

	var cond map[string]string
	if v := q.Get("conditions"); v != "" {
		if err := json.Unmarshal([]byte(v), &cond); err != nil {
			fail(w, http.StatusBadRequest, "ValidationError", "conditions must be a JSON object")
			return
		}

		for k := range cond {
			if k != "car.vin" && k != "status" && k != "reference" {
				fail(w, http.StatusBadRequest, "ValidationError", "unsupported condition "+k)
				return
			}
		}
	}

	s.mu.Lock()
	s.settle(s.clock.Now())
	var match []map[string]any
	for _, k := range s.st.Contracts {
		if (cond["car.vin"] != "" && k.VIN != cond["car.vin"]) ||
			(cond["status"] != "" && k.Status != cond["status"]) ||
			(cond["reference"] != "" && k.Reference != cond["reference"]) {
			continue
		}

		match = append(match, s.contractDoc(k))
	}
	s.mu.Unlock()

	page := []map[string]any{}
	if skip < len(match) {
		page = match[skip:min(skip+limit, len(match))]
	}

	simkit.WriteJSON(w, http.StatusOK, page)
}

// isoMillis is the contract time form: milliseconds and Z.
const isoMillis = "2006-01-02T15:04:05.000Z"

var isoMillisRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// contractDoc is a contract on the wire (callers hold s.mu).
func (s *Sim) contractDoc(k *contract) map[string]any {
	car := map[string]any{"vin": k.VIN, "note": k.Note}
	if m := s.st.Vehicles[k.VIN].Model; m != "" {
		car[s.opts.ModelField] = m
	}

	return map[string]any{
		"_id":       k.ID,
		"reference": k.Reference,
		"company":   k.Company,
		"status":    k.Status,
		"car":       car,
		"from":      k.From.UTC().Format(isoMillis),
		"to":        k.To.UTC().Format(isoMillis),
		"pack":      k.Pack,
		"createdAt": k.CreatedAt.UTC().Format(isoMillis),
		"updatedAt": k.UpdatedAt.UTC().Format(isoMillis),
	}
}

func (s *Sim) createContract(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reference string `json:"reference"`
		Company   string `json:"company"`
		Car       struct {
			VIN  string `json:"vin"`
			Note string `json:"note"`
		} `json:"car"`
		From string `json:"from"`
		To   string `json:"to"`
		Pack string `json:"pack"`
	}
	if !simkit.ReadJSON(w, r, &body) {
		return
	}

	var from, to time.Time
	bad := func(msg string) { fail(w, http.StatusBadRequest, "ValidationError", msg) }
	switch {
	case body.Reference == "":
		bad("reference is required")
		return
	case len(body.Car.VIN) != 17:
		bad("car.vin must be a 17-character VIN")
		return
	case !isoMillisRe.MatchString(body.From) || !isoMillisRe.MatchString(body.To):
		bad("from and to must be ISO times with milliseconds and Z")
		return
	case body.Pack != s.opts.Pack:
		bad(fmt.Sprintf("unknown pack %q", body.Pack))
		return
	}

	from, _ = time.Parse(isoMillis, body.From)
	to, _ = time.Parse(isoMillis, body.To)
	if !to.After(from) {
		bad("to must be after from")
		return
	}

	if body.Company != s.opts.CompanyID {
		fail(w, http.StatusForbidden, "Forbidden", "company not accessible to this account")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	s.settle(now)
	sp, known := s.st.Vehicles[body.Car.VIN]
	if !known {
		bad("unknown vehicle " + body.Car.VIN)
		return
	}

	if sp.Outcome == simkit.OutcomeIneligible {
		reason := sp.Reason
		if reason == "" {
			reason = "vehicle " + sp.VIN + " is not eligible"
		}

		fail(w, http.StatusBadRequest, "NotEligible", reason)

		return
	}

	for _, k := range s.st.Contracts {
		if k.Reference == body.Reference && (k.Status == "pending" || k.Status == "activated") {
			fail(w, http.StatusConflict, "Conflict",
				"an activation is already in progress for this reference")
			return
		}
	}

	k := s.newContract(sp, body.Reference, now)
	k.Company, k.Note, k.From, k.To, k.Pack = body.Company, body.Car.Note, from, to, body.Pack
	k.Final, k.DecideAt, k.Reason = finalOf(sp, now)
	s.settle(now)

	// The 201 only ever says activated or pending (OEM-APIS.md); a refusal
	// due at once shows in the listing, not here.
	word := k.Status
	if word != "activated" {
		word = "pending"
	}

	simkit.WriteJSON(w, http.StatusCreated, map[string]string{"_id": k.ID, "status": word})
}

func (s *Sim) deleteContract(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")

	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	s.settle(now)
	for _, k := range s.st.Contracts {
		if k.ID != id {
			continue
		}

		if k.Status == "cancelled" {
			// Already gone: the API answers 404 with an empty body.
			w.WriteHeader(http.StatusNotFound)
			return
		}

		k.Status, k.Final, k.UpdatedAt = "cancelled", "", now
		delete(s.st.InFleet, k.ID)
		w.WriteHeader(http.StatusNoContent)

		return
	}

	fail(w, http.StatusNotFound, "NotFound", "contract not found")
}

// putInFleet takes the body shape Options.FleetBody says [guess].
func (s *Sim) putInFleet(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("fleet") != s.opts.FleetID {
		fail(w, http.StatusNotFound, "NotFound", "fleet not found")
		return
	}

	var raw json.RawMessage
	if !simkit.ReadJSON(w, r, &raw) {
		return
	}

	var ids, vins []string
	var err error
	if s.opts.FleetBody == "vins" {
		var b struct {
			VINs []string `json:"vins"`
		}
		err = json.Unmarshal(raw, &b)
		vins = b.VINs
	} else {
		err = json.Unmarshal(raw, &ids)
	}

	if err != nil || len(ids)+len(vins) == 0 {
		fail(w, http.StatusBadRequest, "ValidationError",
			"body must be "+map[string]string{"ids": "a non-empty array of contract ids",
				"vins": `{"vins":[…]} with at least one VIN`}[s.opts.FleetBody])
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	byID := make(map[string]*contract, len(s.st.Contracts))
	for _, k := range s.st.Contracts {
		byID[k.ID] = k
	}

	var put []string
	for _, id := range ids {
		if byID[id] == nil {
			fail(w, http.StatusBadRequest, "ValidationError", "unknown contract "+id)
			return
		}

		put = append(put, id)
	}

	for _, v := range vins {
		k := s.newest(v)
		if k == nil || k.Status == "cancelled" {
			fail(w, http.StatusBadRequest, "ValidationError", "no live contract for "+v)
			return
		}

		put = append(put, k.ID)
	}

	for _, id := range put {
		s.st.InFleet[id] = true
	}

	w.WriteHeader(http.StatusNoContent)
}

// carStatesExport streams the export: a line "[", one record per line with
// "," lines between, and a line "]". A failure set by FailExportAfter is
// reported inside the stream as {"name","message"}.
func (s *Sim) carStatesExport(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("v"); v != "2" {
		fail(w, http.StatusBadRequest, "ValidationError", "unsupported export version "+v)
		return
	}

	s.mu.Lock()
	now := s.clock.Now()
	s.settle(now)
	var lines []string
	for _, vin := range s.sortedVINs() {
		if line, ok := s.carStates[vin]; ok {
			lines = append(lines, line)
			continue
		}

		k := s.newest(vin)
		if k == nil || k.Status != "activated" || !s.st.InFleet[k.ID] {
			continue
		}

		lines = append(lines, carStateLine(s.st.Vehicles[vin], now))
	}
	failAt := s.exportFailAt
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	write := func(s string) {
		_, _ = w.Write([]byte(s + "\n"))
		if fl != nil {
			fl.Flush()
		}
	}

	write("[")
	for i, line := range lines {
		if i > 0 {
			write(",")
		}

		if i == failAt {
			write(`{"name":"ExportError","message":"the export failed, try again later"}`)
			break
		}

		write(line)
	}

	write("]")
}

// carStateLine builds a vehicle's record the way the export writes it:
// every leaf {value, unit?, datetime?}, capacity in Wh, a percentage as a
// string, the record time with "+0000" and the level time in Java's form.
func carStateLine(sp simkit.Spec, now time.Time) string {
	at := now.UTC().Format("2006-01-02T15:04:05.000-0700")
	java := now.UTC().Format("Mon Jan 02 15:04:05") + " GMT " + now.UTC().Format("2006")
	rec := map[string]any{
		"vin":      map[string]any{"value": sp.VIN},
		"datetime": map[string]any{"value": at},
		"odometer": map[string]any{"value": 12345.6, "unit": "km", "datetime": at},
	}

	elec := sp.Powertrain == "bev" || sp.Powertrain == "phev" ||
		(sp.Powertrain == "" && sp.BatteryKWh > 0)
	fuel := sp.Powertrain == "ice" || sp.Powertrain == "phev" || sp.Powertrain == "hev" ||
		(sp.Powertrain == "" && sp.BatteryKWh == 0)

	if elec {
		e := map[string]any{
			"level": map[string]any{"value": sp.BatteryKWh * 0.6, "unit": "kWh",
				"percentage": "60.0", "datetime": java},
			"battery": map[string]any{"stateOfHealth": map[string]any{
				"percentage": map[string]any{"value": "97"}}},
		}
		if sp.BatteryKWh > 0 {
			e["capacity"] = map[string]any{"value": sp.BatteryKWh * 1000, "unit": "Wh"}
		}

		rec["electricity"] = e
	}

	if fuel {
		rec["fuel"] = map[string]any{"level": map[string]any{"value": 31, "unit": "L",
			"percentage": 70, "datetime": at}}
	}

	b, _ := json.Marshal(rec)

	return string(b)
}
