package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/vehicleinfo/ingest/internal/sandbox"
)

// BenchmarkSandboxFirstRun runs the main job's first run over the whole
// sandbox world (2,000 vehicles, five simulated OEMs on loopback, a fresh
// SQLite file): listing, eligibility, activation, description, model
// linking and every save. It reports vehicles per second.
func BenchmarkSandboxFirstRun(b *testing.B) {
	b.ReportAllocs()

	var vehicles int
	for b.Loop() {
		dir := b.TempDir()
		var stdout, stderr bytes.Buffer
		code := run([]string{"-sandbox", "-db", filepath.Join(dir, "v.db"), "-sandbox-dir", filepath.Join(dir, "sims"),
			"-report", "json", "-progress", "off", "-log-level", "error"}, &stdout, &stderr, noEnv)
		if code != exitOK {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}

		var rep jsonReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			b.Fatal(err)
		}

		vehicles += rep.Total
	}

	if vehicles != b.N*sandbox.Size() {
		b.Fatalf("ran %d vehicles over %d runs", vehicles, b.N)
	}

	b.ReportMetric(float64(vehicles)/b.Elapsed().Seconds(), "vehicles/s")
}
