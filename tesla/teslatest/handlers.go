package teslatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// TokenPath is the OAuth token endpoint on the Fleet API listener.
const TokenPath = "/oauth2/v3/token"

func (s *Sim) apiRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/1/vehicles", s.auth(s.listVehicles))
	mux.HandleFunc("GET /api/1/dx/vehicles/options", s.auth(s.vehicleOptions))
	mux.HandleFunc("GET /api/1/dx/warranty/details", s.auth(s.warrantyDetails))
	mux.HandleFunc("POST "+TokenPath, s.refreshToken)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})

	return mux
}

// regionRoutes answer every API call with Tesla's wrong-region 421.
func (s *Sim) regionRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
			apiError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}

		apiError(w, http.StatusMisdirectedRequest,
			"user out of region, use base URL: "+s.URL(), "")
	})

	return mux
}

// apiError writes Tesla's error envelope.
func apiError(w http.ResponseWriter, status int, code, desc string) {
	simkit.WriteJSON(w, status, map[string]any{
		"response": nil, "error": code, "error_description": desc,
	})
}

// renderRateLimit is Tesla's 429: Retry-After in seconds and the
// RateLimit-* headers.
func (s *Sim) renderRateLimit(w http.ResponseWriter, wait time.Duration) {
	secs := int(wait.Seconds() + 0.999)
	reset := secs
	if s.opts.RateLimitReset > 0 {
		reset = int(s.opts.RateLimitReset.Seconds())
	}

	limit := s.opts.Limit
	if limit <= 0 {
		limit = 60
	}

	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("RateLimit-Remaining", "0")
	w.Header().Set("RateLimit-Reset", strconv.Itoa(reset))
	apiError(w, http.StatusTooManyRequests, "Too Many Requests", "rate limit reached for this account")
}

// auth answers 401 unless the request carries a live access token, and
// passes the token's account on.
func (s *Sim) auth(h func(w http.ResponseWriter, r *http.Request, account string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		account, ok := s.tokens.Bearer(r)
		if !ok || account == "" {
			apiError(w, http.StatusUnauthorized, "invalid bearer token", "token expired or revoked")
			return
		}

		h(w, r, account)
	}
}

// listVehicles is GET /api/1/vehicles?page=N&per_page=M: the vehicles
// shared with the token's account, ordered by id.
func (s *Sim) listVehicles(w http.ResponseWriter, r *http.Request, account string) {
	page, perPage := 1, 100
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "invalid_request", "page must be a positive integer")
			return
		}

		page = n
	}

	if v := r.URL.Query().Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "invalid_request", "per_page must be a positive integer")
			return
		}

		perPage = n
	}

	perPage = min(perPage, s.opts.MaxPerPage)

	s.mu.Lock()
	raw := s.pages[pageKey{account, page}]
	s.mu.Unlock()

	if raw != "" {
		writeRaw(w, raw)
		return
	}

	s.mu.Lock()
	var mine []*vehicle
	for _, v := range s.st.Vehicles {
		if slices.Contains(v.Accounts, account) {
			c := *v
			mine = append(mine, &c)
		}
	}
	s.mu.Unlock()

	sort.Slice(mine, func(i, j int) bool { return mine[i].ID < mine[j].ID })

	total := len(mine)
	pages := (total + perPage - 1) / perPage
	from := min((page-1)*perPage, total)
	to := min(from+perPage, total)

	items := make([]map[string]any, 0, to-from)
	for _, v := range mine[from:to] {
		items = append(items, map[string]any{
			// A JSON number beyond 2^53, written exactly.
			"id":           json.Number(strconv.FormatInt(v.ID, 10)),
			"id_s":         strconv.FormatInt(v.ID, 10),
			"vehicle_id":   json.Number(strconv.FormatInt(v.VehicleID, 10)),
			"vin":          v.Spec.VIN,
			"display_name": displayName(v.Spec),
			"state":        v.State,
			"access_type":  "OWNER",
			"in_service":   false,
			"color":        nil,
			"tokens":       []string{},
		})
	}

	body := map[string]any{"response": items, "count": total}
	if !s.opts.OmitPagination {
		var prev, next any
		if page > 1 {
			prev = page - 1
		}

		if page < pages {
			next = page + 1
		}

		body["pagination"] = map[string]any{
			"previous": prev, "next": next, "current": page, "per_page": perPage,
			"count": total, "pages": pages,
		}
	}

	simkit.WriteJSON(w, http.StatusOK, body)
}

func displayName(sp simkit.Spec) string {
	if sp.LicencePlate != "" {
		return sp.LicencePlate
	}

	return sp.Model
}

// vehicleFor checks the vin query parameter and that the token's account
// lists the vehicle. [guess: Tesla answers 404 for a vehicle the account
// cannot see.]
func (s *Sim) vehicleFor(w http.ResponseWriter, r *http.Request, account string) (*vehicle, bool) {
	vin := r.URL.Query().Get("vin")
	if !vinOK(vin) {
		apiError(w, http.StatusBadRequest, "invalid_request", "vin must be 17 characters")
		return nil, false
	}

	s.mu.Lock()
	v, ok := s.st.Vehicles[vin]
	var c vehicle
	if ok {
		c = *v
	}
	s.mu.Unlock()

	if !ok || !slices.Contains(c.Accounts, account) {
		apiError(w, http.StatusNotFound, "not_found", "vehicle not found")
		return nil, false
	}

	return &c, true
}

