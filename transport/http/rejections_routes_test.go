package httpapi_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// without is m without keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// TestCommandRejections sends bad input, wrong callers and cross-school
// requests to the real routes over PostgreSQL. Each gets the problem it
// should, naming the field at fault, and changes nothing: the streams it
// touches keep their versions and the global log does not move.
func TestCommandRejections(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := newWorld(a)
	e := a.e
	school := func(parts ...string) string { return schoolPath(w.school, parts...) }

	// A second class of the same grade, to move the student to.
	class5B := result(t, a.send(call{method: http.MethodPost, target: school("/classes"), token: w.admin,
		body: example(t, http.MethodPost, school("/classes"), map[string]any{"name": "5B", "subjects": []string{"mathematics"}}), valid: true}), http.StatusCreated).ID

	teachers, classes, students := school("/teachers"), school("/classes"), school("/students")
	perf := school("/students/", w.student, "/performance")
	newTeacher := example(t, http.MethodPost, teachers, map[string]any{"email": "new.teacher@riverside.example"})
	newTeacherStream := "teacher-" + commands.TeacherID(w.school, "new.teacher@riverside.example")
	perfBody := example(t, http.MethodPost, perf, nil)
	studentStreams := []string{"student-" + w.student, "performance-" + w.student, "class-" + w.class, "class-" + class5B}
	otherStreams := []string{"student-" + w.otherStudent, "performance-" + w.otherStudent}

	tests := []struct {
		name   string
		call   call
		status int
		field  string // the field the problem names, if one
		// docRejects: openapi.json refuses the request as well (bad input
		// is bad by the document too). Otherwise the request matches the
		// document and is checked against it.
		docRejects bool
		streams    []string // must not change (and neither may the global log)
	}{
		{
			name:   "unknown field",
			call:   call{method: http.MethodPost, target: teachers, token: w.admin, body: with(newTeacher, "nickname", "Ada")},
			status: http.StatusBadRequest, field: "nickname", docRejects: true, streams: []string{newTeacherStream},
		},
		{
			// encoding/json reports an unknown field by its name only, so
			// bind.go cannot name its parent: "room", not "preferences.room".
			name:   "unknown nested field",
			call:   call{method: http.MethodPost, target: teachers, token: w.admin, body: with(newTeacher, "preferences", map[string]any{"maxClassesPerDay": 4, "room": "B12"})},
			status: http.StatusBadRequest, field: "room", docRejects: true, streams: []string{newTeacherStream},
		},
		{
			name:   "wrong type",
			call:   call{method: http.MethodPost, target: classes, token: w.admin, body: with(example(t, http.MethodPost, classes, nil), "gradeLevel", "five")},
			status: http.StatusBadRequest, field: "gradeLevel", docRejects: true,
		},
		{
			name: "class subject neither a name nor an object",
			call: call{method: http.MethodPost, target: classes, token: w.admin,
				body: with(example(t, http.MethodPost, classes, nil), "subjects", []any{"mathematics", 7})},
			status: http.StatusBadRequest, field: "subjects[1]", docRejects: true,
		},
		{
			name: "class subject with an unknown field",
			call: call{method: http.MethodPost, target: classes, token: w.admin,
				body: with(example(t, http.MethodPost, classes, nil), "subjects", []any{map[string]any{"subject": "art", "room": "B12"}})},
			status: http.StatusBadRequest, field: "subjects[0].room", docRejects: true,
		},
		{
			name:   "grade out of range",
			call:   call{method: http.MethodPost, target: perf, token: w.mathTok, body: with(perfBody, "grade", 101)},
			status: http.StatusBadRequest, field: "grade", docRejects: true, streams: studentStreams,
		},
		{
			name:   "grade missing",
			call:   call{method: http.MethodPost, target: perf, token: w.mathTok, body: without(perfBody, "grade")},
			status: http.StatusBadRequest, field: "grade", docRejects: true, streams: studentStreams,
		},
		{
			name:   "assessedAt not a date-time",
			call:   call{method: http.MethodPost, target: perf, token: w.mathTok, body: with(perfBody, "assessedAt", "yesterday")},
			status: http.StatusBadRequest, field: "assessedAt", docRejects: true, streams: studentStreams,
		},
		{
			name:   "assessedAt in the future",
			call:   call{method: http.MethodPost, target: perf, token: w.mathTok, body: with(perfBody, "assessedAt", "2026-03-05T09:00:00Z")},
			status: http.StatusBadRequest, field: "assessedAt", streams: studentStreams,
		},
		{
			name:   "bad date",
			call:   call{method: http.MethodPost, target: students, token: w.admin, body: with(example(t, http.MethodPost, students, nil), "dateOfBirth", "2015-13-45")},
			status: http.StatusBadRequest, field: "dateOfBirth", docRejects: true,
		},
		{
			name:   "bad UUID in the path",
			call:   call{method: http.MethodPost, target: school("/students/not-a-uuid/withdrawal"), token: w.admin, body: `{}`},
			status: http.StatusBadRequest, field: "studentId", docRejects: true,
		},
		{
			name:   "bad UUID in the body",
			call:   call{method: http.MethodPost, target: school("/students/", w.student, "/class-assignment"), token: w.admin, body: map[string]any{"classId": "5A"}},
			status: http.StatusBadRequest, field: "classId", docRejects: true, streams: studentStreams,
		},
		{
			name: "period in the path not a number",
			call: call{method: http.MethodPost, target: school("/classes/", w.class, "/attendance/2026-03-02/first/amendments"), token: w.mathTok,
				body: example(t, http.MethodPost, school("/classes/", w.class, "/attendance/2026-03-02/1/amendments"), map[string]any{
					"entries": []any{map[string]any{"studentId": w.student, "status": "absent"}}})},
			status: http.StatusBadRequest, field: "period", docRejects: true, streams: studentStreams,
		},
		{
			name:   "not JSON",
			call:   call{method: http.MethodPost, target: teachers, token: w.admin, body: `name=Ada`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			status: http.StatusUnsupportedMediaType, field: "Content-Type", docRejects: true,
		},
		{
			name:   "body over the limit",
			call:   call{method: http.MethodPost, target: teachers, token: w.admin, body: with(newTeacher, "name", strings.Repeat("x", httpapi.DefaultBodyLimit))},
			status: http.StatusRequestEntityTooLarge, streams: []string{newTeacherStream},
		},
		{
			name:   "missing token",
			call:   call{method: http.MethodPost, target: teachers, body: newTeacher, valid: true},
			status: http.StatusUnauthorized, streams: []string{newTeacherStream},
		},
		{
			name:   "teacher creating a teacher",
			call:   call{method: http.MethodPost, target: teachers, token: w.mathTok, body: newTeacher, valid: true},
			status: http.StatusForbidden, streams: []string{newTeacherStream},
		},
		{
			name:   "guardian recording performance",
			call:   call{method: http.MethodPost, target: perf, token: w.guardTok, body: perfBody, valid: true},
			status: http.StatusForbidden, streams: studentStreams,
		},
		{
			// The route lets teachers through; the handler knows this one
			// does not teach the student's mathematics.
			name:   "teacher recording performance of a student they do not teach",
			call:   call{method: http.MethodPost, target: perf, token: w.englishTok, body: perfBody, valid: true},
			status: http.StatusForbidden, streams: studentStreams,
		},
		{
			name: "admin of one school on another school's route",
			call: call{method: http.MethodPost, target: schoolPath(w.other, "/students"), token: w.admin,
				body: example(t, http.MethodPost, students, nil), valid: true},
			status: http.StatusForbidden, streams: otherStreams,
		},
		{
			name: "another school's student named in the body",
			call: call{method: http.MethodPost, target: school("/interventions"), token: w.admin, valid: true,
				body: example(t, http.MethodPost, school("/interventions"), map[string]any{"studentId": w.otherStudent, "assignedTo": w.math})},
			status: http.StatusNotFound, streams: append(otherStreams, "teacher-"+w.math),
		},
		{
			name: "another school's student in the path",
			call: call{method: http.MethodPost, target: school("/students/", w.otherStudent, "/class-assignment"), token: w.admin, valid: true,
				body: map[string]any{"classId": w.class}},
			status: http.StatusNotFound, streams: append(otherStreams, "class-"+w.class),
		},
		{
			name: "If-Match behind the teacher's version",
			call: call{method: http.MethodPut, target: school("/teachers/", w.math, "/preferences"), token: w.admin, valid: true,
				body: example(t, http.MethodPut, school("/teachers/", w.math, "/preferences"), nil), header: map[string]string{"If-Match": `"7"`}},
			status: http.StatusConflict, streams: []string{"teacher-" + w.math},
		},
		{
			// The move writes both rosters before the student: a stale
			// If-Match must stop it before the first.
			name: "If-Match behind the student's version, on a move between classes",
			call: call{method: http.MethodPost, target: school("/students/", w.student, "/class-assignment"), token: w.admin, valid: true,
				body: map[string]any{"classId": class5B}, header: map[string]string{"If-Match": `"1"`}},
			status: http.StatusConflict, streams: studentStreams,
		},
		{
			name: "a class of another grade level",
			call: call{method: http.MethodPost, target: school("/students/", w.student, "/class-assignment"), token: w.admin, valid: true,
				body: map[string]any{"classId": result(t, a.send(call{method: http.MethodPost, target: classes, token: w.admin,
					body: example(t, http.MethodPost, classes, map[string]any{"name": "3A", "gradeLevel": 3, "subjects": []string{"mathematics"}}), valid: true}), http.StatusCreated).ID}},
			status: http.StatusConflict, streams: studentStreams,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the global log must not move while one runs.
			before, head := e.versions(tt.streams...), e.head()
			sub := *a
			sub.t = t
			rec := sub.send(tt.call)
			p := problem(t, rec, tt.status)
			if tt.field != "" && !hasField(p, tt.field) {
				t.Errorf("problem names %v, want %q: %s", p.Errors, tt.field, p.Detail)
			}
			if after := e.versions(tt.streams...); !maps.Equal(after, before) {
				t.Errorf("streams changed: %v -> %v", before, after)
			}
			if h := e.head(); h != head {
				t.Errorf("the log moved from %d to %d: something was written", head, h)
			}
			if tt.docRejects {
				if err := validateRequest(t, request(t, tt.call)); err == nil {
					t.Errorf("openapi.json accepts what the server refuses")
				}
			}
		})
	}
}

