// Command models lists the model metadata the company's products show:
// every model with an image URL, a warranty or a capacity, ordered by make,
// model and type. With -cleanup it first deletes the models no vehicle uses
// and that carry no metadata.
//
//	go run ./examples/models -db vehicleinfo.db
//	go run ./examples/models -json
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vehicleinfo/ingest/internal/cli"
	"github.com/vehicleinfo/ingest/store"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store DSN (default: DATABASE_URL, else vehicleinfo.db)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	cleanup := fs.Bool("cleanup", false, "first delete unused models that carry no metadata")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}

	dsn := *db
	if dsn == "" {
		dsn = getenv("DATABASE_URL")
	}

	if dsn == "" {
		dsn = "vehicleinfo.db"
	}

	st, err := store.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(stderr, "models:", err)
		return 2
	}
	defer st.Close()

	if *cleanup {
		n, err := st.CleanupModels(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "models:", err)
			return 1
		}

		fmt.Fprintf(stderr, "deleted %d unused models\n", n)
	}

	models, err := st.Models(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "models:", err)
		return 1
	}

	if err := cli.PrintModels(stdout, models, *asJSON); err != nil {
		fmt.Fprintln(stderr, "models:", err)
		return 1
	}

	return 0
}
