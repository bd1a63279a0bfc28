package hm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// Every status word maps as OEM-APIS.md says; changelog timestamps with and
// without a zone are read (UTC when none); the newest entry, wherever it
// stands in the array, gives ChangedAt and the reason.
func TestFleetMapping(t *testing.T) {
	t.Parallel()

	v := func(n int) oem.VIN { return testVIN(wmiMercedes, n) }
	body := fmt.Sprintf(`[
 {"vin":%q,"status":"approved","brand":"mercedes-benz","tags":{},"changelog":[
   {"timestamp":"2022-03-22T09:36:51","status":"pending"},
   {"timestamp":"2022-03-22T10:36:51","status":"approved"}]},
 {"vin":%q,"status":"pending","brand":"volvo-cars","changelog":[{"timestamp":"2024-01-02T03:04:05.123Z","status":"pending"}]},
 {"vin":%q,"status":"rejected","brand":"kia","changelog":[
   {"timestamp":"2024-02-10T08:00:00+01:00","status":"rejected","reason":"VIN activation timeout"},
   {"timestamp":"2024-02-01T08:00:00","status":"pending"}]},
 {"vin":%q,"status":"revoking","brand":"alfaromeo","changelog":[]},
 {"vin":%q,"status":"canceling","brand":"citroen"},
 {"vin":%q,"status":"revoked","brand":"ford","changelog":[{"timestamp":"2024-05-05T05:05:05","status":"revoked"}]},
 {"vin":%q,"status":"canceled","brand":"renault"},
 {"vin":%q,"status":"error","brand":"tesla"},
 {"vin":%q,"status":"suspended","brand":"sandbox"},
 {"vin":%q,"status":"suspended","brand":"bmw"}
]`, v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9), v(10))

	e := newEnv(t, envOpt{offSpec: true}) // "error" and "suspended" are off the listing's enum
	e.sim.Server().AddFault(simkit.Fault{Endpoint: "GET /v1/fleets/vehicles", Times: 1,
		Status: http.StatusOK, Body: body})

	got := map[oem.VIN]oem.Observed{}
	for _, o := range drainFleet(t, e) {
		got[o.VIN] = o
	}

	want := []oem.Observed{
		{VIN: v(1), Status: oem.StatusActive, Raw: "approved", Make: oem.MakeMercedesBenz,
			ChangedAt: time.Date(2022, 3, 22, 10, 36, 51, 0, time.UTC)},
		{VIN: v(2), Status: oem.StatusPending, Raw: "pending", Make: oem.MakeVolvo,
			ChangedAt: time.Date(2024, 1, 2, 3, 4, 5, 123e6, time.UTC)},
		{VIN: v(3), Status: oem.StatusRejected, Raw: "rejected", Make: oem.MakeKia,
			Reason: "VIN activation timeout", ChangedAt: time.Date(2024, 2, 10, 7, 0, 0, 0, time.UTC)},
		{VIN: v(4), Status: oem.StatusDeactivating, Raw: "revoking", Make: oem.MakeAlfaRomeo},
		{VIN: v(5), Status: oem.StatusDeactivating, Raw: "canceling", Make: oem.MakeCitroen},
		{VIN: v(6), Status: oem.StatusInactive, Raw: "revoked", Make: oem.MakeFord,
			ChangedAt: time.Date(2024, 5, 5, 5, 5, 5, 0, time.UTC)},
		{VIN: v(7), Status: oem.StatusInactive, Raw: "canceled", Make: oem.MakeRenault},
		{VIN: v(8), Status: oem.StatusError, Raw: "error", Make: oem.MakeTesla},
		{VIN: v(9), Status: oem.StatusUnknown, Raw: "suspended"},
		{VIN: v(10), Status: oem.StatusUnknown, Raw: "suspended", Make: oem.MakeBMW},
	}
	for _, w := range want {
		g, ok := got[w.VIN]
		if !ok {
			t.Errorf("%s not listed", w.VIN)
			continue
		}

		if g != w {
			t.Errorf("%s:\n got  %+v\n want %+v", w.VIN, g, w)
		}
	}

	// The unknown word is logged once, not once per vehicle (CASES 12).
	if n := strings.Count(e.logs.String(), "word=suspended"); n != 1 {
		t.Errorf("unknown status word logged %d times, want once", n)
	}
}

// The simulator's own listing, in both timestamp forms.
func TestFleetFromSimulator(t *testing.T) {
	t.Parallel()

	for _, zoned := range []bool{false, true} {
		t.Run(fmt.Sprintf("zoned=%v", zoned), func(t *testing.T) {
			t.Parallel()

			rej := kia(3, "rejected")
			rej.Reason = "consent assignment missing"
			e := newEnv(t, envOpt{sim: hmtest.Options{ZonedTimes: zoned}},
				mercedes(1, "active"), volvo(2, "pending"), rej, ford(4, ""))

			got := map[oem.VIN]oem.Observed{}
			for _, o := range drainFleet(t, e) {
				got[o.VIN] = o
			}

			if len(got) != 3 {
				t.Fatalf("listed %d vehicles, want 3 (the Ford has no clearance)", len(got))
			}

			if o := got[testVIN(wmiMercedes, 1)]; o.Status != oem.StatusActive ||
				!o.ChangedAt.Equal(t0.Add(-24*time.Hour)) || o.Make != oem.MakeMercedesBenz {
				t.Errorf("approved Mercedes: %+v", o)
			}

			if o := got[testVIN(wmiVolvo, 2)]; o.Status != oem.StatusPending || !o.ChangedAt.Equal(t0) {
				t.Errorf("pending Volvo: %+v", o)
			}

			if o := got[testVIN(wmiKia, 3)]; o.Status != oem.StatusRejected ||
				o.Reason != "consent assignment missing" {
				t.Errorf("rejected Kia: %+v", o)
			}
		})
	}
}

