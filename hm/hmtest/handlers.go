package hmtest

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// apiError is one item of High Mobility's {"errors":[...]} answers.
type apiError struct {
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Source string `json:"source,omitempty"`
}

type errorsBody struct {
	Errors    []apiError `json:"errors"`
	RequestID string     `json:"request_id,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, withID bool, errs ...apiError) {
	b := errorsBody{Errors: errs}
	if withID {
		b.RequestID = requestID()
	}

	simkit.WriteJSON(w, status, b)
}

// fleetUnauthorized is the clearance and eligibility APIs' 401.
func fleetUnauthorized(w http.ResponseWriter) {
	writeErrors(w, http.StatusUnauthorized, false, apiError{
		Title:  "Not authorized",
		Source: "Authorization",
		Detail: "Missing or invalid authorization header. The token must be obtained through the " +
			"service account API and sent as a header with the format \"Authorization: Bearer <token>\"",
	})
}

// dataUnauthorized is the data APIs' 401.
func dataUnauthorized(w http.ResponseWriter) {
	writeErrors(w, http.StatusUnauthorized, true, apiError{Title: "Not Authorized", Detail: "Invalid token"})
}

// renderRateLimit is High Mobility's 429: the wait only in the text
// ("retry after 10s"), no Retry-After header.
func renderRateLimit(w http.ResponseWriter, wait time.Duration) {
	secs := math.Ceil(wait.Seconds()*100) / 100
	writeErrors(w, http.StatusTooManyRequests, false, apiError{
		Title:  "Too many requests",
		Detail: fmt.Sprintf("retry after %gs", secs),
		Source: "fleet-manager-api:" + requestID(),
	})
}

func (s *Sim) auth(h http.HandlerFunc, deny func(http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.tokens.Bearer(r); !ok {
			deny(w)
			return
		}

		h(w, r)
	}
}

// handleToken is POST /v1/access_tokens: client credentials in a JSON body.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(desc string) {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": "invalid_request", "error_description": desc,
		})
	}

	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		oauthErr("the body must be JSON")
		return
	}

	var req struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		oauthErr("the body is not valid JSON")
		return
	}

	var blank []string
	for _, f := range []struct{ name, v string }{
		{"client_id", req.ClientID}, {"client_secret", req.ClientSecret}, {"grant_type", req.GrantType},
	} {
		if f.v == "" {
			blank = append(blank, f.name+" can't be blank")
		}
	}

	switch {
	case len(blank) > 0:
		oauthErr(strings.Join(blank, ", "))
	case req.GrantType != "client_credentials":
		oauthErr("grant_type is invalid")
	case req.ClientID != s.opts.ClientID:
		oauthErr("client_id is invalid")
	case req.ClientSecret != s.opts.ClientSecret:
		oauthErr("client_secret is invalid")
	default:
		tok := s.tokens.Issue("sim-hm-", req.ClientID)
		simkit.WriteJSON(w, http.StatusOK, map[string]any{
			"access_token": tok,
			"expires_in":   int(s.tokens.TTL().Seconds()),
			"scope":        "fleet:clearance vehicle:eligibility-check vehicle:data vehicle:static-data",
			"token_type":   "bearer",
		})
	}
}

type createItem struct {
	VIN         string            `json:"vin"`
	Status      string            `json:"status"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// handleCreate is POST /v1/fleets/vehicles. It answers 200 with one item
// per vehicle, failed ones with status "error" and a description.
func (s *Sim) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Vehicles []struct {
			VIN   string            `json:"vin"`
			Brand string            `json:"brand"`
			Tags  map[string]string `json:"tags"`
		} `json:"vehicles"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid input", Source: "body", Detail: "the body is not valid JSON"})
		return
	}

	if req.Vehicles == nil {
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid input", Source: "vehicles", Detail: "can't be blank"})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	out := make([]createItem, 0, len(req.Vehicles))
	for _, rv := range req.Vehicles {
		item := createItem{VIN: rv.VIN, Tags: rv.Tags}
		v := s.vehicles[rv.VIN]
		switch {
		case len(rv.VIN) != 17:
			item.Status, item.Description = "error", "vin should be 17 character(s)"
		case !validClearanceBrand(rv.Brand):
			item.Status, item.Description = "error", "The brand is invalid"
		case v != nil && v.Known && v.Brand != "" && v.Brand != rv.Brand && rv.Brand != "sandbox":
			// [guess] High Mobility checks the brand against the VIN.
			item.Status, item.Description = "error", "The brand is invalid"
		default:
			if v == nil {
				v = &vehicle{Spec: simkit.Spec{VIN: rv.VIN}, Outcome: string(s.opts.UnknownOutcome)}
				s.vehicles[rv.VIN] = v
			}

			s.advance(v, now)
			switch v.Status {
			case "pending", "approved", "revoking", "canceling":
				// Already there: the current state comes back. [guess]
				// The spec does not say what a second request for a
				// VIN answers; "already done" must not be an error.
			default:
				v.Brand = rv.Brand
				v.CreatedAt = now
				v.Tags = rv.Tags
				v.setLog(now, "pending", "")
				s.advance(v, now)
			}

			// pending, approved, revoking, canceling, or rejected at once
			// for an ineligible vehicle.
			item.Status = v.Status
		}

		out = append(out, item)
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]any{"vehicles": out})
}

type listItem struct {
	VIN       string            `json:"vin"`
	Status    string            `json:"status"`
	Brand     string            `json:"brand,omitempty"`
	Tags      map[string]string `json:"tags"`
	Changelog []listLog         `json:"changelog"`
}

type listLog struct {
	Timestamp string `json:"timestamp"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
}

