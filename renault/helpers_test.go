package renault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

// The test fleet: two Renaults the simulator knows and one VIN it does not.
var (
	zoeVIN     = oem.VIN("VF1AG000164000001").WithCheckDigit()
	meganeVIN  = oem.VIN("VF1RCB00164000002").WithCheckDigit()
	springVIN  = oem.VIN("UU1DBA00164000003").WithCheckDigit()
	unknownVIN = oem.VIN("VF1AG000164999999").WithCheckDigit()
)

var (
	zoeReg    = time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC)
	meganeReg = time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)
)

func specs() []simkit.Spec {
	return []simkit.Spec{
		{VIN: string(zoeVIN), Make: oem.MakeRenault, Model: "ZOE", Version: "ZE50", Type: "R135",
			Powertrain: "bev", BatteryKWh: 52, RangeKm: 395, FirstReg: zoeReg},
		{VIN: string(meganeVIN), Make: oem.MakeRenault, Model: "MEGANE E-TECH", Version: "EV60",
			Type: "220hp optimum charge", Powertrain: "bev", BatteryKWh: 60, RangeKm: 470,
			FirstReg: meganeReg},
		{VIN: string(springVIN), Make: oem.MakeDacia, Model: "Spring", Powertrain: "bev"},
	}
}

// newSim starts a simulator holding the test fleet and stops it with the
// test.
func newSim(t *testing.T, opts renaulttest.Options) *renaulttest.Sim {
	t.Helper()

	sim, err := renaulttest.New(opts)
	if err != nil {
		t.Fatalf("renaulttest.New: %v", err)
	}

	t.Cleanup(func() { _ = sim.Close() })
	sim.Add(specs()...)

	return sim
}

// simConfig is the connector's configuration for sim, read from its Env,
// with small backoffs.
func simConfig(t *testing.T, sim *renaulttest.Sim) renault.Config {
	t.Helper()

	env := sim.Env()
	cfg, err := renault.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("ConfigFromEnv(sim.Env()): %v", err)
	}

	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.Now = sim.Clock().Now

	return cfg
}

func newConnector(t *testing.T, cfg renault.Config) *renault.Connector {
	t.Helper()

	c, err := renault.New(cfg)
	if err != nil {
		t.Fatalf("renault.New: %v", err)
	}

	return c
}

// describe runs one Describe call and sorts its answers.
type described struct {
	infos map[oem.VIN]oem.Info
	verrs map[oem.VIN]*oem.VehicleError
	err   error // the error that ended the stream
	n     int   // how many items the stream yielded
}

func describe(ctx context.Context, c oem.Connector, vins ...oem.VIN) described {
	d := described{infos: map[oem.VIN]oem.Info{}, verrs: map[oem.VIN]*oem.VehicleError{}}
	for info, err := range c.Describe(ctx, vins) {
		d.n++
		if err == nil {
			d.infos[info.VIN] = info
			continue
		}

		var ve *oem.VehicleError
		if errors.As(err, &ve) {
			d.verrs[ve.VIN] = ve
			continue
		}

		d.err = err
	}

	return d
}

// mustDescribe describes one VIN and fails the test unless it gets an
// Info.
func mustDescribe(t *testing.T, c oem.Connector, vin oem.VIN) oem.Info {
	t.Helper()

	d := describe(t.Context(), c, vin)
	if d.err != nil || d.verrs[vin] != nil {
		t.Fatalf("Describe %s: stream error %v, vehicle error %v", vin, d.err, d.verrs[vin])
	}

	info, ok := d.infos[vin]
	if !ok {
		t.Fatalf("Describe %s gave no Info", vin)
	}

	return info
}

// syncBuffer is a log sink that tests can read while the connector writes.
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

func debugLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
