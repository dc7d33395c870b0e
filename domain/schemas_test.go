package domain_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Every registered event type has its schema, named after it, with the $id
// the Kafka messages point at; and every schema is of a registered type.
func TestSchemas_OnePerEventType(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(domain.Schemas(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, f := range files {
		name := strings.TrimSuffix(f, ".json")
		named = append(named, name)
		if _, ok := domain.ChannelOf(name); !ok {
			t.Errorf("schema %s is of no registered event type", f)
		}
		b, err := fs.ReadFile(domain.Schemas(), f)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			ID     string `json:"$id"`
			Schema string `json:"$schema"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := "https://schemas.edusmarthub.dev/events/" + f; s.ID != want {
			t.Errorf("%s: $id %q, want %q", f, s.ID, want)
		}
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema %q, want draft 2020-12", f, s.Schema)
		}
	}
	for _, name := range domain.EventTypes() {
		if !slices.Contains(named, name) {
			t.Errorf("event type %s has no schema (domain/schemas/%s.json)", name, name)
		}
	}
}
