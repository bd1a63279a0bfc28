package stellantis

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// login is the httpx.TokenFunc: POST /api/auth/login with the email and
// password, answered with {"authToken"}. The answer gives no expiry, so the
// token is taken to live Config.TokenLifetime; a 401 before then makes the
// HTTP client drop it and log in again once.
func (c *Connector) login(ctx context.Context) (*oauth2.Token, error) {
	var ans loginAnswer
	_, err := c.http.DoJSON(ctx, httpx.Request{
		Op:     "log in",
		Method: http.MethodPost,
		Path:   pathLogin,
		JSON:   loginRequest{Email: c.cfg.Email, Password: c.cfg.Password},
		NoAuth: true,
	}, &ans)
	if err != nil {
		return nil, loginError(c.cfg.Email, err)
	}

	// A 200 without the token is an error, not an empty token (CASES 18).
	if !ans.AuthToken.Set {
		return nil, fmt.Errorf("stellantis: log in as %s: the answer has no authToken: %w",
			c.cfg.Email, oem.ErrAuth)
	}

	return &oauth2.Token{
		AccessToken: ans.AuthToken.V,
		TokenType:   "Bearer",
		Expiry:      c.cfg.Now().Add(c.cfg.TokenLifetime),
	}, nil
}

// loginError types a failed login. Refused credentials (400, 401, 403 that
// is not a quota) are ErrAuth; the *oem.APIError, which carries the OEM's
// reason and never the password, stays in the chain.
func loginError(email string, err error) error {
	var ae *oem.APIError
	if errors.As(err, &ae) {
		switch ae.StatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if !errors.Is(ae.Kind, oem.ErrQuotaExhausted) {
				ae.Kind = oem.ErrAuth
			}

			return fmt.Errorf("stellantis: log in as %s: credentials refused: %w", email, err)
		}
	}

	return fmt.Errorf("stellantis: log in as %s: %w", email, err)
}
