package renault_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

// A second client key pair, generated once for the tests that build their
// own bundles.
var (
	ownOnce sync.Once
	ownKey  *rsa.PrivateKey
	ownCert *x509.Certificate
	ownErr  error
)

func ownKeyPair(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()

	ownOnce.Do(func() { ownKey, ownCert, ownErr = renaulttest.NewKeyPair("fake-own-client") })
	if ownErr != nil {
		t.Fatal(ownErr)
	}

	return ownKey, ownCert
}

const fakePassword = "fake-bundle-pässword"

// secretsAbsent fails the test when text holds any of the secrets.
func secretsAbsent(t *testing.T, what, text string, secrets ...string) {
	t.Helper()

	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.6s…): %s", what, s, text)
		}
	}

	if strings.Contains(text, "eyJ") {
		t.Errorf("%s shows something shaped like a JWT: %s", what, text)
	}
}

func TestBundleEncodingsAndForms(t *testing.T) {
	t.Parallel()

	key, cert := ownKeyPair(t)
	dir := t.TempDir()

	for _, enc := range []struct {
		name string
		enc  *pkcs12.Encoder
	}{
		{"modern2023 (AES, PBKDF2)", pkcs12.Modern2023},
		{"modern2026 (AES, PBMAC1)", pkcs12.Modern2026},
		{"legacy DES (3DES)", pkcs12.LegacyDES},
		{"legacy RC2 (RC2 certs, 3DES key)", pkcs12.LegacyRC2},
	} {
		der, err := renaulttest.PKCS12(enc.enc, key, cert, fakePassword)
		if err != nil {
			t.Fatal(err)
		}

		b64File := filepath.Join(dir, strings.Fields(enc.name)[0]+".txt")
		derFile := filepath.Join(dir, strings.Fields(enc.name)[0]+".p12")
		if err := os.WriteFile(b64File, []byte(renaulttest.Base64(der)), 0o600); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(derFile, der, 0o600); err != nil {
			t.Fatal(err)
		}

		forms := map[string]func(*renault.Config){
			"base64 text":    func(c *renault.Config) { c.PKCS12 = []byte(renaulttest.Base64(der)) },
			"base64url text": func(c *renault.Config) { c.PKCS12 = []byte(base64.RawURLEncoding.EncodeToString(der)) },
			"raw DER bytes":  func(c *renault.Config) { c.PKCS12 = der },
			"base64 file":    func(c *renault.Config) { c.PKCS12, c.PKCS12File = nil, b64File },
			"DER file":       func(c *renault.Config) { c.PKCS12, c.PKCS12File = nil, derFile },
		}

		for form, set := range forms {
			t.Run(enc.name+"/"+form, func(t *testing.T) {
				t.Parallel()

				sim := newSim(t, renaulttest.Options{})
				sim.Trust("fake-own-kid", cert)

				cfg := simConfig(t, sim)
				cfg.KeyID, cfg.PKCS12Password = "fake-own-kid", fakePassword
				set(&cfg)

				c := newConnector(t, cfg)
				if !c.Certificate().Equal(cert) {
					t.Errorf("the connector holds another certificate")
				}

				if info := mustDescribe(t, c, zoeVIN); info.Model != "ZOE" {
					t.Errorf("Model = %q, want ZOE", info.Model)
				}
			})
		}
	}
}

func TestEnvFileSetting(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	der, _ := sim.Bundle()
	path := filepath.Join(t.TempDir(), "pkcs12.txt")
	if err := os.WriteFile(path, []byte(renaulttest.Base64(der)), 0o600); err != nil {
		t.Fatal(err)
	}

	env := sim.Env()
	delete(env, renault.EnvPKCS12)
	env[renault.EnvPKCS12File] = path

	c, err := oem.Open(renault.Name, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("oem.Open with RENAULT_PKCS12_FILE: %v", err)
	}

	if info := mustDescribe(t, c, meganeVIN); info.Model != "MEGANE E-TECH" {
		t.Errorf("Model = %q", info.Model)
	}
}

