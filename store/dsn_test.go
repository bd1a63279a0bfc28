package store

import "testing"

func TestParseDSNOneRoundTrip(t *testing.T) {
	t.Parallel()

	for _, c := range []struct{ in, want string }{
		{"postgres://u@db.example:5432/v", "postgres://u@db.example:5432/v?binary_parameters=yes"},
		{"postgres://u@h/v?sslmode=disable", "postgres://u@h/v?sslmode=disable&binary_parameters=yes"},
		{"postgresql://u@h/v?binary_parameters=no", "postgresql://u@h/v?binary_parameters=no"},
		{"host=h dbname=v sslmode=disable", "host=h dbname=v sslmode=disable binary_parameters=yes"},
		{"host=h binary_parameters=no dbname=v", "host=h binary_parameters=no dbname=v"},
	} {
		d, got, _, err := parseDSN(c.in)
		if err != nil || d.name != "postgres" || got != c.want {
			t.Errorf("parseDSN(%q) = %s %q, %v; want postgres %q", c.in, d.name, got, err, c.want)
		}
	}
}
