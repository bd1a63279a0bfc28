package renault

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/internal/jsonx"
	"github.com/vehicleinfo/ingest/oem"
)

// AssertionType is the client_assertion_type of a private_key_jwt login.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid: exp is iat plus
// this.
const AssertionLifetime = 300 * time.Second

// credentials are what a login needs: the key that signs and the names the
// assertion carries.
type credentials struct {
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	keyID    string
	clientID string
	tokenURL string
	scope    string
	now      func() time.Time
}

// LoadKey opens a PKCS#12 bundle, given as base64 text (line breaks
// allowed) or raw DER, with password, and returns its RSA private key and
// certificate. Both the modern (PBES2, AES, PBKDF2) and the legacy (3DES,
// RC2) encodings are read. A wrong password, a bundle without an RSA key
// and an unreadable bundle are *CredentialError values that show no
// secret.
func LoadKey(bundle []byte, password string) (*rsa.PrivateKey, *x509.Certificate, error) {
	der, ok := pkcs12DER(bundle)
	if !ok {
		return nil, nil, &CredentialError{
			Cause:   "the PKCS#12 bundle is neither base64 text nor DER",
			Setting: EnvPKCS12 + " or " + EnvPKCS12File, Err: ErrBadPKCS12,
		}
	}

	key, cert, _, err := pkcs12.DecodeChain(der, password)
	if err != nil {
		return nil, nil, decodeError(err)
	}

	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, &CredentialError{
			Cause:   fmt.Sprintf("the PKCS#12 bundle holds a %s key, not an RSA key", keyKind(key)),
			Setting: EnvPKCS12 + " or " + EnvPKCS12File, Err: ErrNoRSAKey,
		}
	}

	return rk, cert, nil
}

// pkcs12DER finds the DER bytes: base64 text (standard or URL alphabet,
// padded or not, wrapped or not) that decodes to an ASN.1 sequence, else
// the bytes themselves when they are one.
func pkcs12DER(b []byte) ([]byte, bool) {
	text := strings.Join(strings.Fields(string(b)), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding} {
		if der, err := enc.DecodeString(text); err == nil && isSequence(der) {
			return der, true
		}
	}

	if isSequence(b) {
		return b, true
	}

	return nil, false
}

// isSequence reports whether b starts like a DER SEQUENCE, as every PKCS#12
// file does.
func isSequence(b []byte) bool { return len(b) > 4 && b[0] == 0x30 }

// decodeError turns a go-pkcs12 failure into a CredentialError. The
// library's messages name no secret (neither the password nor key bytes),
// so the unusual ones are kept as the cause.
func decodeError(err error) error {
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
		return &CredentialError{Cause: "the PKCS#12 password is wrong",
			Setting: EnvPKCS12Password, Err: ErrWrongPassword}
	case strings.Contains(err.Error(), "private key missing"):
		return &CredentialError{Cause: "the PKCS#12 bundle holds no private key",
			Setting: EnvPKCS12 + " or " + EnvPKCS12File, Err: ErrNoRSAKey}
	}

	var ni pkcs12.NotImplementedError
	if errors.As(err, &ni) {
		return &CredentialError{Cause: "the PKCS#12 bundle uses an unsupported encoding: " + string(ni),
			Setting: EnvPKCS12 + " or " + EnvPKCS12File, Err: ErrBadPKCS12}
	}

	return &CredentialError{Cause: "the PKCS#12 bundle cannot be read: " + err.Error(),
		Setting: EnvPKCS12 + " or " + EnvPKCS12File, Err: ErrBadPKCS12}
}

// keyKind names the kind of a key that is not RSA, for the error.
func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case *ecdh.PrivateKey:
		return "ECDH"
	case ed25519.PrivateKey, *ed25519.PrivateKey:
		return "Ed25519"
	}

	return fmt.Sprintf("%T", k)
}