// A record with a bad VIN is a *oem.VehicleError; the records around it are
// still listed.
func TestFleetBadRecord(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{})
	body := fmt.Sprintf(`[{"vin":%q,"status":"approved"},{"vin":"SHORT","status":"approved"},{"vin":%q,"status":"pending"}]`,
		testVIN(wmiMercedes, 1), testVIN(wmiMercedes, 2))
	e.sim.Server().AddFault(simkit.Fault{Endpoint: "GET /v1/fleets/vehicles", Times: 1,
		Status: http.StatusOK, Body: body})

	var good, bad int
	for _, err := range e.conn.Fleet(t.Context()) {
		if err != nil {
			ve, ok := oem.AsVehicleError(err)
			if !ok || ve.VIN != "SHORT" || !errors.Is(err, oem.ErrInvalidInput) {
				t.Fatalf("bad record: %v, want a *oem.VehicleError for SHORT", err)
			}

			bad++

			continue
		}

		good++
	}

	if good != 2 || bad != 1 {
		t.Errorf("good %d, bad %d; want 2 and 1", good, bad)
	}
}

// A listing cut off or not JSON is an error that ends the stream: never a
// short list taken as the whole fleet.
func TestFleetBrokenBodies(t *testing.T) {
	t.Parallel()

	for name, f := range map[string]simkit.Fault{
		"truncated": {Status: http.StatusOK, Body: fmt.Sprintf(`[{"vin":%q,"status":"approved"},{"vin":`, testVIN(wmiMercedes, 1))},
		"object":    {Status: http.StatusOK, Body: `{"vehicles":[]}`},
		"html":      {Status: http.StatusOK, Body: simkit.HTMLBody, ContentType: "text/html"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			e := newEnv(t, envOpt{offSpec: true})
			f.Endpoint, f.Times = "GET /v1/fleets/vehicles", 1
			e.sim.Server().AddFault(f)

			var last error
			n := 0
			for _, err := range e.conn.Fleet(t.Context()) {
				if err != nil {
					last = err
					continue
				}

				n++
			}

			if last == nil || !errors.Is(last, oem.ErrTransient) {
				t.Fatalf("broken listing ended with %v, want an oem.ErrTransient error", last)
			}

			if _, ok := oem.AsVehicleError(last); ok {
				t.Errorf("broken listing gave a *oem.VehicleError; it must end the stream")
			}
		})
	}
}

// The listing is decoded as a stream: the first record reaches the consumer
// while the server is still writing the rest (a buffering decoder would
// wait for the end and this test would time out).
func TestFleetStreams(t *testing.T) {
	t.Parallel()

	first := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/access_tokens" {
			fmt.Fprint(w, `{"access_token":"fake-token","expires_in":300,"token_type":"bearer"}`)
			return
		}

		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"vin":%q,"status":"approved","changelog":[]}`, testVIN(wmiMercedes, 0))
		w.(http.Flusher).Flush()
		select {
		case <-first:
		case <-time.After(10 * time.Second):
			return
		}

		for i := 1; i < 20000; i++ {
			fmt.Fprintf(w, `,{"vin":%q,"status":"pending","brand":"mercedes-benz","changelog":[{"timestamp":"2024-01-01T00:00:00","status":"pending"}]}`,
				testVIN(wmiMercedes, i))
		}

		fmt.Fprint(w, "]")
	}))
	t.Cleanup(srv.Close)

	conn, err := hm.New(hm.Config{BaseURL: srv.URL, ClientID: "fake-id", ClientSecret: "fake-client-secret"})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	n := 0
	for o, err := range conn.Fleet(ctx) {
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}

		if n == 0 {
			close(first)
		}

		if o.Status == "" {
			t.Fatalf("record %d has no status", n)
		}

		n++
	}

	if n != 20000 {
		t.Errorf("listed %d records, want 20000", n)
	}
}

// A consumer that stops early stops the stream (and closes the body).
func TestFleetStopsEarly(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"), volvo(2, "active"), kia(3, "pending"))
	n := 0
	for _, err := range e.conn.Fleet(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}

		n++

		break
	}

	if n != 1 {
		t.Fatalf("saw %d records, want 1", n)
	}
}

// Requests are counted under the kind the caller put in the context, the
// login under oem.RequestAuth.
func TestRequestCounting(t *testing.T) {
	t.Parallel()

	e := newEnv(t, envOpt{}, mercedes(1, "active"))
	var rc oem.RequestCounter
	ctx := oem.WithRequestKind(oem.WithRequestCounter(t.Context(), &rc), oem.RequestListing)
	for _, err := range e.conn.Fleet(ctx) {
		if err != nil {
			t.Fatal(err)
		}
	}

	if rc.Get(oem.RequestListing) != 1 || rc.Get(oem.RequestAuth) != 1 {
		t.Errorf("counts %v, want listing 1 and auth 1", rc.Snapshot())
	}
}
