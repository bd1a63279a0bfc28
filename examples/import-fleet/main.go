// Command import-fleet reads a wanted fleet from a CSV in the old
// spreadsheet's layout and writes it into a store. Rows that cannot be used
// are reported with their line numbers; the others are imported.
//
//	go run ./examples/import-fleet -db vehicleinfo.db fleet.csv
//
// The exit code is 0 when every row was imported, 1 when some rows were
// skipped, and 2 when nothing could be imported.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vehicleinfo/ingest/oem"
	"github.com/vehicleinfo/ingest/store"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("import-fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store DSN (default: DATABASE_URL, else vehicleinfo.db)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: import-fleet [-db DSN] FLEET.csv")
		return 2
	}

	dsn := *db
	if dsn == "" {
		dsn = getenv("DATABASE_URL")
	}

	if dsn == "" {
		dsn = "vehicleinfo.db"
	}

	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "import-fleet:", err)
		return 2
	}
	defer f.Close()

	ff, err := oem.ReadFleetCSV(f)
	if err != nil {
		fmt.Fprintln(stderr, "import-fleet:", err)
		return 2
	}

	for _, w := range ff.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}

	for _, p := range ff.Problems {
		fmt.Fprintln(stderr, "skipped:", p)
	}

	st, err := store.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(stderr, "import-fleet:", err)
		return 2
	}
	defer st.Close()

	if err := st.PutFleet(ctx, ff.Entries); err != nil {
		fmt.Fprintln(stderr, "import-fleet:", err)
		return 2
	}

	fmt.Fprintf(stdout, "imported %d vehicles, skipped %d rows, %d warnings\n",
		len(ff.Entries), len(ff.Problems), len(ff.Warnings))

	if len(ff.Problems) > 0 {
		return 1
	}

	return 0
}
