// Command renault-via-hm activates Renault Group vehicles through High
// Mobility and describes them through Renault's own B2B API: the two
// connectors composed by the caller, as the module it replaces did.
//
// Renault shares vehicle data through High Mobility, so the hm connector
// enrols the vehicles and lists their clearance status, while the renault
// connector (which cannot activate anything) gives model, version, type,
// first registration and WLTP range. Which connector does what for a VIN
// is decided by oem.DefaultRouting, the same table the Ingester uses; the
// examples/ingest program does the whole job with a store.
//
// Usage:
//
//	renault-via-hm [-wait 1m] [-poll 5s] [-log info] VIN...
//	renault-via-hm -sandbox
//
// Without -sandbox it reads the hm settings (HM_CLIENT_ID,
// HM_CLIENT_SECRET, HM_BASE_URL) and the renault settings (RENAULT_PKCS12
// or RENAULT_PKCS12_FILE, RENAULT_PKCS12_PASSWORD, RENAULT_KID,
// RENAULT_CLIENT_ID, RENAULT_TOKEN_URL, RENAULT_SCOPE, RENAULT_API_URL,
// RENAULT_API_KEY) from the environment. With -sandbox it starts the two
// simulators on loopback with a few demo vehicles and needs no account.
//
// Each line of output is one step for one vehicle:
//
//	activate  VF1AG000064000001  hm       pending
//	status    VF1AG000064000001  hm       active
//	describe  VF1AG000064000001  renault  Renault ZOE, version ZE50, type R135, ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/vehicleinfo/ingest/hm"
	"github.com/vehicleinfo/ingest/hm/hmtest"
	"github.com/vehicleinfo/ingest/internal/simkit"
	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/renault"
	"github.com/vehicleinfo/ingest/renault/renaulttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "renault-via-hm:", err)
		os.Exit(1)
	}
}

// run is the program, with its environment, output and arguments given.
func run(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("renault-via-hm", flag.ContinueOnError)
	fs.SetOutput(errOut)
	sandbox := fs.Bool("sandbox", false, "run against simulators on loopback, with demo vehicles")
	wait := fs.Duration("wait", 0, "how long to wait for pending activations to settle (0: do not wait)")
	poll := fs.Duration("poll", 5*time.Second, "how often to list High Mobility's fleet while waiting")
	level := fs.String("log", "warn", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log: %w", err)
	}

	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: lv}))

	vins, err := parseVINs(fs.Args())
	if err != nil {
		return err
	}

	if *sandbox {
		env, demo, closeSims, err := startSandbox()
		if err != nil {
			return err
		}
		defer closeSims()

		getenv = func(k string) string { return env[k] }
		if len(vins) == 0 {
			vins = demo
		}

		if *wait == 0 {
			*wait = 10 * time.Second
		}
	}

	if len(vins) == 0 {
		return errors.New("no VINs given (or use -sandbox)")
	}

	conns, err := openConnectors(getenv, log)
	if err != nil {
		return err
	}

	p := &printer{w: out}
	plan := route(vins, p)

	for _, name := range slices.Sorted(maps.Keys(plan.activate)) {
		if err := activate(ctx, conns[name], plan.activate[name], *wait, *poll, p); err != nil {
			return err
		}
	}

	for _, name := range slices.Sorted(maps.Keys(plan.describe)) {
		if err := describe(ctx, conns[name], plan.describe[name], p); err != nil {
			return err
		}
	}

	return nil
}

func parseVINs(args []string) ([]oem.VIN, error) {
	var vins []oem.VIN
	for _, a := range args {
		for _, s := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' }) {
			v, err := oem.ParseVIN(s)
			if err != nil {
				return nil, err
			}

			if !slices.Contains(vins, v) {
				vins = append(vins, v)
			}
		}
	}

	return vins, nil
}

// openConnectors opens the two connectors from the settings, with the
// program's logger.
func openConnectors(getenv func(string) string, log *slog.Logger) (map[string]oem.Connector, error) {
	hcfg, err := hm.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}

	hcfg.Logger = log
	hc, err := hm.New(hcfg)
	if err != nil {
		return nil, err
	}

	rcfg, err := renault.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}

	rcfg.Logger = log
	rc, err := renault.New(rcfg)
	if err != nil {
		return nil, err
	}

	return map[string]oem.Connector{hc.Name(): hc, rc.Name(): rc}, nil
}

// plan is which connector activates and which describes each VIN.
type plan struct {
	activate map[string][]oem.VIN
	describe map[string][]oem.VIN
}

// route sorts the VINs by connector with the default routing. A VIN the
// routing does not send to these two connectors is reported and skipped.
func route(vins []oem.VIN, p *printer) plan {
	routing := oem.DefaultRouting()
	pl := plan{activate: map[string][]oem.VIN{}, describe: map[string][]oem.VIN{}}
	open := func(name string) bool { return name == hm.Name || name == renault.Name }

	for _, vin := range vins {
		rt, ok := routing.Route(oem.FleetEntry{VIN: vin})
		if !ok || !open(rt.Activate) || !open(rt.Describe) {
			p.line("skip", vin, "-", fmt.Sprintf("make %q is not served through hm and renault", vin.Make()))
			continue
		}

		pl.activate[rt.Activate] = append(pl.activate[rt.Activate], vin)
		pl.describe[rt.Describe] = append(pl.describe[rt.Describe], vin)
	}

	return pl
}

