package activation_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vehicleinfo/ingest/activation"
	"github.com/vehicleinfo/ingest/oem"
)

// ExampleActivator_Plan plans without calling anything: what a dry run
// shows.
func ExampleActivator_Plan() {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	vin := func(s string) oem.VIN { return oem.MustParseVIN(s).WithCheckDigit() }
	a := activation.New(activation.Config{RejectedCooldown: 7 * 24 * time.Hour})

	p, err := a.Plan(context.Background(), oem.PlanInput{Connector: "hm", Now: now,
		Candidates: []oem.Candidate{
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000001"), WantActive: true}},
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000002"), WantActive: true},
				Observed: &oem.Observed{Status: oem.StatusPending}},
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000003"), WantActive: true},
				Observed: &oem.Observed{Status: oem.StatusRejected,
					ChangedAt: now.Add(-48 * time.Hour)}},
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000004"), WantActive: false},
				Observed: &oem.Observed{Status: oem.StatusActive}},
		}})
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, it := range p.Items {
		fmt.Printf("%s %-10s %s\n", it.VIN, it.Action, it.Reason)
	}

	// A plan above the cap is refused as a whole.
	_, err = activation.New(activation.Config{MaxActivations: 1}).Plan(context.Background(),
		oem.PlanInput{Connector: "hm", Now: now, Candidates: []oem.Candidate{
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000005"), WantActive: true}},
			{Entry: oem.FleetEntry{VIN: vin("WF0AXXGCHA0000006"), WantActive: true}},
		}})
	fmt.Println(errors.Is(err, oem.ErrActivationCap), err)

	// Output:
	// WF0AXXGC1A0000001 activate   wanted and not active
	// WF0AXXGC3A0000002 wait       pending at the OEM; not requested again
	// WF0AXXGC5A0000003 cooldown   rejected; retried in 5d
	// WF0AXXGC7A0000004 deactivate not wanted and active
	// true hm: plan has 2 activations, more than the cap of 1 per run; nothing was activated
}
