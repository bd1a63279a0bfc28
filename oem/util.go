package oem

import (
	"errors"
	"strings"
)

func joinErrors(errs []error) error { return errors.Join(errs...) }

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func equalFoldTrim(a, b string) bool {
	return strings.EqualFold(normalizeSpace(a), normalizeSpace(b))
}
