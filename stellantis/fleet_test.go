package stellantis_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/stellantis"
	"github.com/vehicleinfo/ingest/stellantis/stellantistest"
)

const epContracts = "GET /connected-fleet/api/contracts"

// rtFunc is a RoundTripper made of a function, for tests that change what
// goes over the wire.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// seedActive adds n active vehicles with Peugeot VINs from serial first.
func seedActive(s *stellantistest.Sim, first, n int) []oem.VIN {
	var vins []oem.VIN
	for i := range n {
		v := vin("VF3", first+i)
		vins = append(vins, v)
		s.Add(simkit.Spec{VIN: string(v), Model: "e-208", Powertrain: "bev", BatteryKWh: 50,
			Initial: "active"})
	}

	return vins
}

func TestFleetPagesUntilShortPage(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		contracts, pages int
	}{
		{7, 3}, // 3 + 3 + 1
		{6, 3}, // 3 + 3 + 0: a full page means "ask for the next" (CASES 5)
		{2, 1},
		{0, 1},
	} {
		t.Run(fmt.Sprint(tc.contracts), func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{PageSize: 3})
			vins := seedActive(s, 1, tc.contracts)
			c := newConn(t, s)

			got := fleet(t, c)
			if len(got) != tc.contracts {
				t.Errorf("Fleet listed %d vehicles, want %d", len(got), tc.contracts)
			}

			for _, v := range vins {
				if o := got[v]; o.Status != oem.StatusActive || o.Raw != "activated" {
					t.Errorf("%s: %+v, want active (raw activated)", v, o)
				}
			}

			if n := s.Server().Counters.Get(epContracts); n != tc.pages {
				t.Errorf("%d listing requests, want %d", n, tc.pages)
			}
		})
	}
}

func TestFleetErrorOnLaterPageFailsListing(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{PageSize: 2})
	seedActive(s, 1, 5)
	base := http.DefaultTransport.(*http.Transport).Clone()
	c := newConn(t, s, stellantis.WithTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("skip") == "4" { // page 3
			return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{},
				Body: http.NoBody, Request: r}, nil
		}

		return base.RoundTrip(r)
	})))

	n := 0
	var last error
	for _, err := range c.Fleet(t.Context()) {
		if err == nil {
			n++
			continue
		}

		last = err
	}

	if n != 0 {
		t.Errorf("a listing whose page 3 failed yielded %d vehicles, want none", n)
	}

	if !errors.Is(last, oem.ErrTransient) || !strings.Contains(last.Error(), "page 3") {
		t.Fatalf("err = %v, want a transient error naming page 3", last)
	}
}

func TestFleetRepeatedPageIsAnError(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{PageSize: 2})
	seedActive(s, 1, 6)
	base := http.DefaultTransport.(*http.Transport).Clone()
	c := newConn(t, s, stellantis.WithTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		// A server that ignores skip from the second page on.
		if q := r.URL.Query(); q.Get("skip") != "" && q.Get("skip") != "0" {
			q.Set("skip", "0")
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		}

		return base.RoundTrip(r)
	})))

	var last error
	for _, err := range c.Fleet(t.Context()) {
		last = err
	}

	if !errors.Is(last, stellantis.ErrRepeatedPage) {
		t.Fatalf("err = %v, want ErrRepeatedPage", last)
	}

	if n := s.Server().Counters.Get(epContracts); n != 2 {
		t.Errorf("%d listing requests, want 2 (stop at the first repeat)", n)
	}
}

func TestFleetNewestContractWins(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{PageSize: 2})
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	a, b, c3 := vin("VF3", 1), vin("VF7", 2), vin("W0L", 3)
	// a: the newer contract (cancelled) is on a later page than the older.
	s.AddContract(string(a), "activated", t0)
	s.AddContract(string(b), "cancelled", t0)
	s.AddContract(string(b), "activated", t0.Add(time.Hour))
	s.AddContract(string(c3), "pending", t0.Add(time.Hour))
	s.AddContract(string(a), "cancelled", t0.Add(2*time.Hour))
	// The newest by createdAt comes first in the listing here.
	s.AddContract(string(c3), "activated", t0)

	got := fleet(t, newConn(t, s))
	want := map[oem.VIN]oem.Status{a: oem.StatusInactive, b: oem.StatusActive, c3: oem.StatusPending}
	for v, st := range want {
		if got[v].Status != st {
			t.Errorf("%s: %s, want %s (the newest contract decides)", v, got[v].Status, st)
		}
	}

	if len(got) != 3 {
		t.Errorf("%d vehicles listed, want 3", len(got))
	}
}