// vehicleOptions is GET /api/1/dx/vehicles/options?vin=….
func (s *Sim) vehicleOptions(w http.ResponseWriter, r *http.Request, account string) {
	v, ok := s.vehicleFor(w, r, account)
	if !ok {
		return
	}

	s.mu.Lock()
	raw := s.options[v.Spec.VIN]
	s.mu.Unlock()

	if raw != "" {
		writeRaw(w, raw)
		return
	}

	mt := v.Spec.Version
	if mt == "" {
		mt = defaultVersion(v.Spec.Model)
	}

	codes := []map[string]any{
		{"code": "$APBS", "displayName": "Autopilot", "isActive": true},
	}
	if mt != "" {
		codes = append(codes, map[string]any{
			"code": "$" + strings.TrimPrefix(mt, "$"), "displayName": trimDisplay(v.Spec),
			"isActive": true,
		})
	}

	codes = append(codes, map[string]any{"code": "$PPSW", "displayName": "Pearl White Multi-Coat",
		"isActive": true, "colorCode": "PPSW"})
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": map[string]any{"codes": codes}})
}

// defaultVersion gives a plausible $MT code for a model name.
func defaultVersion(model string) string {
	switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(model), "Model"))) {
	case "3":
		return "MT337"
	case "Y":
		return "MTY13"
	case "S":
		return "MTS13"
	case "X":
		return "MTX13"
	}

	return ""
}

// trimDisplay writes the trim as Tesla's display names do: "Model 3 Long
// Range All-Wheel Drive".
func trimDisplay(sp simkit.Spec) string {
	t := sp.Trim
	t = strings.ReplaceAll(t, "AWD", "All-Wheel Drive")
	t = strings.ReplaceAll(t, "RWD", "Rear-Wheel Drive")

	return strings.TrimSpace(sp.Model + " " + t)
}

// warrantyDetails is GET /api/1/dx/warranty/details?vin=…: the basic
// vehicle warranty and, when the Spec has one, the battery warranty.
func (s *Sim) warrantyDetails(w http.ResponseWriter, r *http.Request, account string) {
	v, ok := s.vehicleFor(w, r, account)
	if !ok {
		return
	}

	s.mu.Lock()
	raw := s.warranty[v.Spec.VIN]
	s.mu.Unlock()

	if raw != "" {
		writeRaw(w, raw)
		return
	}

	start := v.Spec.FirstReg
	if start.IsZero() {
		start = time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	}

	entry := func(typ, name string, km, years int) map[string]any {
		unit, odo := "KM", float64(km)
		if s.opts.Miles {
			unit, odo = "MI", float64(km)/1.609344
		}

		return map[string]any{
			"warrantyType": typ, "warrantyDisplayName": name,
			"expirationDate":     start.AddDate(years, 0, 0).Format(time.RFC3339),
			"expirationOdometer": int(odo + 0.5), "odometerUnit": unit,
			"warrantyExpiredOn": nil, "coverageAgeInYears": years,
		}
	}

	active := []map[string]any{entry("NEW_VEHICLE", "Basic Vehicle Limited Warranty", 80000, 4)}
	if v.Spec.WarrantyKm > 0 || v.Spec.WarrantyYears > 0 {
		active = append(active, entry("BATTERY_DRIVE_UNIT", "Battery and Drive Unit Limited Warranty",
			v.Spec.WarrantyKm, v.Spec.WarrantyYears))
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": map[string]any{
		"activeWarranty": active, "upcomingWarranty": []any{}, "expiredWarranty": []any{},
	}})
}

func writeRaw(w http.ResponseWriter, raw string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, raw)
}

// refreshToken is the OAuth refresh grant: form-encoded, single-use
// refresh tokens, login_required for one that is spent or unknown.
func (s *Sim) refreshToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body is not a form")
		return
	}

	switch {
	case r.PostForm.Get("grant_type") != "refresh_token":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only refresh_token is simulated")
		return
	case r.PostForm.Get("client_id") != s.opts.ClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}

	old := r.PostForm.Get("refresh_token")

	s.mu.Lock()
	account, ok := s.refresh[old]
	if ok && !s.opts.KeepRefreshToken {
		delete(s.refresh, old)
	}
	s.mu.Unlock()

	if !ok {
		oauthError(w, http.StatusUnauthorized, "login_required", "The refresh_token is invalid")
		return
	}

	access := s.tokens.Issue("sim-tesla-access-", account)
	ans := map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int(s.opts.TokenTTL.Seconds())}
	if !s.opts.KeepRefreshToken {
		next := s.tokens.Issue("sim-tesla-refresh-", "")
		s.mu.Lock()
		s.refresh[next] = account
		s.mu.Unlock()
		ans["refresh_token"] = next
	}

	simkit.WriteJSON(w, http.StatusOK, ans)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	simkit.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