func (s *Sim) item(v *vehicle) listItem {
	it := listItem{VIN: v.Spec.VIN, Status: v.Status, Brand: v.Brand, Tags: v.Tags,
		Changelog: make([]listLog, 0, len(v.Changelog))}
	if it.Tags == nil {
		it.Tags = map[string]string{}
	}

	for _, e := range v.Changelog {
		it.Changelog = append(it.Changelog,
			listLog{Timestamp: s.timestamp(e.At), Status: e.Status, Reason: e.Reason})
	}

	return it
}

// handleList is GET /v1/fleets/vehicles: a bare array, written element by
// element. The optional filter (URL-encoded JSON) supports "eq" and "in" on
// vin, status and brand.
func (s *Sim) handleList(w http.ResponseWriter, r *http.Request) {
	match, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, false,
			apiError{Title: "Invalid input", Source: "filter", Detail: err.Error()})
		return
	}

	s.mu.Lock()
	now := s.clock.Now()
	items := make([]listItem, 0, len(s.vehicles))
	for _, vin := range s.sortedVINs() {
		v := s.vehicles[vin]
		s.advance(v, now)
		if v.Status == "" || !match(v) {
			continue
		}

		items = append(items, s.item(v))
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	_, _ = w.Write([]byte("["))
	for i, it := range items {
		if i > 0 {
			_, _ = w.Write([]byte(","))
		}

		_ = enc.Encode(it)
	}
	_, _ = w.Write([]byte("]"))
}