func TestFleetDecodesLooseContracts(t *testing.T) {
	t.Parallel()

	s := newSim(t, stellantistest.Options{PageSize: 10})
	a, b, c3, d := vin("VF3", 1), vin("VF7", 2), vin("W0L", 3), vin("ZFA", 4)
	// No createdAt: "from" decides; ids beyond 2^53; a lower-case padded
	// VIN; words never seen; a contract whose VIN is not a VIN; an
	// element that is not an object.
	page := fmt.Sprintf(`[
	 {"_id":"1","status":"cancelled","car":{"vin":"%[1]s"},"from":"2024-05-02T10:00:00.000+0000"},
	 {"_id":"2","status":"activated","car":{"vin":"%[1]s"},"from":"2024-05-01T10:00:00.000Z"},
	 {"_id":90071992547409930,"status":"Activated","car":{"vin":"  %[2]s "},"updatedAt":"Mon Jun 03 08:35:36 GMT 2019"},
	 {"_id":"4","status":"suspended","car":{"vin":"%[3]s"}},
	 {"_id":"5","status":"suspended","car":{"vin":"%[4]s"}},
	 {"_id":"6","status":"activated","car":{"vin":"VF3-NOT-A-VIN"}},
	 "not an object"
	]`, a, strings.ToLower(string(b)), c3, d)
	s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Times: 1, Status: http.StatusOK,
		Body: page})

	log, buf := newLogger(slog.LevelWarn)
	c := newConn(t, s, stellantis.WithLogger(log))

	got := make(map[oem.VIN]oem.Observed)
	var verrs []error
	for o, err := range c.Fleet(t.Context()) {
		if err != nil {
			if _, ok := oem.AsVehicleError(err); !ok {
				t.Fatalf("Fleet: %v", err)
			}

			verrs = append(verrs, err)

			continue
		}

		got[o.VIN] = o
	}

	if got[a].Status != oem.StatusInactive {
		t.Errorf("%s: %s, want inactive (the later from decides)", a, got[a].Status)
	}

	if o := got[b]; o.Status != oem.StatusActive ||
		!o.ChangedAt.Equal(time.Date(2019, 6, 3, 8, 35, 36, 0, time.UTC)) {
		t.Errorf("%s: %+v, want active, changed at the Java-form updatedAt", b, o)
	}

	for _, v := range []oem.VIN{c3, d} {
		if o := got[v]; o.Status != oem.StatusUnknown || o.Raw != "suspended" {
			t.Errorf("%s: %+v, want unknown with raw suspended", v, o)
		}
	}

	if len(verrs) != 1 || !errors.Is(verrs[0], oem.ErrInvalidInput) {
		t.Errorf("vehicle errors = %v, want one ErrInvalidInput for the bad VIN", verrs)
	}

	if n := strings.Count(buf.String(), "word=suspended"); n != 1 {
		t.Errorf("unknown word logged %d times, want once:\n%s", n, buf.String())
	}

	if !strings.Contains(buf.String(), "unreadable contract") {
		t.Errorf("the element that is not an object was not logged:\n%s", buf.String())
	}
}

func TestFleetAnswerNotAnArray(t *testing.T) {
	t.Parallel()

	for name, body := range map[string]string{
		"object":    `{"name":"InternalError","message":"boom"}`,
		"malformed": simkit.MalformedJSON,
		"html":      simkit.HTMLBody,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			s := newSim(t, stellantistest.Options{})
			seedActive(s, 1, 1)
			s.Server().AddFault(simkit.Fault{Endpoint: epContracts, Times: 1,
				Status: http.StatusOK, Body: body})

			var last error
			n := 0
			for _, err := range newConn(t, s).Fleet(t.Context()) {
				if err != nil {
					last = err
				} else {
					n++
				}
			}

			if last == nil || n != 0 {
				t.Fatalf("Fleet over a 200 %s answer: %d vehicles, err %v; want an error only",
					name, n, last)
			}
		})
	}
}
