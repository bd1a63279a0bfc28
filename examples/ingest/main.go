// Command ingest is the main job: it reads the wanted fleet, activates data
// sharing at each OEM for the vehicles that should share (and deactivates
// the others), describes the vehicles, links them to model records and
// stores it all.
//
//	go run ./examples/ingest -sandbox              # no account, no server
//	go run ./examples/ingest -fleet fleet.csv      # connectors from the environment
//	go run ./examples/ingest -models               # print the model metadata table
//
// Connectors open from their environment settings (see the README). The
// store is -db, else DATABASE_URL, else the SQLite file vehicleinfo.db.
// The exit code is 0 when every connector completed, 1 when any failed,
// 2 for bad usage or setup, and 130 when interrupted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/internal/cli"
	"github.com/vehicleinfo/ingest/internal/sandbox"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"

	// The five connectors register themselves.
	_ "github.com/vehicleinfo/ingest/bmw"
	_ "github.com/vehicleinfo/ingest/hm"
	_ "github.com/vehicleinfo/ingest/renault"
	_ "github.com/vehicleinfo/ingest/stellantis"
	_ "github.com/vehicleinfo/ingest/tesla"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// DefaultDB is the embedded store used when neither -db nor DATABASE_URL
// says otherwise.
const DefaultDB = "vehicleinfo.db"

type config struct {
	db             string
	owner          string
	fleet          string
	only           string
	dryRun         bool
	models         bool
	sandbox        bool
	logLevel       string
	logFormat      string
	report         string
	maxActivations int
	progress       string
	sandboxDir     string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole program, with its outside world passed in so tests can
// drive it.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}

		return exitUsage
	}

	prog := newProgress(stderr, cfg.progress)
	logger, err := newLogger(prog, cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return exitUsage
	}

	prog.log = logger
	j := &job{cfg: cfg, stdout: stdout, stderr: prog, getenv: getenv, log: logger, prog: prog}
	ctx, stop := interruptContext(j.say, j.quit)
	defer stop()

	code := j.do(ctx)
	if ctx.Err() != nil {
		// Interrupted, whatever step it stopped (opening the store,
		// importing the fleet, the run itself).
		return exitInterrupted
	}

	return code
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.db, "db", "", "store DSN: postgres://… or a SQLite file (default: DATABASE_URL, else "+DefaultDB+")")
	fs.StringVar(&cfg.owner, "owner", "", "only the vehicles of this fleet owner (exact, case-insensitive)")
	fs.StringVar(&cfg.fleet, "fleet", "", "import the wanted fleet from this CSV before the run")
	fs.StringVar(&cfg.only, "only", "", "comma-separated connectors to run (default: every configured one)")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "print the plan; change nothing at any OEM or in the store")
	fs.BoolVar(&cfg.models, "models", false, "print the model metadata table and exit")
	fs.BoolVar(&cfg.sandbox, "sandbox", false, "run against simulated OEMs on loopback with a seeded fleet")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&cfg.report, "report", "text", "text, or json for the run report as JSON on stdout")
	fs.IntVar(&cfg.maxActivations, "max-activations", activation.DefaultMaxActivations,
		"most activations per connector in one run; a plan above it is refused (-1: no cap)")
	fs.StringVar(&cfg.sandboxDir, "sandbox-dir", "", "where the sandbox's simulators keep their state (default: beside the SQLite file)")
	fs.StringVar(&cfg.progress, "progress", "auto", "auto (live on a terminal, log lines otherwise), live, log or off")

	if err := fs.Parse(args); err != nil {
		return cfg, err
	}

	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ingest: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return cfg, errors.New("usage")
	}

	if cfg.report != "text" && cfg.report != "json" {
		fmt.Fprintf(stderr, "ingest: -report must be text or json, not %q\n", cfg.report)
		return cfg, errors.New("usage")
	}

	if !slices.Contains([]string{"auto", "live", "log", "off"}, cfg.progress) {
		fmt.Fprintf(stderr, "ingest: -progress must be auto, live, log or off, not %q\n", cfg.progress)
		return cfg, errors.New("usage")
	}

	if cfg.maxActivations == 0 {
		fmt.Fprintln(stderr, "ingest: -max-activations 0 would refuse every plan with an activation; "+
			"use -dry-run to change nothing, a positive cap, or -1 for no cap")
		return cfg, errors.New("usage")
	}

	return cfg, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}

	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}

	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// interruptContext is cancelled by the first SIGINT or SIGTERM; a second
