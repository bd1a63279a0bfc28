package renaulttest_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

const zoe = "VF1AG000064000001"

func start(t *testing.T, opts renaulttest.Options) *renaulttest.Sim {
	t.Helper()

	s, err := renaulttest.New(opts)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = s.Close() })
	s.Add(simkit.Spec{VIN: zoe, Make: "Renault", Model: "ZOE", Version: "ZE50", Type: "R135",
		BatteryKWh: 52, RangeKm: 395, FirstReg: time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC)})

	return s
}

// claims are a valid assertion's claims for s, at the simulator's time.
func claims(s *renaulttest.Sim) jwt.MapClaims {
	now := s.Clock().Now()
	env := s.Env()

	return jwt.MapClaims{
		"iss": env["RENAULT_CLIENT_ID"], "sub": env["RENAULT_CLIENT_ID"], "aud": s.TokenURL(),
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": "fake-jti-" + now.Format(time.RFC3339Nano),
	}
}

// sign makes an RS256 assertion with the simulator's own client key.
func sign(t *testing.T, s *renaulttest.Sim, c jwt.MapClaims, kid string) string {
	t.Helper()

	der, pw := s.Bundle()
	key, _, err := pkcs12Key(der, pw)
	if err != nil {
		t.Fatal(err)
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	return raw
}

type oauthAnswer struct {
	Status      int
	Error       string `json:"error"`
	Description string `json:"error_description"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func postToken(t *testing.T, s *renaulttest.Sim, form url.Values) oauthAnswer {
	t.Helper()

	resp, err := http.PostForm(s.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	a := oauthAnswer{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("token answer: %v", err)
	}

	return a
}

func tokenForm(s *renaulttest.Sim, assertion string) url.Values {
	env := s.Env()

	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {env["RENAULT_CLIENT_ID"]},
		"client_assertion_type": {renaulttest.AssertionType},
		"client_assertion":      {assertion},
		"scope":                 {env["RENAULT_SCOPE"]},
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()

	s := start(t, renaulttest.Options{})
	kid := s.Env()["RENAULT_KID"]

	ok := postToken(t, s, tokenForm(s, sign(t, s, claims(s), kid)))
	if ok.Status != 200 || ok.TokenType != "Bearer" || ok.ExpiresIn != 3600 || ok.AccessToken == "" ||
		ok.Scope != renaulttest.DefaultScope {
		t.Fatalf("valid assertion answered %+v", ok)
	}

	mutate := func(f func(jwt.MapClaims)) jwt.MapClaims {
		c := claims(s)
		c["jti"] = "fake-jti-" + strings.ReplaceAll(t.Name(), "/", "-") + time.Now().String()
		f(c)
		return c
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
		words  string
	}{
		{"wrong grant type", func() url.Values {
			f := tokenForm(s, sign(t, s, mutate(func(jwt.MapClaims) {}), kid))
			f.Set("grant_type", "password")
			return f
		}(), 400, "unsupported_grant_type", "client_credentials"},
		{"wrong assertion type", func() url.Values {
			f := tokenForm(s, sign(t, s, mutate(func(jwt.MapClaims) {}), kid))
			f.Set("client_assertion_type", "jwt")
			return f
		}(), 400, "invalid_request", "client_assertion_type"},
		{"no assertion", tokenForm(s, ""), 400, "invalid_request", "missing"},
		{"wrong scope", func() url.Values {
			f := tokenForm(s, sign(t, s, mutate(func(jwt.MapClaims) {}), kid))
			f.Set("scope", "everything")
			return f
		}(), 400, "invalid_scope", "scope"},
		{"unknown kid", tokenForm(s, sign(t, s, mutate(func(jwt.MapClaims) {}), "fake-other")),
			401, "invalid_client", "unknown kid"},
		{"no kid", tokenForm(s, sign(t, s, mutate(func(jwt.MapClaims) {}), "")),
			401, "invalid_client", "no kid"},
		{"wrong issuer", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) { c["iss"] = "x" }), kid)),
			401, "invalid_client", "issuer"},
		{"wrong subject", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) { c["sub"] = "x" }), kid)),
			401, "invalid_client", "subject"},
		{"wrong audience", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) {
			c["aud"] = "https://idp.example.invalid/token"
		}), kid)), 401, "invalid_client", "audience"},
		{"expired", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(-10 * time.Minute).Unix()
			c["exp"] = time.Now().Add(-6 * time.Minute).Unix()
		}), kid)), 401, "invalid_client", "expired"},
		{"lives too long", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(time.Hour).Unix()
		}), kid)), 401, "invalid_client", "longer than 5m0s"},
		{"no exp", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) { delete(c, "exp") }), kid)),
			401, "invalid_client", "required claim"},
		{"no iat", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) { delete(c, "iat") }), kid)),
			401, "invalid_client", "no iat"},
		{"no jti", tokenForm(s, sign(t, s, mutate(func(c jwt.MapClaims) { delete(c, "jti") }), kid)),
			401, "invalid_client", "no jti"},
		{"not a JWT", tokenForm(s, "fake.assertion"), 401, "invalid_client", "well-formed"},
		{"unsigned (alg none)", tokenForm(s, func() string {
			raw, _ := jwt.NewWithClaims(jwt.SigningMethodNone, mutate(func(jwt.MapClaims) {})).
				SignedString(jwt.UnsafeAllowNoneSignatureType)
			return raw
		}()), 401, "invalid_client", "signature"},
		{"HMAC with the certificate as secret", tokenForm(s, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, mutate(func(jwt.MapClaims) {}))
			tok.Header["kid"] = kid
			raw, _ := tok.SignedString([]byte("fake-shared-secret"))
			return raw
		}()), 401, "invalid_client", "signature"},
		{"tampered payload", tokenForm(s, func() string {
			parts := strings.Split(sign(t, s, mutate(func(jwt.MapClaims) {}), kid), ".")
			other := strings.Split(sign(t, s, mutate(func(c jwt.MapClaims) { c["jti"] = "fake-2" }), kid), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}()), 401, "invalid_client", "signature"},
	} {
		got := postToken(t, s, tc.form)
		if got.Status != tc.status || got.Error != tc.code || !strings.Contains(got.Description, tc.words) {
			t.Errorf("%s: answered %d %s %q; want %d %s saying %q", tc.name, got.Status, got.Error,
				got.Description, tc.status, tc.code, tc.words)
		}
	}

	// A replay: the first, accepted assertion sent again.
	first := s.Assertions()[0].Raw
	got := postToken(t, s, tokenForm(s, first))
	if got.Status != 401 || !strings.Contains(got.Description, "replay") {
		t.Errorf("replay answered %+v", got)
	}

	if n := len(s.Assertions()); n != 1 {
		t.Errorf("%d assertions accepted, want 1", n)
	}

	resp, err := http.Post(s.TokenURL(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a JSON token request answered %d, want 400", resp.StatusCode)
	}
}

func TestTrustAnotherCertificate(t *testing.T) {
	t.Parallel()

	s := start(t, renaulttest.Options{})
	der, pw := s.Bundle()
	_, cert, err := pkcs12Key(der, pw)
	if err != nil {
		t.Fatal(err)
	}

	s.Trust("fake-second-kid", cert)
	if got := postToken(t, s, tokenForm(s, sign(t, s, claims(s), "fake-second-kid"))); got.Status != 200 {
		t.Errorf("assertion under a trusted second kid answered %+v", got)
	}
}

// api sends a GET with the given apiKey and bearer.
func api(t *testing.T, s *renaulttest.Sim, path, apiKey, bearer string) (int, http.Header, string) {
	t.Helper()

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+path, nil)
	if apiKey != "" {
		req.Header.Set("apiKey", apiKey)
	}

	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	b, _ := io.ReadAll(resp.Body)

	return resp.StatusCode, resp.Header, string(b)
}

func login(t *testing.T, s *renaulttest.Sim) string {
	t.Helper()

	a := postToken(t, s, tokenForm(s, sign(t, s, claims(s), s.Env()["RENAULT_KID"])))
	if a.AccessToken == "" {
		t.Fatalf("login: %+v", a)
	}

	return a.AccessToken
}

func TestAPI(t *testing.T) {
	t.Parallel()

	s := start(t, renaulttest.Options{MessyCodes: true})
	key := s.Env()["RENAULT_API_KEY"]
	tok := login(t, s)

	for _, tc := range []struct {
		name, path, key, bearer string
		status                  int
		body                    string
	}{
		{"vehicle", "/vehicle-information/v1/vehicles/" + zoe, key, tok, 200,
			`{"batteryCapacity":52,"brand":"RENAULT","firstRegistrationDate":"2021-03-15","model":"ZOE",` +
				`"version":" ZE50\n  R135  \n","vin":"` + zoe + `"}`},
		{"wltp", "/import-vehicle-info/v1/wltp/vin?vin=" + zoe, key, tok, 200,
			`{"vin":"` + zoe + `","wltpElecRangeCombined":395}`},
		{"no apiKey", "/vehicle-information/v1/vehicles/" + zoe, "", tok, 403, "err.tech.apikey"},
		{"wrong apiKey", "/vehicle-information/v1/vehicles/" + zoe, "fake-wrong", tok, 403, "apiKey"},
		{"no bearer", "/vehicle-information/v1/vehicles/" + zoe, key, "", 401, "unauthorized"},
		{"unknown bearer", "/vehicle-information/v1/vehicles/" + zoe, key, "fake-token", 401, "expired"},
		{"short VIN", "/vehicle-information/v1/vehicles/VF1AG00006400000", key, tok, 400, "err.func.vin.invalid"},
		{"VIN with an O", "/vehicle-information/v1/vehicles/VF1AG0000640000O", key, tok, 400, "err.func.vin.invalid"},
		{"unknown VIN", "/vehicle-information/v1/vehicles/VF1AG000064999999", key, tok, 404,
			"err.func.vehicle.notfound"},
		{"wltp without vin", "/import-vehicle-info/v1/wltp/vin", key, tok, 400, "err.func.vin.missing"},
	} {
		status, _, body := api(t, s, tc.path, tc.key, tc.bearer)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %s; want %d with %s", tc.name, status, body, tc.status, tc.body)
		}
	}

	// Tokens expire on the simulator's clock.
	s.Clock().Advance(61 * time.Minute)
	if status, _, _ := api(t, s, "/vehicle-information/v1/vehicles/"+zoe, key, tok); status != 401 {
		t.Errorf("an expired token answered %d, want 401", status)
	}

	if got := s.Server().Counters.Get(renaulttest.EndpointVehicle); got != 9 {
		t.Errorf("vehicle endpoint counted %d, want 9", got)
	}
}

func TestPatchesAndWLTPGaps(t *testing.T) {
	t.Parallel()

	s := start(t, renaulttest.Options{NestedErrors: true})
	key, tok := s.Env()["RENAULT_API_KEY"], login(t, s)

	if !s.PatchVehicle(zoe, map[string]any{"batteryCapacity": "52.0", "brand": renaulttest.Absent}) {
		t.Fatal("PatchVehicle on a known VIN reported false")
	}

	_, _, body := api(t, s, "/vehicle-information/v1/vehicles/"+zoe, key, tok)
	if !strings.Contains(body, `"batteryCapacity":"52.0"`) || strings.Contains(body, "brand") {
		t.Errorf("patched answer %s", body)
	}

	if s.PatchWLTP("VF1AG000064999999", map[string]any{"x": 1}) {
		t.Error("PatchWLTP on an unknown VIN reported true")
	}

	s.RemoveWLTP(zoe)
	status, _, body := api(t, s, "/import-vehicle-info/v1/wltp/vin?vin="+zoe, key, tok)
	if status != 404 || !strings.HasPrefix(body, `"{\"errors\"`) {
		t.Errorf("removed WLTP answered %d %s; want 404 with the error nested in a string", status, body)
	}

	s.Add(simkit.Spec{VIN: "VF1AG000064000002", Model: "ZOE"})
	_, _, body = api(t, s, "/import-vehicle-info/v1/wltp/vin?vin=VF1AG000064000002", key, tok)
	if !strings.Contains(body, `"wltpElecRangeCombined":""`) {
		t.Errorf("no range answered %s, want an empty string", body)
	}

	_, _, body = api(t, s, "/vehicle-information/v1/vehicles/VF1AG000064000002", key, tok)
	if !strings.Contains(body, `"version":""`) || !strings.Contains(body, `"batteryCapacity":0`) ||
		!strings.Contains(body, `"firstRegistrationDate":""`) {
		t.Errorf("a sparse vehicle answered %s", body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()

	s := start(t, renaulttest.Options{})
	key, tok := s.Env()["RENAULT_API_KEY"], login(t, s)
	s.Clock().Set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	s.Server().SetLimit(1, 10*time.Second)

	if status, _, _ := api(t, s, "/vehicle-information/v1/vehicles/"+zoe, key, tok); status != 200 {
		t.Fatalf("first call answered %d", status)
	}

	status, h, body := api(t, s, "/vehicle-information/v1/vehicles/"+zoe, key, tok)
	if status != 429 || h.Get("Retry-After") != "10" || !strings.Contains(body, "err.tech.toomanyrequests") {
		t.Errorf("over the limit: %d Retry-After %q %s", status, h.Get("Retry-After"), body)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "renault.json")
	s, err := renaulttest.New(renaulttest.Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}

	s.Add(simkit.Spec{VIN: zoe, Model: "ZOE", RangeKm: 395})
	s.PatchVehicle(zoe, map[string]any{"model": " ZOE\n"})
	s.RemoveWLTP(zoe)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := renaulttest.New(renaulttest.Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })

	if st, ok := s2.State(zoe); !ok || st != "known" {
		t.Fatalf("after a restart State = %q, %v", st, ok)
	}

	key, tok := s2.Env()["RENAULT_API_KEY"], login(t, s2)
	_, _, body := api(t, s2, "/vehicle-information/v1/vehicles/"+zoe, key, tok)
	if !strings.Contains(body, `"model":" ZOE\n"`) {
		t.Errorf("the patch did not survive: %s", body)
	}

	if status, _, _ := api(t, s2, "/import-vehicle-info/v1/wltp/vin?vin="+zoe, key, tok); status != 404 {
		t.Errorf("the WLTP removal did not survive: %d", status)
	}

	if _, ok := s2.State("VF1AG000064999999"); ok {
		t.Error("State knows a VIN never added")
	}
}

func TestListenAndOptions(t *testing.T) {
	t.Parallel()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	s := start(t, renaulttest.Options{Addr: addr, TokenPath: "oauth/token", NoScope: true,
		ClientID: "fake-own-client", TokenTTL: time.Minute})
	if s.URL() != "http://"+addr || s.TokenURL() != "http://"+addr+"/oauth/token" {
		t.Errorf("URL %s, token URL %s", s.URL(), s.TokenURL())
	}

	env := s.Env()
	for _, k := range []string{"RENAULT_PKCS12", "RENAULT_PKCS12_PASSWORD", "RENAULT_KID", "RENAULT_CLIENT_ID",
		"RENAULT_TOKEN_URL", "RENAULT_API_URL", "RENAULT_API_KEY"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}

	if env["RENAULT_CLIENT_ID"] != "fake-own-client" || env["RENAULT_SCOPE"] != "" {
		t.Errorf("Env() = client %q scope %q", env["RENAULT_CLIENT_ID"], env["RENAULT_SCOPE"])
	}

	form := tokenForm(s, sign(t, s, claims(s), env["RENAULT_KID"]))
	form.Del("scope")
	if got := postToken(t, s, form); got.Status != 200 || got.ExpiresIn != 60 {
		t.Errorf("login without a scope on a NoScope simulator: %+v", got)
	}

	if _, err := renaulttest.New(renaulttest.Options{Addr: "192.0.2.1:80"}); err == nil {
		t.Error("a non-loopback address was accepted")
	}

	key, _, err := renaulttest.NewKeyPair("fake")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := renaulttest.New(renaulttest.Options{Key: key}); err == nil {
		t.Error("a key without its certificate was accepted")
	}
}
