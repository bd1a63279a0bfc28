package renaulttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vehicleinfo/ingest/internal/simkit"
)

// oauthError writes the OAuth error shape of the token endpoint.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	simkit.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// apiError writes Renault's error shape, nested inside a string when
// Options.NestedErrors is set.
func (s *Sim) apiError(w http.ResponseWriter, status int, code, msg string) {
	body := map[string]any{"errors": []map[string]string{{"errorCode": code, "errorMessage": msg}}}
	if !s.opts.NestedErrors {
		simkit.WriteJSON(w, status, body)
		return
	}

	inner, _ := json.Marshal(body)
	simkit.WriteJSON(w, status, string(inner))
}

// renderRateLimit is Renault's 429: Retry-After in whole seconds and the
// error shape.
func (s *Sim) renderRateLimit(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
	s.apiError(w, http.StatusTooManyRequests, "err.tech.toomanyrequests", "Too Many Requests")
}

// handleToken is the token endpoint: client credentials with a
// private_key_jwt client assertion, verified for real.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be a form")
		return
	}

	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
		return
	}

	f := r.PostForm
	switch {
	case f.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	case f.Get("client_assertion_type") != AssertionType:
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+AssertionType)
		return
	case f.Get("client_assertion") == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_assertion is missing")
		return
	case f.Get("client_id") != s.opts.ClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	case !s.opts.NoScope && f.Get("scope") != s.opts.Scope:
		oauthError(w, http.StatusBadRequest, "invalid_scope", "the scope is not granted to this client")
		return
	}

	a, problem := s.verify(f.Get("client_assertion"))
	if problem != "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", problem)
		return
	}

	s.mu.Lock()
	s.assertions = append(s.assertions, a)
	s.mu.Unlock()

	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"token_type":   "Bearer",
		"expires_in":   int(s.tokens.TTL().Seconds()),
		"access_token": s.tokens.Issue("sim-renault-access-", s.opts.ClientID),
		"scope":        f.Get("scope"),
	})
}

// verify checks a client assertion: RS256 signed by the certificate of its
// kid, iss = sub = client id, aud = the token URL, iat and exp present with
// exp - iat within MaxAssertionLifetime, not expired, not issued in the
// future, and a jti never seen before. It returns the problem in words, or
// "".
func (s *Sim) verify(raw string) (Assertion, string) {
	now := s.clock.Now()
	claims := jwt.MapClaims{}
	var kidProblem string
	tok, err := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(s.clock.Now),
		jwt.WithLeeway(s.opts.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(s.TokenURL()),
		jwt.WithIssuer(s.opts.ClientID),
		jwt.WithSubject(s.opts.ClientID),
	).ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		s.mu.Lock()
		cert := s.trusted[kid]
		s.mu.Unlock()

		switch {
		case kid == "":
			kidProblem = "the assertion header has no kid"
		case cert == nil:
			kidProblem = "unknown kid"
		case now.After(cert.NotAfter) || now.Before(cert.NotBefore):
			kidProblem = "the certificate of this kid is not valid now"
		default:
			return cert.PublicKey, nil
		}

		return nil, errors.New(kidProblem)
	})
	if err != nil {
		if kidProblem != "" {
			return Assertion{}, kidProblem
		}

		return Assertion{}, jwtProblem(err)
	}

	iat, ierr := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	switch {
	case ierr != nil || iat == nil:
		return Assertion{}, "the assertion has no iat"
	case exp.Sub(iat.Time) > s.opts.MaxAssertionLifetime:
		return Assertion{}, fmt.Sprintf("the assertion lives longer than %s", s.opts.MaxAssertionLifetime)
	case exp.Sub(iat.Time) <= 0:
		return Assertion{}, "the assertion expires before it is issued"
	}

	jti, _ := claims["jti"].(string)
	if jti == "" {
		return Assertion{}, "the assertion has no jti"
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	for j, forget := range s.jtis {
		if now.After(forget) {
			delete(s.jtis, j)
		}
	}

	if _, used := s.jtis[jti]; used {
		return Assertion{}, "jti already used: the assertion is a replay"
	}

	// Once exp (and the leeway) has passed the assertion fails on expiry,
	// so the jti need not be kept longer.
	s.jtis[jti] = exp.Add(s.opts.Leeway)

	return Assertion{Header: tok.Header, Claims: claims, Raw: raw}, ""
}