// one calls quit and exits at once.
func interruptContext(say func(string), quit func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)

	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				say("interrupted; finishing the batches in flight (interrupt again to quit now)")
				cancel()

				continue
			}

			say("interrupted twice; quitting")
			quit()
			os.Exit(exitInterrupted)
		}
	}()

	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

type job struct {
	cfg    config
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	log    *slog.Logger
	// sb is the running sandbox; tests may start one themselves to read
	// the simulators' counters afterwards.
	sb   *sandbox.Sandbox
	prog *progress
	// fleetFile is what -fleet imported and skipped, for the report.
	fleetFile *fleetFileReport
}

// fleetFileReport is the -fleet import's part of the report.
type fleetFileReport struct {
	File     string   `json:"file"`
	Imported int      `json:"imported"`
	Skipped  []string `json:"skipped"`  // one line per row not imported, naming its line
	Warnings []string `json:"warnings"` // rows imported with a warning
}

// say tells the person running the program something: a plain line on
// stderr with text logs, a log record with JSON logs (so a JSON log reader
// is not broken by it).
func (j *job) say(msg string) {
	if j.cfg.logFormat == "json" {
		j.log.Warn(msg)
		return
	}

	fmt.Fprintln(j.stderr, "ingest: "+msg)
}

// quit runs on a second interrupt, just before the process exits: the
// sandbox's simulators save what the OEMs were asked so far, so the next
// run meets the world this one left.
func (j *job) quit() {
	if j.sb != nil {
		if err := j.sb.Save(); err != nil {
			j.log.Error("sandbox: save the simulators' state", "error", err)
		}
	}
}

func (j *job) do(ctx context.Context) int {
	dsn := j.dsn()

	if j.cfg.sandbox && j.sb == nil && !j.cfg.models {
		sb, err := sandbox.Start(sandbox.Options{Dir: j.sandboxDir(dsn)})
		if err != nil {
			fmt.Fprintln(j.stderr, "ingest:", err)
			return exitUsage
		}
		defer func() {
			if err := sb.Close(); err != nil {
				j.log.Error("sandbox: save the simulators' state", "error", err)
			}
		}()

		j.sb = sb
	}

	if j.sb != nil {
		j.announceSandbox(dsn)
		j.getenv = j.sb.Getenv
	}

	// Connectors and -only first: bad usage changes nothing.
	var conns []oem.Connector
	if !j.cfg.models {
		var code int
		if conns, code = j.connectors(); code != exitOK {
			return code
		}
	}

	st, err := store.Open(ctx, dsn, store.WithLogger(j.log))
	if err != nil {
		fmt.Fprintln(j.stderr, "ingest:", err)
		return exitUsage
	}
	defer st.Close()

	if j.cfg.models {
		return j.printModels(ctx, st)
	}

	var wanted oem.Store = st
	if j.sb != nil {
		if wanted, err = j.importEntries(ctx, st, j.sb.World.Fleet, "the sandbox fleet"); err != nil {
			fmt.Fprintln(j.stderr, "ingest:", err)
			return exitFailed
		}
	}

	if j.cfg.fleet != "" {
		if wanted, err = j.importCSV(ctx, wanted, j.cfg.fleet); err != nil {
			fmt.Fprintln(j.stderr, "ingest:", err)
			return exitUsage
		}
	}

	ing, err := oem.NewIngester(wanted, activation.New(activation.Config{
		MaxActivations: j.cfg.maxActivations,
		Logger:         j.log,
	}), conns, oem.WithLogger(j.log), oem.WithProgress(j.prog.update),
		oem.WithPlans(j.printPlan))
	if err != nil {
		fmt.Fprintln(j.stderr, "ingest:", err)
		return exitUsage
	}

	rep, runErr := ing.Run(ctx, oem.RunOptions{Owner: j.cfg.owner, DryRun: j.cfg.dryRun,
		Connectors: splitList(j.cfg.only)})
	j.prog.finish()

	if rep == nil {
		fmt.Fprintln(j.stderr, "ingest:", runErr)
		return exitFailed
	}

	j.printReport(rep)
	if rep.Total == 0 && strings.TrimSpace(j.cfg.owner) != "" {
		j.warnOwner(ctx, wanted)
	}

	switch {
	case rep.Cancelled:
		return exitInterrupted
	case runErr != nil:
		fmt.Fprintln(j.stderr, "ingest:", runErr)
		return exitFailed
	case len(rep.Failed) > 0:
		fmt.Fprintf(j.stderr, "ingest: failed connectors: %s\n", strings.Join(rep.Failed, ", "))
		return exitFailed
	}

	return exitOK
}