func parseFilter(raw string) (func(*vehicle) bool, error) {
	if raw == "" {
		return func(*vehicle) bool { return true }, nil
	}

	var f map[string]struct {
		Operator string          `json:"operator"`
		Value    json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return nil, fmt.Errorf("filter is not valid JSON")
	}

	type cond struct {
		field string
		vals  map[string]bool
	}
	var conds []cond
	for field, c := range f {
		if field != "vin" && field != "status" && field != "brand" {
			return nil, fmt.Errorf("filter on %q is not supported by the simulator", field)
		}

		vals := map[string]bool{}
		switch c.Operator {
		case "eq":
			var v string
			if json.Unmarshal(c.Value, &v) != nil {
				return nil, fmt.Errorf("filter %s: value must be a string", field)
			}
			vals[v] = true
		case "in":
			var vs []string
			if json.Unmarshal(c.Value, &vs) != nil {
				return nil, fmt.Errorf("filter %s: value must be a list of strings", field)
			}
			for _, v := range vs {
				vals[v] = true
			}
		default:
			return nil, fmt.Errorf("filter %s: operator %q is not supported", field, c.Operator)
		}

		conds = append(conds, cond{field, vals})
	}

	return func(v *vehicle) bool {
		for _, c := range conds {
			var got string
			switch c.field {
			case "vin":
				got = v.Spec.VIN
			case "status":
				got = v.Status
			case "brand":
				got = v.Brand
			}

			if !c.vals[got] {
				return false
			}
		}

		return true
	}, nil
}

// overReadLimit counts one GET of a single clearance against the limit of
// VINReadLimit a minute, and returns the wait when over it.
func (s *Sim) overReadLimit(now time.Time) (time.Duration, bool) {
	if s.opts.VINReadLimit < 0 {
		return 0, false
	}

	if now.Sub(s.readWindow) >= time.Minute {
		s.readWindow, s.readCount = now, 0
	}

	s.readCount++
	if s.readCount > s.opts.VINReadLimit {
		return s.readWindow.Add(time.Minute).Sub(now), true
	}

	return 0, false
}

func notFound(w http.ResponseWriter) {
	writeErrors(w, http.StatusNotFound, false,
		apiError{Title: "Not found", Source: "vin", Detail: "Clearance not found"})
}

// handleGet is GET /v1/fleets/vehicles/{vin}, limited to VINReadLimit
// calls a minute.
func (s *Sim) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.clock.Now()
	if wait, over := s.overReadLimit(now); over {
		s.mu.Unlock()
		renderRateLimit(w, wait)

		return
	}

	v, ok := s.vehicles[r.PathValue("vin")]
	if !ok || v.Status == "" {
		s.mu.Unlock()
		notFound(w)

		return
	}

	s.advance(v, now)
	it := s.item(v)
	s.mu.Unlock()

	simkit.WriteJSON(w, http.StatusOK, it)
}

// handleDelete is DELETE /v1/fleets/vehicles/{vin}: revoke an approved
// clearance, cancel a pending one (only for some brands, and only a day
// after it was created).
func (s *Sim) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.clock.Now()
	v, ok := s.vehicles[r.PathValue("vin")]
	if !ok || v.Status == "" {
		notFound(w)
		return
	}

	s.advance(v, now)
	conflict := func(detail string) {
		writeErrors(w, http.StatusConflict, false, apiError{Title: "Conflict", Source: "vin", Detail: detail})
	}

	switch v.Status {
	case "approved":
		v.setLog(now, "revoking", "")
	case "pending":
		if !s.cancelable(v.Brand) {
			writeErrors(w, http.StatusUnprocessableEntity, false, apiError{
				Title: "not supported", Source: "vin", Detail: "cancellation is not supported for this vin"})

			return
		}

		if now.Sub(v.CreatedAt) < s.opts.CancelAfter {
			writeErrors(w, http.StatusUnprocessableEntity, false, apiError{
				Title: "too early", Source: "status",
				Detail: "the pending status could only be canceled after 1 day it's created"})

			return
		}

		v.setLog(now, "canceling", "")
	case "revoking", "canceling":
		// [guess] The spec names "in transition mode" without saying
		// when; a removal already under way is the likeliest case.
		conflict("Clearance is in transition mode")
		return
	default: // revoked, canceled, and [guess] rejected
		conflict("Clearance is already removed")
		return
	}

	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}

	simkit.WriteJSON(w, http.StatusOK, map[string]any{"vin": v.Spec.VIN, "status": v.Status, "tags": tags})
}
