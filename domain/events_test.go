package domain_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

// These tests hold every registered event type to the public contract
// (DESIGN.md rule 6), so a type added anywhere in the package is checked
// without being listed here.

var (
	eventTypeName = regexp.MustCompile(`^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[1-9][0-9]*$`)
	jsonFieldName = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
)

func TestEventTypes_AreNamedAndHaveAChannel(t *testing.T) {
	t.Parallel()
	types := domain.EventTypes()
	if len(types) == 0 {
		t.Fatal("no event types registered")
	}
	for _, name := range types {
		if !eventTypeName.MatchString(name) {
			t.Errorf("%s: not a versioned name like teacher.created.v1", name)
		}
		ch, ok := domain.ChannelOf(name)
		if !ok || !slices.Contains(domain.Channels(), ch) {
			t.Errorf("%s: channel %q is not one of %v", name, ch, domain.Channels())
		}
		e, err := domain.DecodeEvent(name, []byte("{}"))
		if err != nil {
			t.Errorf("%s: decoding {} failed: %v", name, err)
			continue
		}
		if got := e.EventType(); got != name {
			t.Errorf("%s is registered with a Go type whose EventType() is %s", name, got)
		}
	}
}

func TestEventTypes_RoundTripThroughJSON(t *testing.T) {
	t.Parallel()
	for _, name := range domain.EventTypes() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			blank, err := domain.DecodeEvent(name, []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			typ := reflect.TypeOf(blank)
			sample := reflect.New(typ).Elem()
			fillSample(sample, 0)
			in := sample.Interface().(domain.Event)

			data, err := json.Marshal(in)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			out, err := domain.DecodeEvent(name, data)
			if err != nil {
				t.Fatalf("DecodeEvent(%s): %v", data, err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("round trip changed the event:\n got %#v\nwant %#v\njson %s", out, in, data)
			}
			again, err := json.Marshal(out)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs (%v):\n%s\n%s", err, again, data)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatalf("an event is not a JSON object: %s", data)
			}
			if _, ok := fields["schoolId"]; !ok {
				t.Errorf("no schoolId (tenancy) in %s", data)
			}
			checkJSONNames(t, typ, typ.Name(), map[reflect.Type]bool{})
		})
	}
}

func TestDecodeEvent_UnknownType(t *testing.T) {
	t.Parallel()
	_, err := domain.DecodeEvent("teacher.teleported.v1", []byte("{}"))
	var unknown *domain.UnknownEventTypeError
	if !errors.As(err, &unknown) || unknown.Type != "teacher.teleported.v1" {
		t.Fatalf("err = %v, want an UnknownEventTypeError", err)
	}
}

func TestDecodeEvent_MalformedBody(t *testing.T) {
	t.Parallel()
	if _, err := domain.DecodeEvent(domain.TeacherCreatedType, []byte(`{"teacherId": 7`)); err == nil {
		t.Fatal("a malformed body decoded")
	}
}

// TestEventTypes_PeopleChannels pins the channels of the school, teacher,
// student, class and timetable events (a class is the student roster).
func TestEventTypes_PeopleChannels(t *testing.T) {
	t.Parallel()
	want := map[string]domain.Channel{
		"school.":    domain.ChannelSchool,
		"teacher.":   domain.ChannelTeacher,
		"student.":   domain.ChannelStudent,
		"class.":     domain.ChannelStudent,
		"timetable.": domain.ChannelTimetable,
	}
	seen := map[string]int{}
	for _, name := range domain.EventTypes() {
		for prefix, ch := range want {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			seen[prefix]++
			if got, _ := domain.ChannelOf(name); got != ch {
				t.Errorf("%s is on channel %q, want %q", name, got, ch)
			}
		}
	}
	for prefix := range want {
		if seen[prefix] == 0 {
			t.Errorf("no %s* event registered", prefix)
		}
	}
	for _, name := range []string{
		domain.SchoolRegisteredType, domain.TeacherCreatedType, domain.TeacherPreferencesUpdatedType,
		domain.TeacherDeactivatedType, domain.StudentEnrolledType, domain.StudentAssignedToClassType,
		domain.StudentWithdrawnType, domain.ClassCreatedType, domain.ClassSubjectTeacherAssignedType,
		domain.ClassStudentAddedType, domain.ClassStudentRemovedType, domain.TimetablePublishedType,
	} {
		if _, ok := domain.ChannelOf(name); !ok {
			t.Errorf("%q is not registered", name)
		}
	}
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
)

// sampleLiterals are tried, in order, on types that decode themselves
// (dates, e-mails, instants, validated enums): the first one accepted is
// the sample.
var sampleLiterals = []string{`"2024-05-06"`, `"2025-09-01T08:30:00Z"`, `"sample@example.org"`, `"sample"`, `7`, `{}`}

// fillSample sets every exported field reachable from v to a non-zero
// value, so a field lost in JSON shows up as a difference.
func fillSample(v reflect.Value, depth int) {
	if depth > 6 || !v.CanSet() {
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) || reflect.PointerTo(v.Type()).Implements(jsonUnmarshaler) {
		for _, lit := range sampleLiterals {
			p := reflect.New(v.Type())
			if json.Unmarshal([]byte(lit), p.Interface()) == nil && !p.Elem().IsZero() {
				v.Set(p.Elem())
				return
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("sample")
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
		fillSample(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillSample(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fillSample(v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillSample(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fillSample(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				fillSample(v.Field(i), depth+1)
			}
		}
	}
}

// checkJSONNames requires every exported field of an event, nested ones
// included, to carry an explicit camelCase JSON name: the names are the
// public contract and must not follow Go renames.
func checkJSONNames(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || seen[typ] || typ.Implements(textMarshaler) || typ.Implements(jsonMarshaler) ||
		reflect.PointerTo(typ).Implements(textMarshaler) || reflect.PointerTo(typ).Implements(jsonMarshaler) {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-":
			continue
		case f.Anonymous && name == "":
			checkJSONNames(t, f.Type, path, seen)
			continue
		case !jsonFieldName.MatchString(name):
			t.Errorf("%s.%s: JSON name %q is not explicit camelCase", path, f.Name, name)
		}
		checkJSONNames(t, f.Type, path+"."+f.Name, seen)
	}
}