func (j *job) sandboxDir(dsn string) string {
	if j.cfg.sandboxDir != "" {
		return j.cfg.sandboxDir
	}

	return sandboxDir(dsn)
}

// announceSandbox says, first thing, that this is a sandbox.
func (j *job) announceSandbox(dsn string) {
	state := "taking up the state of the last run"
	if j.sb.Fresh {
		state = "seeded afresh"
	}

	line := fmt.Sprintf("SANDBOX: simulated OEMs on loopback, no real account is used; %d vehicles, "+
		"simulators %s in %s; store %s", len(j.sb.World.Fleet), state, j.sandboxDir(dsn), redactDSN(dsn))
	if j.cfg.logFormat == "json" {
		j.log.Info(line, "sandbox", true)
	} else {
		fmt.Fprintln(j.stderr, line)
	}
}

// connectors opens every configured connector and checks -only against
// them.
func (j *job) connectors() ([]oem.Connector, int) {
	conns, err := oem.OpenFromEnv(j.getenv, oem.WithConnectorLogger(j.log))
	if err != nil {
		fmt.Fprintln(j.stderr, "ingest: connectors:", err)
		return nil, exitUsage
	}

	if len(conns) == 0 {
		fmt.Fprintln(j.stderr, "ingest: no connector is configured; set a connector's settings (see the README) or use -sandbox")
		return nil, exitUsage
	}

	for _, name := range splitList(j.cfg.only) {
		if !slices.ContainsFunc(conns, func(c oem.Connector) bool { return c.Name() == name }) {
			fmt.Fprintf(j.stderr, "ingest: -only %s: that connector is not configured (configured: %s)\n",
				name, strings.Join(names(conns), ", "))
			return nil, exitUsage
		}
	}

	return conns, exitOK
}

// warnOwner says which owners there are when -owner selected nothing.
func (j *job) warnOwner(ctx context.Context, st oem.Store) {
	all, err := st.Fleet(ctx, oem.FleetFilter{})
	if err != nil {
		return
	}

	seen := map[string]bool{}
	var owners []string
	for _, e := range all {
		if k := strings.ToLower(e.Owner); !seen[k] {
			seen[k] = true
			owners = append(owners, e.Owner)
		}
	}

	slices.Sort(owners)
	j.say(fmt.Sprintf("no wanted vehicle has owner %q (the match is exact, case aside); owners: %s",
		j.cfg.owner, strings.Join(owners, ", ")))
}

func names(conns []oem.Connector) []string {
	out := make([]string, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.Name())
	}

	return out
}

// dsn picks the store: -db, else DATABASE_URL (not in the sandbox, which
// must never touch a real database unless told to with -db), else the
// embedded default.
func (j *job) dsn() string {
	if j.cfg.db != "" {
		return j.cfg.db
	}

	if !j.cfg.sandbox {
		if u := strings.TrimSpace(j.getenv("DATABASE_URL")); u != "" {
			return u
		}
	}

	return DefaultDB
}

