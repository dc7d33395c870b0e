package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/internal/config"
)

// The README's configuration table is the users' reference: every
// variable is in it, with its default.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for line := range strings.SplitSeq(string(readme), "\n") {
		if strings.HasPrefix(line, "| `") {
			key, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			rows[key] = line
		}
	}
	for f := range reflect.TypeFor[config.Config]().Fields() {
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		row, ok := rows[key]
		if !ok {
			t.Errorf("README's configuration table has no row for %s", key)
			continue
		}
		if def, ok := f.Tag.Lookup("envDefault"); ok && !strings.Contains(row, "`"+def+"`") {
			t.Errorf("README's row for %s does not give its default `%s`:\n%s", key, def, row)
		}
	}
}
