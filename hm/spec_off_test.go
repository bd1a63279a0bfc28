//go:build !hmspec

package hm_test

import (
	"net/http"
	"testing"
)

// Without the hmspec build tag the spec check is off: kin-openapi's own
// dependencies (go.yaml.in/yaml/v4, go-openapi/jsonpointer, gorilla/mux,
// santhosh-tekuri/jsonschema/v6, go-openapi/swag/jsonname) are not in
// go.mod and go.sum yet, so the check cannot build by default. Run it with
// `go test -tags hmspec ./hm/` once they are (see spec_on_test.go).

const specChecked = false

func specCheck(_ testing.TB, next http.RoundTripper, _ bool) http.RoundTripper { return next }

func specOps(http.RoundTripper) map[string]int { return nil }

func TestSpecCoverage(t *testing.T) {
	t.Skip("SPEC CHECK SKIPPED: build with -tags hmspec once kin-openapi's dependencies are in go.mod " +
		"(see spec_off_test.go)")
}