// sandboxDir is where the simulators keep their state: beside a SQLite
// file, or in the working directory for a server DSN.
func sandboxDir(dsn string) string {
	if strings.Contains(dsn, "://") {
		return "vehicleinfo-sandbox"
	}

	p := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}

	return filepath.Join(filepath.Dir(p), strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))+"-sandbox")
}

func (j *job) importCSV(ctx context.Context, st oem.Store, path string) (oem.Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fleet file: %w", err)
	}
	defer f.Close()

	ff, err := oem.ReadFleetCSV(f)
	if err != nil {
		return nil, fmt.Errorf("fleet file %s: %w", path, err)
	}

	j.fleetFile = &fleetFileReport{File: path, Imported: len(ff.Entries), Skipped: []string{}, Warnings: []string{}}
	for _, w := range ff.Warnings {
		j.log.Warn("fleet file", "file", path, "warning", w.Error())
		j.fleetFile.Warnings = append(j.fleetFile.Warnings, w.Error())
	}

	for _, p := range ff.Problems {
		j.log.Error("fleet file: row skipped", "file", path, "problem", p.Error())
		j.fleetFile.Skipped = append(j.fleetFile.Skipped, p.Error())
	}

	return j.importEntries(ctx, st, ff.Entries, path)
}

// importEntries writes the entries as the wanted fleet; in a dry run it
// writes nothing and lays them over the store instead.
func (j *job) importEntries(ctx context.Context, st oem.Store, entries []oem.FleetEntry, from string) (oem.Store, error) {
	if j.cfg.dryRun {
		j.log.Info("dry run: fleet not imported, used as given", "from", from, "vehicles", len(entries))
		return &fleetOverlay{Store: st, entries: entries}, nil
	}

	if err := st.PutFleet(ctx, entries); err != nil {
		return nil, fmt.Errorf("import %s: %w", from, err)
	}

	j.log.Info("wanted fleet imported", "from", from, "vehicles", len(entries))

	return st, nil
}

func (j *job) printModels(ctx context.Context, st oem.Store) int {
	models, err := st.Models(ctx)
	if err != nil {
		fmt.Fprintln(j.stderr, "ingest:", err)
		return exitFailed
	}

	if err := cli.PrintModels(j.stdout, models, j.cfg.report == "json"); err != nil {
		fmt.Fprintln(j.stderr, "ingest:", err)
		return exitFailed
	}

	fmt.Fprintf(j.stderr, "%d models with metadata\n", len(models))

	return exitOK
}

// printPlan shows each connector's plan in a dry run: one line per vehicle
// that would change, and the counts.
func (j *job) printPlan(p *oem.Plan) {
	if !j.cfg.dryRun || j.cfg.report == "json" {
		return
	}

	var b strings.Builder
	counts := p.Counts()
	fmt.Fprintf(&b, "plan for %s:", p.Connector)
	for _, a := range oem.Actions() {
		fmt.Fprintf(&b, " %s=%d", a, counts[a])
	}

	b.WriteString("\n")
	for _, it := range p.Items {
		if it.Action == oem.ActionActivate || it.Action == oem.ActionDeactivate {
			fmt.Fprintf(&b, "  %-10s %s  (now %s) %s\n", it.Action, it.VIN, orWord(string(it.Status), "not at the OEM"), it.Reason)
		}
	}

	fmt.Fprint(j.stdout, b.String())
}

// sandboxReport is what the simulators saw, printed beside the run report
// in the sandbox so the two can be compared.
type sandboxReport struct {
	// Requests counts each simulator's requests by endpoint.
	Requests map[string]map[string]int `json:"requests"`
	// StateChanging counts each simulator's enrolments, fleet changes and
	// removals.
	StateChanging map[string]int `json:"state_changing"`
}

