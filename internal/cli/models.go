// Package cli holds what the example programs print alike.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vehicleinfo/ingest/oem"
)

// PrintModels writes the model metadata table the old module's listing
// printed: make, model, type, image URL, warranty km, warranty years and
// capacity, one model a line; or the models as JSON.
func PrintModels(w io.Writer, models []oem.Model, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if models == nil {
			models = []oem.Model{} // [], not null, for an empty store
		}

		return enc.Encode(models)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAKE\tMODEL\tTYPE\tIMAGE URL\tWARRANTY KM\tWARRANTY YEARS\tCAPACITY KWH")
	for _, m := range models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Make, m.Name, m.Type, orDash(m.ImageURL),
			intOrDash(m.WarrantyKm), intOrDash(m.WarrantyYears), kwhOrDash(m.BatteryKWh))
	}

	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}

	return s
}

func intOrDash(n int) string {
	if n <= 0 {
		return "-"
	}

	return fmt.Sprint(n)
}

func kwhOrDash(f float64) string {
	if f <= 0 {
		return "-"
	}

	return fmt.Sprintf("%.1f", f)
}
