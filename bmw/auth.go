package bmw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// defaultTokenTTL is assumed when the login answer has no ExpiresIn.
const defaultTokenTTL = 3600 * time.Second

// login is the Cognito USER_PASSWORD_AUTH call. It returns the IdToken as
// the access token of an oauth2.Token, expiring after ExpiresIn seconds.
// A refused login is an oem.ErrAuth error naming Cognito's reason, a
// challenge is oem.ErrLoginRequired naming the challenge; neither ever
// contains the password.
func (c *Connector) login(ctx context.Context) (*oauth2.Token, error) {
	tok, err := c.initiateAuth(ctx)
	if err != nil && ctx.Err() == nil {
		return nil, &loginFailure{err: err}
	}

	return tok, err
}

// loginFailure marks an error as the login's, which concerns every vehicle
// of the account: calls stop instead of logging in again per vehicle.
type loginFailure struct{ err error }

func (e *loginFailure) Error() string { return e.err.Error() }

func (e *loginFailure) Unwrap() error { return e.err }

func (c *Connector) initiateAuth(ctx context.Context) (*oauth2.Token, error) {
	body, err := json.Marshal(loginRequest{
		AuthFlow: passwordLogin,
		ClientID: c.cfg.ClientID,
		AuthParameters: map[string]string{
			"USERNAME": c.cfg.Username,
			"PASSWORD": c.cfg.Password,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("bmw: login: encode: %w", err)
	}

	resp, err := c.http.Do(ctx, httpx.Request{
		Op:          "login",
		Method:      http.MethodPost,
		Path:        c.cfg.AuthURL,
		Body:        body,
		ContentType: amzJSON,
		Header: http.Header{
			"X-Amz-Target": {initiateAuth},
			"Accept":       {amzJSON + ", application/json"},
		},
		NoAuth: true,
	})
	if err != nil {
		return nil, loginError(err)
	}

	// The answer's media type is application/x-amz-json-1.1: JSON all
	// the same.
	var ans loginAnswer
	if err := resp.Decode(&ans); err != nil {
		return nil, fmt.Errorf("bmw: login: %w: %w", err, oem.ErrAuth)
	}

	res := ans.AuthenticationResult
	switch {
	case res == nil && ans.ChallengeName.Set:
		return nil, fmt.Errorf("bmw: login: Cognito asks for the %s challenge, which this "+
			"connector cannot answer; complete it for user %s, then run again: %w",
			ans.ChallengeName.V, c.cfg.Username, oem.ErrLoginRequired)
	case res == nil:
		return nil, fmt.Errorf("bmw: login: answer without AuthenticationResult: %w", oem.ErrAuth)
	case !res.IDToken.Set:
		return nil, fmt.Errorf("bmw: login: answer without IdToken: %w", oem.ErrAuth)
	}

	ttl := defaultTokenTTL
	if res.ExpiresIn.Set && res.ExpiresIn.V > 0 {
		ttl = time.Duration(res.ExpiresIn.V) * time.Second
	}

	return &oauth2.Token{
		AccessToken: res.IDToken.V,
		TokenType:   "Bearer",
		Expiry:      c.cfg.Now().Add(ttl),
	}, nil
}

// loginError says why the login failed, keeping the kind the answer
// mapped to (see classify).
func loginError(err error) error {
	ae, ok := apiError(err)
	if !ok {
		return err
	}

	switch {
	case errors.Is(ae, oem.ErrAuth):
		return fmt.Errorf("bmw: login refused (%s): %w", reason(ae), ae)
	case errors.Is(ae, oem.ErrRateLimited):
		return fmt.Errorf("bmw: login rate limited (%s): %w", reason(ae), ae)
	}

	return fmt.Errorf("bmw: login failed: %w", ae)
}

func reason(ae *oem.APIError) string {
	switch {
	case ae.Code != "" && ae.Message != "":
		return ae.Code + ": " + ae.Message
	case ae.Code != "":
		return ae.Code
	case ae.Message != "":
		return ae.Message
	}

	return fmt.Sprintf("HTTP %d", ae.StatusCode)
}
