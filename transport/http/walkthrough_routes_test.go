package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// TestCommandWalkthrough runs a school's life through the real routes and
// PostgreSQL, sending every command operation's documented example (with
// the IDs of this run): a platform admin registers the school, its admin
// adds teachers, a class and students, publishes a timetable; a teacher
// records performance, attendance and exam results; a guardian asks for
// meetings; an intervention runs its course; a message goes out. Each
// request and response is checked against openapi.json, and at the end the
// audit route shows the events.
func TestCommandWalkthrough(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := newWorld(a) // RegisterSchool, CreateTeacher, CreateClass, EnrollStudent, AssignStudentToClass
	e := a.e

	// run sends the documented example of method target, with set's fields
	// replaced, and expects status.
	run := func(method, target, token string, set map[string]any, status int) (commands.Result, http.Header) {
		t.Helper()
		var body any // none when the operation takes none
		if ex := example(t, method, target, set); ex != nil {
			body = ex
		}
		rec := a.send(call{method: method, target: target, token: token, body: body, valid: true})
		res := result(t, rec, status)
		if rec.Header().Get("ETag") == "" {
			t.Errorf("%s %s: no ETag", method, target)
		}
		return res, rec.Header()
	}
	expect := func(res commands.Result, stream string, version uint64) {
		t.Helper()
		if res.Stream != stream || res.Version != version || res.Position == 0 {
			t.Errorf("result %+v, want stream %s at version %d", res, stream, version)
		}
	}
	school := func(parts ...string) string { return schoolPath(w.school, parts...) }

	// Teachers and the class.
	res, _ := run(http.MethodPut, school("/teachers/", w.math, "/preferences"), w.mathTok, nil, http.StatusOK)
	expect(res, "teacher-"+w.math, 2)
	res, _ = run(http.MethodPut, school("/classes/", w.class, "/subjects/english/teacher"), w.admin,
		map[string]any{"teacherId": w.english}, http.StatusOK)
	expect(res, "class-"+w.class, 3) // created, the first student added, now this

	// A second student in the class.
	res, hdr := run(http.MethodPost, school("/students"), w.admin, map[string]any{"name": "Lina Berg", "guardians": []any{
		map[string]any{"name": "Jonas Berg", "email": "jonas.berg@example.com", "relationship": "father"}}}, http.StatusCreated)
	second := res.ID
	expect(res, "student-"+second, 1)
	if want := school("/students/", second); hdr.Get("Location") != want {
		t.Errorf("Location = %s, want %s", hdr.Get("Location"), want)
	}
	res, _ = run(http.MethodPost, school("/students/", second, "/class-assignment"), w.admin,
		map[string]any{"classId": w.class}, http.StatusOK)
	expect(res, "student-"+second, 2)

	// The timetable.
	res, _ = run(http.MethodPost, school("/timetables"), w.admin, map[string]any{"entries": []any{
		map[string]any{"classId": w.class, "subject": "mathematics", "teacherId": w.math, "day": "monday", "period": 1},
		map[string]any{"classId": w.class, "subject": "english", "teacherId": w.english, "day": "tuesday", "period": 2},
	}}, http.StatusCreated)
	expect(res, "timetable-"+w.school, 1)

	// A teacher records performance; Location names the assessment.
	perf := school("/students/", w.student, "/performance")
	res, hdr = run(http.MethodPost, perf, w.mathTok, nil, http.StatusCreated)
	expect(res, "performance-"+w.student, 1)
	if res.ID != w.student {
		t.Errorf("performance result id = %s, want the student's %s", res.ID, w.student)
	}
	if loc, ok := strings.CutPrefix(hdr.Get("Location"), perf+"/"); !ok || uuid.Validate(loc) != nil {
		t.Errorf("Location = %q, want %s/<assessmentId>", hdr.Get("Location"), perf)
	}

	// Attendance: the register, then an amendment at its Location.
	attendance := school("/classes/", w.class, "/attendance")
	entries := []any{
		map[string]any{"studentId": w.student, "status": "present"},
		map[string]any{"studentId": second, "status": "late", "note": "Bus was late"},
	}
	res, hdr = run(http.MethodPost, attendance, w.mathTok, map[string]any{"entries": entries}, http.StatusCreated)
	register := attendance + "/2026-03-02/1"
	if hdr.Get("Location") != register {
		t.Errorf("Location = %s, want %s", hdr.Get("Location"), register)
	}
	registerStream := res.Stream
	expect(res, registerStream, 1)
	res, _ = run(http.MethodPost, register+"/amendments", w.mathTok, map[string]any{"entries": []any{
		map[string]any{"studentId": second, "status": "excused", "note": "Note from the parent"}}}, http.StatusOK)
	expect(res, registerStream, 2)

	// An exam cycle: scheduled, results recorded by the teacher, published.
	res, _ = run(http.MethodPost, school("/exams"), w.admin, map[string]any{"classIds": []string{w.class}}, http.StatusCreated)
	exam := res.ID
	expect(res, "exam-"+exam, 1)
	res, _ = run(http.MethodPost, school("/exams/", exam, "/results"), w.mathTok, map[string]any{"results": []any{
		map[string]any{"studentId": w.student, "subject": "mathematics", "grade": 72},
		map[string]any{"studentId": second, "subject": "mathematics", "grade": 64.5},
	}}, http.StatusOK)
	expect(res, "exam-"+exam, 2)
	res, _ = run(http.MethodPost, school("/exams/", exam, "/publication"), w.admin, nil, http.StatusOK)
	expect(res, "exam-"+exam, 3)

	// The guardian asks for a meeting; the teacher schedules and holds it.
	meetingBody := map[string]any{"studentId": w.student, "teacherId": w.math, "guardianId": w.guardian}
	res, _ = run(http.MethodPost, school("/meetings"), w.guardTok, meetingBody, http.StatusCreated)
	meeting := res.ID
	expect(res, "meeting-"+meeting, 1)
	res, _ = run(http.MethodPost, school("/meetings/", meeting, "/schedule"), w.mathTok, nil, http.StatusOK)
	expect(res, "meeting-"+meeting, 2)
	// The day of the meeting comes (completing it before is refused).
	e.setNow(exampleNow.AddDate(0, 0, 6).Add(6 * time.Hour))
	w.reissue(e)
	res, _ = run(http.MethodPost, school("/meetings/", meeting, "/completion"), w.mathTok, nil, http.StatusOK)
	expect(res, "meeting-"+meeting, 3)
	// A second one, called off by the guardian.
	res, _ = run(http.MethodPost, school("/meetings"), w.guardTok, meetingBody, http.StatusCreated)
	res, _ = run(http.MethodPost, school("/meetings/", res.ID, "/cancellation"), w.guardTok, nil, http.StatusOK)
	expect(res, res.Stream, 2)

	// An intervention, from opening to closure, by the teacher.
	res, _ = run(http.MethodPost, school("/interventions"), w.mathTok,
		map[string]any{"studentId": w.student, "assignedTo": w.math}, http.StatusCreated)
	intervention := res.ID
	expect(res, "intervention-"+intervention, 1)
	res, _ = run(http.MethodPost, school("/interventions/", intervention, "/follow-ups"), w.mathTok, nil, http.StatusOK)
	expect(res, "intervention-"+intervention, 2)
	res, _ = run(http.MethodPost, school("/interventions/", intervention, "/closure"), w.mathTok, nil, http.StatusOK)
	expect(res, "intervention-"+intervention, 3)

	// A message to the guardian and the teacher.
	res, _ = run(http.MethodPost, school("/messages"), w.admin, map[string]any{
		"recipients": []any{map[string]any{"kind": "guardian", "id": w.guardian}, map[string]any{"kind": "teacher", "id": w.math}},
		"relatedTo":  "student-" + w.student}, http.StatusCreated)
	expect(res, "message-"+res.ID, 1)

	// A maintenance window, scheduled and called off.
	res, _ = run(http.MethodPost, "/v1/maintenance", w.platform, nil, http.StatusCreated)
	expect(res, "maintenance-"+res.ID, 1)
	res, _ = run(http.MethodPost, "/v1/maintenance/"+res.ID+"/cancel", w.platform, nil, http.StatusOK)
	expect(res, "maintenance-"+res.ID, 2)

	// Endings: a teacher leaves, a student is withdrawn (and leaves the roster).
	res, _ = run(http.MethodPost, school("/teachers/", w.english, "/deactivation"), w.admin, nil, http.StatusOK)
	expect(res, "teacher-"+w.english, 2)
	res, _ = run(http.MethodPost, school("/students/", second, "/withdrawal"), w.admin, nil, http.StatusOK)
	expect(res, "student-"+second, 3)
	if got := e.eventTypes("class-" + w.class); got[len(got)-1] != domain.ClassStudentRemovedType {
		t.Errorf("class events after the withdrawal: %v", got)
	}

	// Every command operation of the document was sent.
	doc, _ := spec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, isCommand := op.Extensions["x-command"]; isCommand && !a.ops[op.OperationID] {
				t.Errorf("the walk-through never sends %s %s (%s)", method, path, op.OperationID)
			}
		}
	}

	// The audit route shows what happened, with who did it.
	audit := func(stream string) eventPage {
		t.Helper()
		rec := a.send(call{method: http.MethodGet, target: school("/streams/", stream, "/events"), token: w.admin, valid: true})
		if rec.Code != http.StatusOK {
			t.Fatalf("audit of %s: %d %s", stream, rec.Code, rec.Body)
		}
		var p eventPage
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	types := func(p eventPage) []string {
		var out []string
		for _, ev := range p.Events {
			out = append(out, ev.Type)
		}
		return out
	}
	for stream, want := range map[string][]string{
		"student-" + w.student: {domain.StudentEnrolledType, domain.StudentAssignedToClassType},
		"meeting-" + meeting:   {domain.MeetingRequestedType, domain.MeetingScheduledType, domain.MeetingCompletedType},
		"exam-" + exam:         {domain.ExamScheduledType, domain.ExamResultsRecordedType, domain.ExamResultsPublishedType},
		"intervention-" + intervention: {domain.InterventionOpenedType, domain.InterventionFollowUpRecordedType,
			domain.InterventionClosedType},
		registerStream: {domain.AttendanceRecordedType, domain.AttendanceAmendedType},
	} {
		if got := types(audit(stream)); !slices.Equal(got, want) {
			t.Errorf("events of %s = %v, want %v", stream, got, want)
		}
	}
	p := audit("performance-" + w.student)
	if len(p.Events) != 1 {
		t.Fatalf("performance events: %+v", p)
	}
	if md := p.Events[0].Metadata; md.SchoolID != w.school || md.ActorID != w.math || md.ActorRole != string(commands.RoleTeacher) {
		t.Errorf("performance event metadata = %+v", md)
	}
	// Another school's admin does not see them.
	rec := a.send(call{method: http.MethodGet, target: schoolPath(w.other, "/streams/student-", w.student, "/events"),
		token: w.otherAdmin, valid: true})
	problem(t, rec, http.StatusNotFound)
}
