package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vehicleinfo/ingest/internal/sandbox"
	"github.com/vehicleinfo/ingest/internal/testdb"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

// jsonReport is the -report json output as scripts read it.
type jsonReport struct {
	Total      int            `json:"total"`
	Cancelled  bool           `json:"cancelled"`
	DurationMS int64          `json:"duration_ms"`
	Errors     map[string]int `json:"errors"`
	Failed     []string       `json:"failed"`
	Connectors map[string]struct {
		Vehicles int              `json:"vehicles"`
		Statuses map[string]int   `json:"statuses"`
		Requests map[string]int64 `json:"requests"`
	} `json:"connectors"`
	FleetFile *struct {
		Imported int      `json:"imported"`
		Skipped  []string `json:"skipped"`
	} `json:"fleet_file"`
	Sandbox *struct {
		Requests      map[string]map[string]int `json:"requests"`
		StateChanging map[string]int            `json:"state_changing"`
	} `json:"sandbox"`
}

func noEnv(string) string { return "" }

// runSandbox runs the main job in-process against the sandbox whose state
// is in dir, with the store at dsn.
func runSandbox(t *testing.T, dsn, dir string, extra ...string) (int, jsonReport, string) {
	t.Helper()

	var stdout, stderr bytes.Buffer
	args := append([]string{"-sandbox", "-db", dsn, "-sandbox-dir", dir, "-report", "json", "-progress", "off", "-log-level", "warn"}, extra...)
	code := run(args, &stdout, &stderr, noEnv)

	var rep jsonReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON (exit %d): %v\nstdout: %.2000s\nstderr: %.2000s", code, err, stdout.String(), stderr.String())
	}

	return code, rep, stderr.String()
}

func sum(m map[string]int64, kinds ...string) int64 {
	var n int64
	for _, k := range kinds {
		n += m[k]
	}

	return n
}

func TestSandboxEndToEndSQLite(t *testing.T) {
	t.Parallel()

	dsn := filepath.Join(t.TempDir(), "vehicleinfo.db")
	testSandboxEndToEnd(t, dsn)
}

func TestSandboxEndToEndPostgres(t *testing.T) {
	t.Parallel()

	dsn := testdb.PostgresDSN(t)
	testSandboxEndToEnd(t, dsn)
}

func testSandboxEndToEnd(t *testing.T, dsn string) {
	dir := t.TempDir()
	code, rep, stderr := runSandbox(t, dsn, dir)
	if code != exitOK {
		t.Fatalf("first run exit %d, failed %v\n%s", code, rep.Failed, stderr)
	}

	if !strings.HasPrefix(stderr, "SANDBOX:") {
		t.Fatalf("the first line must say it is a sandbox: %.200q", stderr)
	}

	if rep.Total != sandbox.Size() || rep.Cancelled || len(rep.Failed) != 0 {
		t.Fatalf("total %d (want %d), cancelled %v, failed %v", rep.Total, sandbox.Size(), rep.Cancelled, rep.Failed)
	}

	// Every vehicle ends in exactly one status of exactly one activating
	// connector.
	statuses := 0
	for _, c := range rep.Connectors {
		for _, n := range c.Statuses {
			statuses += n
		}
	}

	if statuses != rep.Total {
		t.Fatalf("statuses add up to %d, want %d", statuses, rep.Total)
	}

	// The report's request counts are what the simulators saw, connector
	// by connector.
	for name, c := range rep.Connectors {
		var reported int64
		for _, n := range c.Requests {
			reported += n
		}

		seen := 0
		for _, n := range rep.Sandbox.Requests[name] {
			seen += n
		}

		if int64(seen) != reported {
			t.Errorf("%s: report counts %d requests, its simulator saw %d (%v)", name, reported, seen, rep.Sandbox.Requests[name])
		}
	}

	first := 0
	for _, n := range rep.Sandbox.StateChanging {
		first += n
	}

	if first == 0 {
		t.Fatal("the first run changed nothing at any OEM")
	}

	checkStore(t, dsn)

	// Again: the world is as the first run left it, so nothing is asked
	// of any OEM that changes state.
	code, rep2, stderr := runSandbox(t, dsn, dir)
	if code != exitOK {
		t.Fatalf("second run exit %d\n%s", code, stderr)
	}

	for name, c := range rep2.Connectors {
		if n := sum(c.Requests, "activation", "deactivation"); n != 0 {
			t.Errorf("second run: %s made %d activation/deactivation requests", name, n)
		}

		if n := rep2.Sandbox.StateChanging[name]; n != 0 {
			t.Errorf("second run: %s simulator saw %d state-changing requests (%v)", name, n, rep2.Sandbox.Requests[name])
		}
	}

	// A dry run changes nothing at the OEMs and writes nothing.
	before := snapshot(t, dsn)
	code, rep3, stderr := runSandbox(t, dsn, dir, "-dry-run")
	if code != exitOK {
		t.Fatalf("dry run exit %d\n%s", code, stderr)
	}

	for name, n := range rep3.Sandbox.StateChanging {
		if n != 0 {
			t.Errorf("dry run: %s simulator saw %d state-changing requests", name, n)
		}
	}

	if after := snapshot(t, dsn); after != before {
		t.Errorf("dry run wrote to the store:\nbefore %s\nafter  %s", before, after)
	}
}