// assertion signs a fresh RS256 client assertion: kid in the header, iss =
// sub = client id, aud = token URL, iat now, exp five minutes later, a new
// random jti.
func (c *credentials) assertion() (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("%s: login: random jti: %w", Name, err)
	}

	now := c.now().UTC().Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": c.clientID,
		"sub": c.clientID,
		"aud": c.tokenURL,
		"iat": now.Unix(),
		"exp": now.Add(AssertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	})
	tok.Header["kid"] = c.keyID

	s, err := tok.SignedString(c.key)
	if err != nil {
		// The signing error names no key material.
		return "", fmt.Errorf("%s: login: sign the client assertion: %w", Name, err)
	}

	return s, nil
}

// tokenAnswer is the token endpoint's success body.
type tokenAnswer struct {
	TokenType   jsonx.String `json:"token_type"`
	ExpiresIn   jsonx.Int    `json:"expires_in"`
	AccessToken jsonx.String `json:"access_token"`
	Scope       jsonx.String `json:"scope"`
}

// token logs in with a new assertion: one token request through hc.
func (c *credentials) token(ctx context.Context, hc *httpx.Client) (*oauth2.Token, error) {
	a, err := c.assertion()
	if err != nil {
		return nil, err
	}

	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {c.clientID},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {a},
	}
	if c.scope != "" {
		form.Set("scope", c.scope)
	}

	// The apiKey header belongs to the API calls: an empty value here
	// keeps it off the token request, which may go to another host.
	resp, err := hc.Do(ctx, httpx.Request{
		Op: "get token", Method: http.MethodPost, Path: c.tokenURL, NoAuth: true,
		Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded",
		Header: http.Header{"apiKey": nil},
	})
	if err != nil {
		return nil, loginError(ctx, err)
	}

	var ans tokenAnswer
	if json.Unmarshal(resp.Body, &ans) != nil {
		return nil, &loginFailed{&CredentialError{
			Cause: "the token endpoint's answer is not a JSON object", Err: ErrTokenAnswer}}
	}

	if !ans.AccessToken.Set {
		return nil, &loginFailed{&CredentialError{
			Cause: "the token endpoint answered without an access_token", Err: ErrTokenAnswer}}
	}

	tok := &oauth2.Token{AccessToken: ans.AccessToken.V, TokenType: "Bearer"}
	if ans.ExpiresIn.Set && ans.ExpiresIn.V > 0 {
		tok.Expiry = c.now().Add(time.Duration(ans.ExpiresIn.V) * time.Second)
	}

	return tok, nil
}

// loginError names the cause of a failed token request. A 400 or 401 from
// the token endpoint is a rejected assertion; anything else (the endpoint
// unreachable or failing, a wait too long) stays the *oem.APIError it is.
func loginError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}

	var ae *oem.APIError
	if !errors.As(err, &ae) ||
		(ae.StatusCode != http.StatusBadRequest && ae.StatusCode != http.StatusUnauthorized) {
		return &loginFailed{err}
	}

	why := ae.Code
	switch {
	case why != "" && ae.Message != "":
		why += ": " + ae.Message
	case why == "":
		why = ae.Message
	}

	if why == "" {
		why = fmt.Sprintf("HTTP %d", ae.StatusCode)
	}

	setting := EnvKeyID + ", " + EnvClientID + ", " + EnvTokenURL + " or the certificate"
	if strings.EqualFold(ae.Code, "invalid_scope") {
		setting = EnvScope
	}

	return &loginFailed{&CredentialError{
		Cause:   "the token endpoint rejected the client assertion: " + why,
		Setting: setting,
		Err:     ErrAssertionRejected,
		API:     ae,
	}}
}

// loginFailed marks an error as a failed login, which ends a Describe
// stream however the failure is classified: without a token no vehicle can
// be described.
type loginFailed struct{ err error }

func (e *loginFailed) Error() string { return e.err.Error() }
func (e *loginFailed) Unwrap() error { return e.err }