func TestBundleErrors(t *testing.T) {
	t.Parallel()

	key, cert := ownKeyPair(t)
	good, err := renaulttest.PKCS12(pkcs12.Modern2023, key, cert, fakePassword)
	if err != nil {
		t.Fatal(err)
	}

	legacy, err := renaulttest.PKCS12(pkcs12.LegacyRC2, key, cert, fakePassword)
	if err != nil {
		t.Fatal(err)
	}

	ecKey, ecCert, err := renaulttest.NewECKeyPair("fake-ec-client")
	if err != nil {
		t.Fatal(err)
	}

	ec, err := renaulttest.PKCS12(pkcs12.Modern2023, ecKey, ecCert, fakePassword)
	if err != nil {
		t.Fatal(err)
	}

	trust, err := pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{cert}, fakePassword)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		bundle   []byte
		file     string
		password string
		want     error
		words    string
	}{
		{"wrong password, modern", good, "", "fake-wrong-password", renault.ErrWrongPassword, "password is wrong"},
		{"wrong password, legacy", legacy, "", "fake-wrong-password", renault.ErrWrongPassword, "password is wrong"},
		{"empty password", []byte(renaulttest.Base64(good)), "", "", renault.ErrWrongPassword, "password is wrong"},
		{"ECDSA key", ec, "", fakePassword, renault.ErrNoRSAKey, "ECDSA key, not an RSA key"},
		{"no key at all", trust, "", fakePassword, renault.ErrNoRSAKey, "no private key"},
		{"not PKCS#12", []byte("fake: this is not a bundle"), "", fakePassword, renault.ErrBadPKCS12,
			"neither base64 text nor DER"},
		{"truncated DER", good[:len(good)/2], "", fakePassword, renault.ErrBadPKCS12, "cannot be read"},
		{"missing file", nil, filepath.Join(t.TempDir(), "absent.txt"), fakePassword, renault.ErrBadPKCS12,
			"cannot read the PKCS#12 file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			cfg := renault.Config{
				PKCS12: tc.bundle, PKCS12File: tc.file, PKCS12Password: tc.password,
				KeyID: "fake-kid", ClientID: "fake-client", TokenURL: "http://127.0.0.1:1/token",
				APIURL: "http://127.0.0.1:1", APIKey: "fake-api-key",
			}

			_, err := renault.New(cfg)

			var ce *renault.CredentialError
			if !errors.As(err, &ce) {
				t.Fatalf("New = %v, want a *renault.CredentialError", err)
			}

			if !errors.Is(err, tc.want) || !errors.Is(err, oem.ErrAuth) {
				t.Errorf("error %v: want %v and oem.ErrAuth", err, tc.want)
			}

			if !strings.Contains(err.Error(), tc.words) {
				t.Errorf("error %q does not say %q", err, tc.words)
			}

			secretsAbsent(t, "bundle error", err.Error(), tc.password, "fake-api-key",
				base64.StdEncoding.EncodeToString(good)[:40])
		})
	}
}

func TestAssertionClaims(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	sim.Clock().Set(start)
	c := newConnector(t, simConfig(t, sim))

	mustDescribe(t, c, zoeVIN)
	sim.Tokens().ExpireAll()
	sim.Clock().Advance(7 * time.Second)
	mustDescribe(t, c, meganeVIN)

	got := sim.Assertions()
	if len(got) != 2 {
		t.Fatalf("%d assertions accepted, want 2 (one login, one after the expiry)", len(got))
	}

	env := sim.Env()
	for i, a := range got {
		if a.Header["alg"] != "RS256" || a.Header["kid"] != env["RENAULT_KID"] || a.Header["typ"] != "JWT" {
			t.Errorf("assertion %d header = %v", i, a.Header)
		}

		for claim, want := range map[string]string{
			"iss": env["RENAULT_CLIENT_ID"], "sub": env["RENAULT_CLIENT_ID"], "aud": sim.TokenURL(),
		} {
			if a.Claims[claim] != want {
				t.Errorf("assertion %d %s = %v, want %q", i, claim, a.Claims[claim], want)
			}
		}

		iat, _ := a.Claims["iat"].(float64)
		exp, _ := a.Claims["exp"].(float64)
		wantIat := float64(start.Add(time.Duration(i) * 7 * time.Second).Unix())
		if iat != wantIat || exp-iat != 300 {
			t.Errorf("assertion %d iat %v exp %v; want iat %v and exp = iat + 300", i, iat, exp, wantIat)
		}

		if strings.ContainsAny(a.Raw, "+/=") || strings.Count(a.Raw, ".") != 2 {
			t.Errorf("assertion %d is not compact base64url: %q", i, a.Raw[:20])
		}
	}

	if got[0].Claims["jti"] == got[1].Claims["jti"] || got[0].Claims["jti"] == "" {
		t.Errorf("jti %v then %v, want two different ones", got[0].Claims["jti"], got[1].Claims["jti"])
	}
}

