package domain

import (
	"embed"
	"io/fs"
)

// The JSON Schema of every event type's data is schemas/<event type>.json
// (draft 2020-12), its $id https://schemas.edusmarthub.dev/events/<event
// type>.json: the public contract of the events (DESIGN.md rule 6),
// published with every Kafka message (ce_dataschema). A schema changes
// with its event type only, which is never changed in place: a new
// version gets a new file. Tests in transport/kafka validate real events
// against them.
//
//go:embed schemas/*.json
var schemas embed.FS

// Schemas is the event schemas: <event type>.json at its root.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemas, "schemas")
	if err != nil {
		panic(err) // "schemas" is a valid path: cannot happen
	}
	return sub
}
