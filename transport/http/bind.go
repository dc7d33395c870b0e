package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// bindJSON decodes the request body into dst strictly: a JSON object, no
// unknown fields, the right types, nothing after it. On failure it answers
// with a 400 (413 over the body limit) naming the field, and returns false.
// Unlike gin's ShouldBindJSON, which lets unknown fields through.
func bindJSON(c *gin.Context, dst any) bool {
	if err := decodeBody(c.Request, dst, false); err != nil {
		abortWithError(c, err)
		return false
	}
	return true
}

// decodeBody is bindJSON without the response: it returns a *Problem (or a
// *http.MaxBytesError) describing what is wrong with the body. With
// optional, an empty body is fine and leaves dst alone.
func decodeBody(r *http.Request, dst any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return newProblem(http.StatusUnsupportedMediaType, TypeUnsupportedMedia,
				fmt.Sprintf("Content-Type %q is not JSON: send application/json", ct),
				FieldError{Field: "Content-Type", Message: "must be application/json"})
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		if optional {
			return nil
		}
		return emptyBody()
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return newProblem(http.StatusBadRequest, TypeInvalidRequest, "the request body could not be read")
	}
	// Hand the body back so a later reader (a retry, a log) sees it too.
	r.Body = io.NopCloser(bytes.NewReader(body))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		if optional {
			return nil
		}
		return emptyBody()
	}
	if trimmed[0] != '{' {
		return newProblem(http.StatusBadRequest, TypeInvalidRequest, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err, int64(len(body)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return newProblem(http.StatusBadRequest, TypeInvalidRequest,
			fmt.Sprintf("unexpected data after the JSON object at offset %d", dec.InputOffset()))
	}
	return nil
}

func emptyBody() *Problem {
	return newProblem(http.StatusBadRequest, TypeInvalidRequest, "the request body is empty: send a JSON object")
}

// jsonProblem explains a decoding error in the caller's terms.
func jsonProblem(err error, offset int64) *Problem {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return newProblem(http.StatusBadRequest, TypeInvalidRequest,
			fmt.Sprintf("malformed JSON at offset %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, TypeInvalidRequest,
			fmt.Sprintf("malformed JSON: the body ends early, at offset %d", offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return newProblem(http.StatusBadRequest, TypeInvalidRequest,
			fmt.Sprintf("%s: %s", field, typeMessage(typ)),
			FieldError{Field: field, Message: typeMessage(typ)})
	}
	// The decoder reports unknown fields only by message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return newProblem(http.StatusBadRequest, TypeInvalidRequest,
			fmt.Sprintf("unknown field %q", name),
			FieldError{Field: name, Message: "unknown field"})
	}
	return newProblem(http.StatusBadRequest, TypeInvalidRequest, "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// typeMessage says what the field should have been and what it was.
func typeMessage(e *json.UnmarshalTypeError) string {
	got := e.Value
	if strings.HasPrefix(got, "number ") {
		// A number that does not fit (300 for a uint8, 1.5 for an int).
		return fmt.Sprintf("must be %s, got %s", jsonTypeName(e.Type), strings.TrimPrefix(got, "number "))
	}
	return fmt.Sprintf("must be %s, got %s", jsonTypeName(e.Type), article(got))
}

func jsonTypeName(t reflect.Type) string {
	if t == reflect.TypeFor[uuid.UUID]() {
		return "a UUID string"
	}
	if t.Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer between %d and %d", minInt(t.Bits()), maxInt(t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("an integer between 0 and %d", maxUint(t.Bits()))
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a " + t.String()
}

func minInt(bits int) int64   { return -1 << (bits - 1) }
func maxInt(bits int) int64   { return 1<<(bits-1) - 1 }
func maxUint(bits int) uint64 { return 1<<bits - 1 }

func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "":
		return "something else"
	}
	return "a " + kind
}

// pathUUID parses the path parameter name as a UUID, or returns a 400
// problem naming it.
func pathUUID(c *gin.Context, name string) (uuid.UUID, error) {
	raw := c.Param(name)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		// uuid.Parse also takes braces and urn: forms; the API speaks one.
		return uuid.Nil, badRequest(name, "must be a UUID like 123e4567-e89b-12d3-a456-426614174000, got %q", raw)
	}
	return id, nil
}

// parseUUIDParam is pathUUID for handlers: on a bad value it answers 400
// and returns false.
func parseUUIDParam(c *gin.Context, name string) (uuid.UUID, bool) {
	id, err := pathUUID(c, name)
	if err != nil {
		abortWithError(c, err)
		return uuid.Nil, false
	}
	return id, true
}

// ifMatch reads the If-Match header as the version the target must be at:
// `"7"` (the ETag we send) or a bare 7. Absent means no condition.
func ifMatch(r *http.Request) (*uint64, error) {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return nil, nil
	}
	bad := func(format string, args ...any) error { return badRequest("If-Match", format, args...) }
	if len(vals) > 1 || strings.Contains(vals[0], ",") {
		return nil, bad("give exactly one version")
	}
	raw := strings.TrimSpace(vals[0])
	if strings.HasPrefix(raw, "W/") {
		return nil, bad("a weak ETag cannot be used: send the version as \"N\"")
	}
	s := raw
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s == "" || s[0] == '+' {
		return nil, bad("must be a stream version such as \"3\", got %q", raw)
	}
	return &v, nil
}

// queryUint reads an optional unsigned query parameter within [lo, hi].
func queryUint(c *gin.Context, name string, def, lo, hi uint64) (uint64, error) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, badRequest(name, "must be an integer between %d and %d, got %q", lo, hi, raw)
	}
	return v, nil
}

// uuidField parses a UUID from a body field, or returns a 400 problem
// naming the field. Request structs keep IDs as strings and parse them
// with this, so a bad ID is reported with its field name (a uuid.UUID
// field would fail inside the JSON decoder, which does not say where).
func uuidField(field, raw string) (uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, newProblem(http.StatusBadRequest, TypeValidation,
			fmt.Sprintf("%s: must be a UUID, got %q", field, raw),
			FieldError{Field: field, Message: "must be a UUID"})
	}
	return id, nil
}
