package hm_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
)

// t0 is where every test's clock starts.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// env is one simulator and one connector pointed at it.
type env struct {
	sim   *hmtest.Sim
	conn  *hm.Connector
	clock *simkit.Clock
	rt    http.RoundTripper
	logs  *syncBuffer
}

type envOpt struct {
	sim hmtest.Options
	cfg func(*hm.Config)
	// offSpec turns the response half of the spec check off, for tests
	// whose faults answer off the spec on purpose. Requests are still
	// checked.
	offSpec bool
}

func newEnv(t *testing.T, o envOpt, specs ...simkit.Spec) *env {
	t.Helper()

	clock := &simkit.Clock{}
	clock.Set(t0)
	o.sim.Clock = clock
	sim, err := hmtest.New(o.sim)
	if err != nil {
		t.Fatalf("hmtest.New: %v", err)
	}

	t.Cleanup(func() { _ = sim.Close() })
	sim.Add(specs...)

	rt := specCheck(t, http.DefaultTransport.(*http.Transport).Clone(), !o.offSpec)
	logs := &syncBuffer{}
	cfg := hm.Config{
		BaseURL:      sim.URL(),
		ClientID:     hmtest.FakeClientID,
		ClientSecret: hmtest.FakeClientSecret,
		Transport:    rt,
		Now:          clock.Now,
		MinBackoff:   time.Millisecond,
		MaxBackoff:   5 * time.Millisecond,
		Timeout:      5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}

	conn, err := hm.New(cfg)
	if err != nil {
		t.Fatalf("hm.New: %v", err)
	}

	return &env{sim: sim, conn: conn, clock: clock, rt: rt, logs: logs}
}

// count is the simulator's request count for one endpoint pattern.
func (e *env) count(pattern string) int { return e.sim.Server().Counters.Get(pattern) }

// testVIN builds a valid VIN with the given WMI and serial.
func testVIN(wmi string, n int) oem.VIN {
	return oem.MustParseVIN(fmt.Sprintf("%sABCDEFGH%06d", wmi, n)).WithCheckDigit()
}

// Makes by WMI used in the tests.
const (
	wmiMercedes = "W1K"
	wmiVolvo    = "YV1"
	wmiKia      = "KNA"
	wmiFord     = "WF0"
	wmiTesla    = "5YJ"
	wmiRenault  = "VF1"
	wmiUnknown  = "ZZZ" // not in the WMI table
)

func mercedes(n int, initial string) simkit.Spec {
	return simkit.Spec{VIN: string(testVIN(wmiMercedes, n)), Make: oem.MakeMercedesBenz, Model: "EQA",
		Type: "H243", Trim: "250+", Year: 2021, Powertrain: "bev", BatteryKWh: 66.5, Initial: initial,
		Outcome: simkit.OutcomeApprove, After: time.Hour}
}

func volvo(n int, initial string) simkit.Spec {
	return simkit.Spec{VIN: string(testVIN(wmiVolvo, n)), Make: oem.MakeVolvo, Model: "XC40",
		Trim: "Recharge Twin", Year: 2022, Powertrain: "bev", BatteryKWh: 78, Initial: initial,
		Outcome: simkit.OutcomeApprove, After: time.Hour}
}

func kia(n int, initial string) simkit.Spec {
	return simkit.Spec{VIN: string(testVIN(wmiKia, n)), Make: oem.MakeKia, Model: "Niro",
		Trim: "EV", Powertrain: "bev", BatteryKWh: 64.8, Initial: initial,
		Outcome: simkit.OutcomeApprove, After: time.Hour}
}

func ford(n int, initial string) simkit.Spec {
	return simkit.Spec{VIN: string(testVIN(wmiFord, n)), Make: oem.MakeFord, Model: "Kuga",
		Trim: "Titanium", Powertrain: "phev", Initial: initial, Outcome: simkit.OutcomeApprove, After: time.Hour}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.String()
}

// simFault is a one-shot fault answering status with body on any endpoint.
func simFault(status int, body string) simkit.Fault {
	return simkit.Fault{Times: 1, Status: status, Body: body}
}

var errCanceled = context.Canceled

func contextWithCancelAfter(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(d, cancel)

	return ctx, cancel
}