// activate enrols vins through c, then lists c's fleet until none of them
// is pending or wait has passed.
func activate(ctx context.Context, c oem.Connector, vins []oem.VIN, wait, poll time.Duration,
	p *printer) error {
	res, err := c.Activate(ctx, vins)
	if err != nil {
		return fmt.Errorf("activate through %s: %w", c.Name(), err)
	}

	for _, r := range res {
		if r.Err != nil {
			p.line("activate", r.VIN, c.Name(), "error: "+r.Err.Error())
			continue
		}

		p.line("activate", r.VIN, c.Name(), string(r.Status))
	}

	deadline := time.Now().Add(wait)
	for {
		status, err := statuses(ctx, c, vins)
		if err != nil {
			return err
		}

		pending := 0
		for _, vin := range vins {
			if status[vin].Status == oem.StatusPending {
				pending++
			}
		}

		if pending == 0 || !time.Now().Add(poll).Before(deadline) {
			for _, vin := range vins {
				o, ok := status[vin]
				switch {
				case !ok:
					p.line("status", vin, c.Name(), "not listed")
				case o.Reason != "":
					p.line("status", vin, c.Name(), fmt.Sprintf("%s (%s)", o.Status, o.Reason))
				default:
					p.line("status", vin, c.Name(), string(o.Status))
				}
			}

			return nil
		}

		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// statuses lists c's fleet and keeps the records of vins.
func statuses(ctx context.Context, c oem.Connector, vins []oem.VIN) (map[oem.VIN]oem.Observed, error) {
	out := make(map[oem.VIN]oem.Observed, len(vins))
	for o, err := range c.Fleet(ctx) {
		if err != nil {
			if _, ok := oem.AsVehicleError(err); ok {
				continue
			}

			return nil, fmt.Errorf("list %s: %w", c.Name(), err)
		}

		if slices.Contains(vins, o.VIN) {
			out[o.VIN] = o
		}
	}

	return out, nil
}

// describe prints what c says about vins.
func describe(ctx context.Context, c oem.Connector, vins []oem.VIN, p *printer) error {
	for info, err := range c.Describe(ctx, vins) {
		if err != nil {
			ve, ok := oem.AsVehicleError(err)
			if !ok {
				return fmt.Errorf("describe through %s: %w", c.Name(), err)
			}

			p.line("describe", ve.VIN, c.Name(), "error: "+ve.Err.Error())

			continue
		}

		p.line("describe", info.VIN, c.Name(), summary(info))
	}

	return nil
}

// summary is one vehicle's description in words.
func summary(info oem.Info) string {
	name := strings.TrimSpace(info.Make + " " + info.Model)
	if name == "" {
		name = "unknown model"
	}

	parts := []string{name}
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+" "+v)
		}
	}

	add("version", info.Version)
	add("type", info.Type)
	if info.RangeKm > 0 {
		add("range", fmt.Sprintf("%d km", info.RangeKm))
	}

	if info.BatteryKWh > 0 {
		add("battery", fmt.Sprintf("%g kWh", info.BatteryKWh))
	}

	if !info.FirstRegistration.IsZero() {
		add("first registration", info.FirstRegistration.Format("2006-01-02"))
	}

	for _, w := range info.Warnings {
		add("warning:", w)
	}

	return strings.Join(parts, ", ")
}

// printer writes the output lines.
type printer struct{ w io.Writer }

func (p *printer) line(step string, vin oem.VIN, conn, text string) {
	fmt.Fprintf(p.w, "%-9s %s  %-8s %s\n", step, vin, conn, text)
}

// startSandbox starts the High Mobility and Renault simulators on loopback
// with the same demo vehicles (High Mobility approves them after a moment)
// and returns the settings that point the connectors at them.
func startSandbox() (env map[string]string, vins []oem.VIN, closeSims func(), err error) {
	reg := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	specs := []simkit.Spec{
		{VIN: "VF1AG000064000001", Make: oem.MakeRenault, Model: "ZOE", Version: "ZE50", Type: "R135",
			Powertrain: "bev", BatteryKWh: 52, RangeKm: 395, FirstReg: reg(2021, 3, 15)},
		{VIN: "VF1AG000064000002", Make: oem.MakeRenault, Model: "ZOE", Version: "ZE40", Type: "R110",
			Powertrain: "bev", BatteryKWh: 41, RangeKm: 316, FirstReg: reg(2019, 9, 2)},
		{VIN: "VF1RCB00064000003", Make: oem.MakeRenault, Model: "MEGANE E-TECH", Version: "EV60",
			Type: "220hp optimum charge", Powertrain: "bev", BatteryKWh: 60, RangeKm: 470,
			FirstReg: reg(2023, 1, 9)},
		{VIN: "UU1DBA00064000004", Make: oem.MakeDacia, Model: "Spring", Powertrain: "bev",
			BatteryKWh: 26.8, RangeKm: 230, FirstReg: reg(2022, 6, 20)},
	}

	for i := range specs {
		v := oem.VIN(specs[i].VIN).WithCheckDigit()
		specs[i].VIN = string(v)
		specs[i].Outcome, specs[i].After = simkit.OutcomeApprove, 300*time.Millisecond
		vins = append(vins, v)
	}

	// The last one is refused by the driver, to show a rejection.
	specs[len(specs)-1].Outcome, specs[len(specs)-1].Reason = simkit.OutcomeReject, "driver declined"

	hs, err := hmtest.New(hmtest.Options{})
	if err != nil {
		return nil, nil, nil, err
	}

	rs, err := renaulttest.New(renaulttest.Options{MessyCodes: true})
	if err != nil {
		_ = hs.Close()
		return nil, nil, nil, err
	}

	// High Mobility knows the vehicles (it can enrol them); Renault's API
	// describes them.
	hs.Add(specs...)
	rs.Add(specs...)

	env = rs.Env()
	for k, v := range hs.Env() {
		env[k] = v
	}

	return env, vins, func() { _ = rs.Close(); _ = hs.Close() }, nil
}
