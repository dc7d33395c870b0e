package kafka_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// The event schemas (domain/schemas) are checked here rather than in
// package domain, which imports nothing outside the standard library.

var (
	schemasOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	rawSchemas  map[string]map[string]any
	schemasErr  error
)

// eventSchemas compiles every schema once, formats asserted (date,
// date-time, email), as a strict consumer would.
func eventSchemas(t *testing.T) (map[string]*jsonschema.Schema, map[string]map[string]any) {
	t.Helper()
	schemasOnce.Do(func() {
		compiled, rawSchemas = map[string]*jsonschema.Schema{}, map[string]map[string]any{}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		files, err := fs.Glob(domain.Schemas(), "*.json")
		if err != nil {
			schemasErr = err
			return
		}
		for _, f := range files {
			b, err := fs.ReadFile(domain.Schemas(), f)
			if err != nil {
				schemasErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				schemasErr = fmt.Errorf("%s: %w", f, err)
				return
			}
			typ := strings.TrimSuffix(f, ".json")
			if err := c.AddResource(kafka.SchemaURL(typ), doc); err != nil {
				schemasErr = fmt.Errorf("%s: %w", f, err)
				return
			}
			var raw map[string]any
			_ = json.Unmarshal(b, &raw)
			rawSchemas[typ] = raw
		}
		for typ := range rawSchemas {
			s, err := c.Compile(kafka.SchemaURL(typ))
			if err != nil {
				schemasErr = fmt.Errorf("compile %s: %w", typ, err)
				return
			}
			compiled[typ] = s
		}
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return compiled, rawSchemas
}

// validateEvent checks an event's data against its type's schema.
func validateEvent(t *testing.T, typ string, data []byte) error {
	t.Helper()
	compiled, _ := eventSchemas(t)
	s, ok := compiled[typ]
	if !ok {
		return fmt.Errorf("no schema for %s", typ)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// Every event type: a sample with every field set (the approach of
// domain/events_test.go, with enum fields set to one of their values)
// validates against its schema; and the schemas are strict: a field the
// Go type lacks, or a missing required one, is rejected.
func TestEventSchemasAcceptRealEventsAndRejectOthers(t *testing.T) {
	t.Parallel()
	_, raw := eventSchemas(t)
	for _, name := range domain.EventTypes() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			schema, ok := raw[name]
			if !ok {
				t.Fatalf("no schema for %s", name)
			}
			if schema["$id"] != kafka.SchemaURL(name) {
				t.Errorf("$id = %v, want %s (the ce_dataschema of its messages)", schema["$id"], kafka.SchemaURL(name))
			}
			blank, err := domain.DecodeEvent(name, []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.New(reflect.TypeOf(blank)).Elem()
			fillFromSchema(t, v, schema, 0)
			data, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if err := validateEvent(t, name, data); err != nil {
				t.Fatalf("sample %s does not validate: %v", data, err)
			}
			// It decodes back to the same event: the schema describes the
			// Go type's JSON, not some other shape.
			back, err := domain.DecodeEvent(name, data)
			if err != nil || !reflect.DeepEqual(back, v.Interface()) {
				t.Fatalf("sample does not round-trip (%v): %s", err, data)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatal(err)
			}
			fields["notAField"] = json.RawMessage(`1`)
			extra, _ := json.Marshal(fields)
			if validateEvent(t, name, extra) == nil {
				t.Errorf("a field unknown to the type validates: %s", extra)
			}
			delete(fields, "notAField")
			delete(fields, "schoolId")
			missing, _ := json.Marshal(fields)
			if validateEvent(t, name, missing) == nil {
				t.Errorf("an event without schoolId validates: %s", missing)
			}
		})
	}
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// fillFromSchema sets every exported field reachable from v to a value
// that its schema node s allows: the enum's first value, a literal of the
// node's format for types that decode themselves (dates, e-mails,
// instants), else a non-zero value of the Go kind.
func fillFromSchema(t *testing.T, v reflect.Value, s map[string]any, depth int) {
	t.Helper()
	if depth > 8 || !v.CanSet() || s == nil {
		return
	}
	if anyOf, ok := s["anyOf"].([]any); ok && len(anyOf) > 0 {
		s, _ = anyOf[0].(map[string]any)
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		lit := map[string]string{"date": `"2024-05-06"`, "date-time": `"2025-09-01T08:30:00Z"`, "email": `"sample@example.org"`}[fmt.Sprint(s["format"])]
		if lit == "" {
			lit = `"sample"`
		}
		p := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(lit), p.Interface()); err != nil {
			t.Fatalf("%s does not decode %s: %v", v.Type(), lit, err)
		}
		v.Set(p.Elem())
		return
	}
	switch v.Kind() {
	case reflect.String:
		if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
			v.SetString(enum[len(enum)-1].(string))
		} else {
			v.SetString("sample")
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(42.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillFromSchema(t, p.Elem(), s, depth+1)
		v.Set(p)
	case reflect.Slice:
		items, _ := s["items"].(map[string]any)
		sl := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillFromSchema(t, sl.Index(i), items, depth+1)
		}
		v.Set(sl)
	case reflect.Map:
		elem, _ := s["additionalProperties"].(map[string]any)
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		k.SetString("key")
		e := reflect.New(v.Type().Elem()).Elem()
		fillFromSchema(t, e, elem, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		props, _ := s["properties"].(map[string]any)
		fillStruct(t, v, props, depth)
	}
}

func fillStruct(t *testing.T, v reflect.Value, props map[string]any, depth int) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			fillStruct(t, v.Field(i), props, depth+1)
			continue
		}
		node, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("field %s (JSON %q) is not in the schema", f.Name, name)
			continue
		}
		fillFromSchema(t, v.Field(i), node, depth+1)
	}
}