func TestTokenRequestForm(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	var (
		mu   sync.Mutex
		form url.Values
		hdr  http.Header
		api  http.Header
	)
	cfg := simConfig(t, sim)
	cfg.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == renaulttest.DefaultTokenPath {
			body, _ := r.GetBody()
			b := make([]byte, 64<<10)
			n, _ := body.Read(b)
			mu.Lock()
			form, _ = url.ParseQuery(string(b[:n]))
			hdr = r.Header.Clone()
			mu.Unlock()
		} else {
			mu.Lock()
			api = r.Header.Clone()
			mu.Unlock()
		}

		return http.DefaultTransport.RoundTrip(r)
	})

	c := newConnector(t, cfg)
	mustDescribe(t, c, zoeVIN)

	mu.Lock()
	defer mu.Unlock()

	env := sim.Env()
	for k, want := range map[string]string{
		"grant_type":            "client_credentials",
		"client_id":             env["RENAULT_CLIENT_ID"],
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
		"scope":                 env["RENAULT_SCOPE"],
	} {
		if form.Get(k) != want {
			t.Errorf("token form %s = %q, want %q", k, form.Get(k), want)
		}
	}

	if form.Get("client_assertion") == "" {
		t.Error("token form has no client_assertion")
	}

	if ct := hdr.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("token request Content-Type = %q", ct)
	}

	if hdr.Get("apiKey") != "" || hdr.Get("Authorization") != "" {
		t.Errorf("the token request carries apiKey %q, Authorization %q; want neither",
			hdr.Get("apiKey"), hdr.Get("Authorization"))
	}

	if api.Get("apiKey") != env["RENAULT_API_KEY"] || !strings.HasPrefix(api.Get("Authorization"), "Bearer sim-") {
		t.Errorf("an API call carries apiKey %q, Authorization %q; want the key and the bearer",
			api.Get("apiKey"), api.Get("Authorization"))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAssertionRejected(t *testing.T) {
	t.Parallel()

	otherKey, otherCert := ownKeyPair(t)
	otherBundle, err := renaulttest.PKCS12(pkcs12.Modern2023, otherKey, otherCert, fakePassword)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		set   func(*renault.Config, *renaulttest.Sim)
		words string
	}{
		{"unknown kid", func(c *renault.Config, _ *renaulttest.Sim) { c.KeyID = "fake-other-kid" }, "unknown kid"},
		{"key the kid does not have", func(c *renault.Config, _ *renaulttest.Sim) {
			c.PKCS12, c.PKCS12Password = otherBundle, fakePassword
		}, "signature does not verify"},
		{"unknown client", func(c *renault.Config, _ *renaulttest.Sim) { c.ClientID = "fake-other-client" },
			"unknown client_id"},
		{"audience is another URL", func(c *renault.Config, s *renaulttest.Sim) {
			c.TokenURL = strings.Replace(s.TokenURL(), "127.0.0.1", "localhost", 1)
		}, "audience is not the token URL"},
		{"clock ten minutes slow", func(c *renault.Config, s *renaulttest.Sim) {
			c.Now = func() time.Time { return s.Clock().Now().Add(-10 * time.Minute) }
		}, "has expired"},
		{"clock ten minutes fast", func(c *renault.Config, s *renaulttest.Sim) {
			c.Now = func() time.Time { return s.Clock().Now().Add(10 * time.Minute) }
		}, "issued in the future"},
		{"wrong scope", func(c *renault.Config, _ *renaulttest.Sim) { c.Scope = "fake-other-scope" },
			"invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			sim := newSim(t, renaulttest.Options{})
			cfg := simConfig(t, sim)
			buf := &syncBuffer{}
			cfg.Logger = debugLogger(buf)
			tc.set(&cfg, sim)
			c := newConnector(t, cfg)

			d := describe(t.Context(), c, zoeVIN, meganeVIN)
			if d.err == nil || d.n != 1 {
				t.Fatalf("Describe = %d items, end %v; want the stream to end at once with the login error",
					d.n, d.err)
			}

			var ce *renault.CredentialError
			if !errors.As(d.err, &ce) || !errors.Is(d.err, renault.ErrAssertionRejected) ||
				!errors.Is(d.err, oem.ErrAuth) {
				t.Fatalf("error %v, want a *renault.CredentialError for a rejected assertion", d.err)
			}

			if !strings.Contains(d.err.Error(), tc.words) {
				t.Errorf("error %q does not say %q", d.err, tc.words)
			}

			if ce.API == nil || (ce.API.StatusCode != 400 && ce.API.StatusCode != 401) {
				t.Errorf("the token endpoint's answer is not kept: %+v", ce.API)
			}

			env := sim.Env()
			secretsAbsent(t, "login error", d.err.Error(), env["RENAULT_PKCS12_PASSWORD"],
				env["RENAULT_API_KEY"], fakePassword)
			secretsAbsent(t, "debug log", buf.String(), env["RENAULT_PKCS12_PASSWORD"],
				env["RENAULT_API_KEY"], fakePassword)

			// A rejected login is not retried in a loop.
			if n := sim.Server().Counters.Get("POST " + renaulttest.DefaultTokenPath); n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}

			if n := sim.Server().Counters.Get(renaulttest.EndpointVehicle); n != 0 {
				t.Errorf("%d vehicle calls without a token, want 0", n)
			}
		})
	}
}

func TestReplayedAssertionRejected(t *testing.T) {
	t.Parallel()

	sim := newSim(t, renaulttest.Options{})
	c := newConnector(t, simConfig(t, sim))
	mustDescribe(t, c, zoeVIN)

	first := sim.Assertions()[0].Raw
	env := sim.Env()
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {env["RENAULT_CLIENT_ID"]},
		"client_assertion_type": {renault.AssertionType},
		"client_assertion":      {first},
		"scope":                 {env["RENAULT_SCOPE"]},
	}

	resp, err := http.PostForm(sim.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := jsonDecode(resp, &body); err != nil {
		t.Fatal(err)
	}

	if resp.StatusCode != http.StatusUnauthorized || body.Error != "invalid_client" ||
		!strings.Contains(body.Description, "replay") {
		t.Errorf("replay answered %d %+v, want 401 invalid_client naming the replay", resp.StatusCode, body)
	}
}