// checkStore asserts the store holds every vehicle with a status, the
// active ones linked to a model, and a history.
func checkStore(t *testing.T, dsn string) {
	t.Helper()

	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	vs, err := st.Vehicles(ctx, oem.VehicleQuery{})
	if err != nil {
		t.Fatal(err)
	}

	if len(vs) != sandbox.Size() {
		t.Fatalf("store holds %d vehicles, want %d", len(vs), sandbox.Size())
	}

	linked, active := 0, 0
	for _, v := range vs {
		if !v.Status.Valid() {
			t.Fatalf("%s has status %q", v.VIN, v.Status)
		}

		if v.Status == oem.StatusActive {
			active++
			if v.ModelID != 0 && v.Model != "" {
				linked++
			}
		}
	}

	if active == 0 || linked < active*9/10 {
		t.Fatalf("%d of %d active vehicles linked to a model", linked, active)
	}

	models, err := st.Models(ctx)
	if err != nil || len(models) == 0 {
		t.Fatalf("models: %d, %v", len(models), err)
	}

	withHistory := 0
	for _, v := range vs[:200] {
		h, err := st.History(ctx, v.VIN)
		if err != nil {
			t.Fatal(err)
		}

		if len(h) > 0 {
			withHistory++
		}
	}

	if withHistory == 0 {
		t.Fatal("no vehicle has a history")
	}
}

// snapshot summarises what the store holds, to compare before and after.
func snapshot(t *testing.T, dsn string) string {
	t.Helper()

	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var b strings.Builder
	for _, q := range []string{
		"SELECT count(*) FROM vehicle", "SELECT count(*) FROM vehicle_activation_history",
		"SELECT count(*) FROM runs", "SELECT count(*) FROM vehicle_model", "SELECT count(*) FROM wanted_fleet",
		"SELECT max(updated_at) FROM vehicle",
	} {
		var v any
		if err := st.DB().QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}

		b.WriteString(strings.TrimPrefix(q, "SELECT "))
		b.WriteString("=")
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(string(must(json.Marshal(v))), "\n", "")))
		b.WriteString(" ")
	}

	return b.String()
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}

	return b
}

// TestInterruptAndResume interrupts a real run of the program with SIGINT
// in the middle of activation, expects exit code 130 and a partial report,
// and checks that the next run completes the work asking no OEM for the
// same change twice: the two runs together make exactly the state-changing
// requests one uninterrupted run makes.
func TestInterruptAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}

	t.Parallel()

	bin := filepath.Join(t.TempDir(), "ingest")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// The reference: one uninterrupted run of the same world.
	refDir := t.TempDir()
	ref := runBinary(t, bin, refDir, false)
	if ref.code != exitOK {
		t.Fatalf("reference run exit %d\n%s", ref.code, ref.stderr)
	}

	want := 0
	for _, n := range ref.rep.Sandbox.StateChanging {
		want += n
	}

	dir := t.TempDir()
	first := runBinary(t, bin, dir, true)
	if first.code != exitInterrupted {
		t.Fatalf("interrupted run exit %d, want %d\n%s", first.code, exitInterrupted, first.stderr)
	}

	if !first.rep.Cancelled {
		t.Fatal("the interrupted run's report is not marked cancelled")
	}

	second := runBinary(t, bin, dir, false)
	if second.code != exitOK || second.rep.Cancelled {
		t.Fatalf("resumed run exit %d\n%s", second.code, second.stderr)
	}

	got := 0
	for _, r := range []result{first, second} {
		for _, n := range r.rep.Sandbox.StateChanging {
			got += n
		}
	}

	if got != want {
		t.Fatalf("interrupted + resumed runs made %d state-changing requests, one run makes %d", got, want)
	}

	if second.rep.Total != sandbox.Size() {
		t.Fatalf("resumed total %d", second.rep.Total)
	}
}

