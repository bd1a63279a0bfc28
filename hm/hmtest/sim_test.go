package hmtest_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
)

const vinA = "W1KABCDEFGH000001"

func token(t *testing.T, s *hmtest.Sim) string {
	t.Helper()

	body := fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`,
		hmtest.FakeClientID, hmtest.FakeClientSecret)
	resp, err := http.Post(s.URL()+"/v1/access_tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}

	return tr.AccessToken
}

func get(t *testing.T, s *hmtest.Sim, tok, path string, out any) int {
	t.Helper()

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	return resp.StatusCode
}

// The state survives a restart through StatePath, transitions included.
func TestStateFile(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "hm.json")
	clock := &simkit.Clock{}
	clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

	s, err := hmtest.New(hmtest.Options{StatePath: path, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}

	s.Add(simkit.Spec{VIN: vinA, Make: "Mercedes-Benz", Model: "EQA", Initial: "pending",
		Outcome: simkit.OutcomeApprove, After: time.Hour})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(2 * time.Hour)
	s2, err := hmtest.New(hmtest.Options{StatePath: path, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })

	if st, ok := s2.State(vinA); !ok || st != "approved" {
		t.Errorf("after restart and two hours: %q, %v; want approved", st, ok)
	}
}

// The simulator listens on a given loopback address, and refuses others.
func TestListenAddress(t *testing.T) {
	t.Parallel()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	s, err := hmtest.New(hmtest.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	if s.URL() != "http://"+addr || s.Env()["HM_BASE_URL"] != s.URL() {
		t.Errorf("URL %s, Env %v", s.URL(), s.Env())
	}

	if _, err := hmtest.New(hmtest.Options{Addr: "192.0.2.1:80"}); err == nil {
		t.Errorf("a non-loopback address was accepted")
	}
}

// The listing filter, auth on every call, and the expired-token 401.
func TestListingFilterAndAuth(t *testing.T) {
	t.Parallel()

	clock := &simkit.Clock{}
	clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := hmtest.New(hmtest.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	s.Add(simkit.Spec{VIN: vinA, Make: "Mercedes-Benz", Initial: "active"},
		simkit.Spec{VIN: "YV1ABCDEFGH000002", Make: "Volvo", Initial: "pending",
			Outcome: simkit.OutcomePending})
	tok := token(t, s)

	var all, approved []map[string]any
	get(t, s, tok, "/v1/fleets/vehicles", &all)
	filter := url.QueryEscape(`{"status":{"operator":"eq","value":"approved"}}`)
	get(t, s, tok, "/v1/fleets/vehicles?filter="+filter, &approved)
	if len(all) != 2 || len(approved) != 1 || approved[0]["vin"] != vinA || approved[0]["brand"] != "mercedes-benz" {
		t.Errorf("all %v, approved %v", all, approved)
	}

	if st := get(t, s, "not-a-token", "/v1/fleets/vehicles", nil); st != http.StatusUnauthorized {
		t.Errorf("bad token: %d, want 401", st)
	}

	clock.Advance(5 * time.Minute)
	var body struct {
		Errors []struct{ Title, Detail string }
	}
	if st := get(t, s, tok, "/v1/vehicle-data/autoapi-13/"+vinA, &body); st != http.StatusUnauthorized ||
		len(body.Errors) != 1 || body.Errors[0].Title != "Not Authorized" {
		t.Errorf("expired token: %d %+v, want 401 Not Authorized", st, body)
	}
}