func hasField(p httpapi.Problem, field string) bool {
	for _, fe := range p.Errors {
		if fe.Field == field {
			return true
		}
	}
	return false
}

// with is m with key set to v.
func with(m map[string]any, key string, v any) map[string]any {
	out := maps.Clone(m)
	out[key] = v
	return out
}

// TestCommandIdempotencyKey: a retry with the same Idempotency-Key gets
// the first answer and appends nothing, on the real routes; and since the
// key fixes the IDs a create mints, even a retry whose stored answer was
// lost lands on the same aggregate and appends nothing.
func TestCommandIdempotencyKey(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := newWorld(a)
	e := a.e
	classes := schoolPath(w.school, "/classes")
	perf := schoolPath(w.school, "/students/", w.student, "/performance")
	keyed := func(target, token, key string, body map[string]any) call {
		return call{method: http.MethodPost, target: target, token: token, body: body, valid: true,
			header: map[string]string{httpapi.HeaderIdempotencyKey: key}}
	}
	classBody := example(t, http.MethodPost, classes, map[string]any{"name": "5C", "subjects": []string{"mathematics"}})
	perfBody := example(t, http.MethodPost, perf, nil)

	for _, tt := range []struct {
		name    string
		call    call
		stream  func(commands.Result) string
		changed map[string]any // another request under the same key
	}{
		{"CreateClass", keyed(classes, w.admin, "create-5c", classBody),
			func(r commands.Result) string { return "class-" + r.ID }, with(classBody, "subjects", []string{"english"})},
		{"RecordPerformance", keyed(perf, w.mathTok, "quiz-1", perfBody),
			func(commands.Result) string { return "performance-" + w.student }, with(perfBody, "grade", 12)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sub := *a
			sub.t = t
			head := e.head()
			first := sub.send(tt.call)
			res := result(t, first, http.StatusCreated)
			stream := tt.stream(res)
			if res.Stream != stream {
				t.Fatalf("result %+v, want stream %s", res, stream)
			}
			again := sub.send(tt.call)
			if again.Code != first.Code || again.Body.String() != first.Body.String() {
				t.Errorf("replay = %d %s, first %d %s", again.Code, again.Body, first.Code, first.Body)
			}
			if again.Header().Get(httpapi.HeaderIdempotentReplayed) != "true" {
				t.Error("the replay is not marked Idempotent-Replayed")
			}
			if again.Header().Get("Location") != first.Header().Get("Location") {
				t.Errorf("replayed Location %s, first %s", again.Header().Get("Location"), first.Header().Get("Location"))
			}
			if h := e.head(); h != head+1 {
				t.Errorf("the log moved by %d events, want 1", h-head)
			}

			// The same key for another request is refused, writing nothing.
			other := tt.call
			other.body = tt.changed
			problem(t, sub.send(other), http.StatusUnprocessableEntity)
			if h := e.head(); h != head+1 {
				t.Errorf("the refused request moved the log by %d events", h-head-1)
			}

			// The stored answer lost: the command runs again under the same
			// key, mints the same IDs, finds its events and appends nothing.
			if _, err := e.pool.Exec(t.Context(), `DELETE FROM idempotency_keys`); err != nil {
				t.Fatal(err)
			}
			rerun := sub.send(tt.call)
			if got := result(t, rerun, http.StatusCreated); got != res {
				t.Errorf("rerun result %+v, first %+v", got, res)
			}
			if rerun.Header().Get("Location") != first.Header().Get("Location") {
				t.Errorf("rerun Location %s, first %s", rerun.Header().Get("Location"), first.Header().Get("Location"))
			}
			if h := e.head(); h != head+1 {
				t.Errorf("after the rerun the log moved by %d events, want 1", h-head)
			}
		})
	}

	// Each request is counted once, by how it ended.
	metrics := a.send(call{method: http.MethodGet, target: "/metrics"}).Body.String()
	for _, want := range []string{
		`commands_total{command="CreateClass",outcome="ok"} 3`, // newWorld's class, the first and the rerun
		`commands_total{command="CreateClass",outcome="replayed"} 1`,
		`commands_total{command="CreateClass",outcome="invalid"} 1`, // the key reused
		`commands_total{command="RecordPerformance",outcome="ok"} 2`,
		`commands_total{command="RegisterSchool",outcome="ok"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