type result struct {
	code   int
	rep    jsonReport
	stderr string
}

// runBinary runs the built program in dir; with interrupt it sends SIGINT
// once the run is applying changes.
func runBinary(t *testing.T, bin, dir string, interrupt bool) result {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, bin, "-sandbox", "-report", "json", "-progress", "log", "-log-level", "info")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL=")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var stderr strings.Builder
	sent := false
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if interrupt && !sent && strings.Contains(line, "phase=applying") && strings.Contains(line, "connector=bmw") {
			_ = cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}

	_, _ = io.Copy(io.Discard, errPipe)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}

	if interrupt && !sent {
		t.Fatalf("never saw the applying phase to interrupt\n%s", stderr.String())
	}

	var rep jsonReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON (exit %d): %v\n%.2000s\n%s", code, err, stdout.String(), stderr.String())
	}

	return result{code: code, rep: rep, stderr: stderr.String()}
}

// Two runs at once against one store and the same OEMs ask no OEM twice
// for the same change: together they make exactly the state-changing
// requests one run makes (the store's run locks keep them apart).
func TestConcurrentRunsAskOnce(t *testing.T) {
	t.Parallel()

	dsns := map[string]string{"sqlite": filepath.Join(t.TempDir(), "v.db")}
	if os.Getenv("VEHICLEINFO_TEST_DATABASE_URL") != "" {
		dsns["postgres"] = testdb.PostgresDSN(t)
	}

	// The reference: one run on a fresh world.
	ref := startSandbox(t)
	if code := runWith(t, ref, filepath.Join(t.TempDir(), "ref.db")); code != exitOK {
		t.Fatalf("reference run exit %d", code)
	}

	want := total(ref.StateChanging())

	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			sb := startSandbox(t)
			codes := make(chan int, 2)
			for range 2 {
				go func() { codes <- runWith(t, sb, dsn) }()
			}

			for range 2 {
				if code := <-codes; code != exitOK && code != exitFailed {
					t.Errorf("exit %d", code)
				}
			}

			if got := total(sb.StateChanging()); got != want {
				t.Fatalf("two runs at once made %d state-changing requests, one run makes %d", got, want)
			}
		})
	}
}

func startSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()

	sb, err := sandbox.Start(sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { sb.Close() })

	return sb
}

// runWith runs the main job in-process against a running sandbox.
func runWith(t *testing.T, sb *sandbox.Sandbox, dsn string) int {
	t.Helper()

	var stdout, stderr bytes.Buffer
	cfg, err := parseFlags([]string{"-sandbox", "-db", dsn, "-report", "json", "-progress", "off"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}

	logger, _ := newLogger(&stderr, "error", "text")
	prog := newProgress(&stderr, "off")
	j := &job{cfg: cfg, stdout: &stdout, stderr: prog, getenv: noEnv, log: logger, prog: prog, sb: sb}

	code := j.do(context.Background())
	if code != exitOK {
		t.Logf("exit %d: %s", code, stderr.String())
	}

	return code
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}

	return n
}

// Rows of a -fleet file that cannot be used are in the JSON report, each
// naming its line, and the other rows are imported.
func TestFleetFileProblemsInReport(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	csv := filepath.Join(dir, "fleet.csv")
	body := "vin;owner;activation;start date\n" +
		" wba8e9g50gnt12345 ;Ayvens;TRUE;03/04/2024\n" +
		"WBA8E9G50GNTO2345;Ayvens;TRUE;\n"
	if err := os.WriteFile(csv, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}

	code, rep, stderr := runSandbox(t, filepath.Join(dir, "v.db"), filepath.Join(dir, "sims"), "-fleet", csv, "-dry-run")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}

	if rep.FleetFile == nil || rep.FleetFile.Imported != 1 || len(rep.FleetFile.Skipped) != 1 ||
		!strings.Contains(rep.FleetFile.Skipped[0], "line 3") {
		t.Fatalf("fleet_file = %+v", rep.FleetFile)
	}
}
