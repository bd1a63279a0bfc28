package hm

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/vehicleinfo/ingest/internal/httpx"
	"github.com/vehicleinfo/ingest/oem"
)

// defaultTokenTTL is assumed when a token answer has no expires_in: High
// Mobility's application tokens live five minutes.
const defaultTokenTTL = 5 * time.Minute

// fetchToken is the login: client credentials as a JSON body. A 200 without
// an access token is an oem.ErrAuth error, as is a 400 or 401 (bad client id
// or secret); the secret never appears in the error.
func (c *Connector) fetchToken(ctx context.Context) (*oauth2.Token, error) {
	var tr tokenResponse
	_, err := c.client.DoJSON(ctx, httpx.Request{
		Op:     "get token",
		Method: http.MethodPost,
		Path:   c.cfg.TokenPath,
		NoAuth: true,
		JSON: tokenRequest{
			GrantType:    "client_credentials",
			ClientID:     c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret,
		},
	}, &tr)
	if err != nil {
		return nil, err
	}

	if tr.AccessToken == "" {
		return nil, &oem.APIError{
			Connector: Name, Op: "get token", Method: http.MethodPost, Path: c.cfg.TokenPath,
			StatusCode: http.StatusOK, Message: "token answer without access_token", Kind: oem.ErrAuth,
		}
	}

	ttl := defaultTokenTTL
	if tr.ExpiresIn.Set && tr.ExpiresIn.V > 0 {
		ttl = time.Duration(tr.ExpiresIn.V) * time.Second
	}

	return &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		Expiry:      c.cfg.Now().Add(ttl),
	}, nil
}

// checkToken makes sure a token can be had, so that bad credentials end a
// call at once with the cause.
func (c *Connector) checkToken(ctx context.Context) error {
	if _, err := c.tokens.TokenContext(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("hm: get token: %w", ctx.Err())
		}

		return fmt.Errorf("hm: get token: %w", err)
	}

	return nil
}