func (j *job) printReport(rep *oem.Report) {
	if j.cfg.report == "json" {
		out := struct {
			*oem.Report
			FleetFile *fleetFileReport `json:"fleet_file,omitempty"`
			Sandbox   *sandboxReport   `json:"sandbox,omitempty"`
		}{Report: rep, FleetFile: j.fleetFile}
		if j.sb != nil {
			out.Sandbox = &sandboxReport{Requests: j.sb.Requests(), StateChanging: j.sb.StateChanging()}
		}

		enc := json.NewEncoder(j.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)

		return
	}

	connNames := slices.Sorted(func(yield func(string) bool) {
		for n := range rep.Connectors {
			if !yield(n) {
				return
			}
		}
	})

	mode := ""
	if rep.DryRun {
		mode = " (dry run: nothing changed)"
	}

	if rep.Cancelled {
		mode += " (cancelled: partial)"
	}

	label := fmt.Sprintf("run %d", rep.RunID)
	if rep.DryRun {
		label = "dry run"
	}

	fmt.Fprintf(j.stdout, "%s: %d vehicles in %s%s\n", label, rep.Total,
		(time.Duration(rep.DurationMS) * time.Millisecond).String(), mode)

	tw := tabwriter.NewWriter(j.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tVEHICLES\tDESCRIBED\tSTATUSES\tREQUESTS\tERROR")
	for _, n := range connNames {
		cr := rep.Connectors[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", n, cr.Vehicles, cr.Described, statusLine(cr.Statuses),
			requestLine(cr.Requests), cr.Error)
	}

	_ = tw.Flush()

	for _, n := range connNames {
		if u := rep.Connectors[n].Unsupported; u > 0 {
			fmt.Fprintf(j.stdout, "%s: %d wanted changes it cannot make itself (each vehicle's reason says why)\n", n, u)
		}
	}

	if len(rep.Errors) > 0 {
		kinds := slices.Sorted(func(yield func(string) bool) {
			for k := range rep.Errors {
				if !yield(k) {
					return
				}
			}
		})

		parts := make([]string, 0, len(kinds))
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s=%d", k, rep.Errors[k]))
		}

		fmt.Fprintf(j.stdout, "errors: %s\n", strings.Join(parts, " "))
	}

	if rep.Unroutable > 0 {
		fmt.Fprintf(j.stdout, "unroutable: %d (saved with status error and a reason)\n", rep.Unroutable)
	}

	if f := j.fleetFile; f != nil {
		fmt.Fprintf(j.stdout, "fleet file %s: %d imported, %d rows skipped, %d warnings (see the log)\n",
			f.File, f.Imported, len(f.Skipped), len(f.Warnings))
	}
}

func statusLine(m map[oem.Status]int) string {
	var parts []string
	for _, s := range oem.Statuses() {
		if m[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", s, m[s]))
		}
	}

	return strings.Join(parts, " ")
}

func requestLine(m map[oem.RequestKind]int64) string {
	var parts []string
	for _, k := range oem.RequestKinds() {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}

	return strings.Join(parts, " ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.ToLower(p))
		}
	}

	return out
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}

	return s
}

// redactDSN hides a password in a DSN for printing.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
				return dsn[:i+3] + rest[:colon] + ":[redacted]" + rest[at:]
			}
		}
	}

	return dsn
}

// fleetOverlay answers Fleet with entries laid over the store's own, for a
// dry run that must not import them.
type fleetOverlay struct {
	oem.Store
	entries []oem.FleetEntry
}

func (o *fleetOverlay) Fleet(ctx context.Context, f oem.FleetFilter) ([]oem.FleetEntry, error) {
	stored, err := o.Store.Fleet(ctx, f)
	if err != nil {
		return nil, err
	}

	seen := make(map[oem.VIN]bool, len(o.entries))
	var out []oem.FleetEntry
	for _, e := range o.entries {
		if !seen[e.VIN] && oem.OwnerMatches(f.Owner, e.Owner) {
			seen[e.VIN] = true
			out = append(out, e)
		}
	}

	for _, e := range stored {
		if !seen[e.VIN] {
			out = append(out, e)
		}
	}

	slices.SortFunc(out, func(a, b oem.FleetEntry) int { return strings.Compare(string(a.VIN), string(b.VIN)) })

	return out, nil
}
