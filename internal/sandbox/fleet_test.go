package sandbox

import (
	"errors"
	"testing"

	"github.com/vehicleinfo/ingest/oem"
)

func TestGenerateIsRealistic(t *testing.T) {
	t.Parallel()

	w := Generate(1)
	if len(w.Fleet) != Size() || Size() < 2000 {
		t.Fatalf("fleet has %d vehicles, Size %d; want at least 2000", len(w.Fleet), Size())
	}

	owners := map[string]int{}
	makes := map[string]int{}
	seen := map[oem.VIN]bool{}
	unwanted := 0
	for _, e := range w.Fleet {
		if seen[e.VIN] {
			t.Fatalf("duplicate VIN %s", e.VIN)
		}

		seen[e.VIN] = true
		if _, err := oem.ParseVIN(string(e.VIN)); err != nil {
			t.Fatal(err)
		}

		if err := e.VIN.CheckDigitError(); err != nil {
			t.Fatal(err)
		}

		if e.VIN.Make() == "" {
			t.Fatalf("VIN %s has a WMI the table does not know", e.VIN)
		}

		if oem.NormalizeMake(e.VIN.Make()) != e.Make && !(e.Make == oem.MakeMini && e.VIN.Make() == oem.MakeMini) {
			t.Fatalf("VIN %s: WMI make %q, entry make %q", e.VIN, e.VIN.Make(), e.Make)
		}

		owners[e.Owner]++
		makes[e.Make]++
		if !e.WantActive {
			unwanted++
		}
	}

	if len(owners) < 5 {
		t.Fatalf("owners %v", owners)
	}

	for _, conn := range []string{"bmw", "hm", "stellantis", "tesla", "renault"} {
		if len(w.Specs[conn]) == 0 {
			t.Fatalf("no vehicles for %s", conn)
		}
	}

	if len(w.Specs["hm"]) != share["hm"]+share["renault"] {
		t.Fatalf("hm holds %d, want its own and Renault's", len(w.Specs["hm"]))
	}

	if unwanted == 0 || makes[oem.MakeRenault] == 0 || makes[oem.MakeDacia] == 0 {
		t.Fatalf("mix lacks unwanted vehicles or Renault group makes: %v", makes)
	}

	again := Generate(1)
	if again.Fleet[100].VIN != w.Fleet[100].VIN {
		t.Fatal("Generate is not deterministic")
	}
}

// Two sandboxes over one state directory would overwrite each other's
// world: the second is refused until the first closes.
func TestStartRefusesADirectoryInUse(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	a, err := Start(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := Start(Options{Dir: dir}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Start = %v, want ErrInUse", err)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := Start(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start after Close: %v", err)
	}

	if b.Fresh {
		t.Fatal("the second sandbox did not take up the first one's state")
	}

	b.Close()
}