// jwtProblem names what the JWT library found wrong, in the server's words.
func jwtProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the assertion is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the assertion signature does not verify with the client certificate"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the assertion has expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the assertion is issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the assertion audience is not the token URL"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the assertion issuer is not the client id"
	case errors.Is(err, jwt.ErrTokenInvalidSubject):
		return "the assertion subject is not the client id"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the assertion lacks a required claim"
	}

	return "the assertion is invalid"
}

// authorise checks the apiKey header and the bearer token, answering the
// failure itself. [guess] A wrong apiKey is a 403 naming the key; the real
// gateway's answer is not in the old module's evidence.
func (s *Sim) authorise(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("apiKey") != s.opts.APIKey {
		s.apiError(w, http.StatusForbidden, "err.tech.apikey", "invalid or missing apiKey")
		return false
	}

	if _, ok := s.tokens.Bearer(r); !ok {
		s.apiError(w, http.StatusUnauthorized, "err.func.wired.unauthorized", "invalid or expired access token")
		return false
	}

	return true
}

// lookup finds the vehicle for a VIN from the request, answering 400 for a
// malformed VIN and 404 for an unknown one.
func (s *Sim) lookup(w http.ResponseWriter, vin string) (vehicle, bool) {
	if !validVIN(vin) {
		s.apiError(w, http.StatusBadRequest, "err.func.vin.invalid", "the VIN must be 17 characters")
		return vehicle{}, false
	}

	s.mu.Lock()
	v, ok := s.vehicles[vin]
	var cp vehicle
	if ok {
		cp = *v
	}
	s.mu.Unlock()

	if !ok {
		s.apiError(w, http.StatusNotFound, "err.func.vehicle.notfound", "vehicle not found")
		return vehicle{}, false
	}

	return cp, true
}

// handleVehicle is GET /vehicle-information/v1/vehicles/{vin}.
func (s *Sim) handleVehicle(w http.ResponseWriter, r *http.Request) {
	if !s.authorise(w, r) {
		return
	}

	v, ok := s.lookup(w, r.PathValue("vin"))
	if !ok {
		return
	}

	sp := v.Spec
	firstReg := ""
	if !sp.FirstReg.IsZero() {
		firstReg = sp.FirstReg.Format("2006-01-02")
	}

	body := map[string]any{
		"vin":                   sp.VIN,
		"brand":                 strings.ToUpper(sp.Make),
		"model":                 sp.Model,
		"version":               s.versionText(sp),
		"firstRegistrationDate": firstReg,
		"batteryCapacity":       sp.BatteryKWh, // 0 when unknown, as Renault sends it
	}

	writeAnswer(w, body, v.Info)
}

// versionText is the version then the type in one text, the way the API
// sends them; with MessyCodes, with a newline between and padding around.
func (s *Sim) versionText(sp simkit.Spec) string {
	var parts []string
	for _, p := range []string{sp.Version, sp.Type} {
		if p != "" {
			parts = append(parts, p)
		}
	}

	if s.opts.MessyCodes && len(parts) > 0 {
		return " " + strings.Join(parts, "\n  ") + "  \n"
	}

	return strings.Join(parts, " ")
}

// handleWLTP is GET /import-vehicle-info/v1/wltp/vin?vin=….
func (s *Sim) handleWLTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorise(w, r) {
		return
	}

	if !r.URL.Query().Has("vin") {
		s.apiError(w, http.StatusBadRequest, "err.func.vin.missing", "the vin parameter is required")
		return
	}

	v, ok := s.lookup(w, r.URL.Query().Get("vin"))
	if !ok {
		return
	}

	if v.NoWLTP {
		s.apiError(w, http.StatusNotFound, "err.func.wltp.notfound", "no WLTP data for this vehicle")
		return
	}

	var rng any = "" // absent, as the API says it
	if v.Spec.RangeKm > 0 {
		rng = v.Spec.RangeKm
	}

	writeAnswer(w, map[string]any{"vin": v.Spec.VIN, "wltpElecRangeCombined": rng}, v.WLTP)
}

// writeAnswer sends body with the patched members applied.
func writeAnswer(w http.ResponseWriter, body map[string]any, patch map[string]json.RawMessage) {
	for k, raw := range patch {
		if string(raw) == string(Absent) {
			delete(body, k)
			continue
		}

		body[k] = raw
	}

	simkit.WriteJSON(w, http.StatusOK, body)
}
