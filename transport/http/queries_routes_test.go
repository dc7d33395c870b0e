package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// richWorld is newWorld with one of everything the read models show, all
// through the command API, and the read models caught up.
type richWorld struct {
	world
	a                              *api
	second                         string // a second student of the class
	secondGuardian, secondGuardTok string // the second student's guardian
	loner                          string // a student in no class
	stranger, strangerTok          string // the loner's guardian: another family
	exam, meeting, intervention    string
	message                        string
}

// Names and e-mails of the world's people: no answer to someone who may
// not see them may contain them.
var worldSecrets = []string{"Sam Okafor", "ngozi.okafor", "Lina Berg", "jonas.berg", "Ada Lovelace", "ada.lovelace"}

func newRichWorld(t *testing.T, o options) *richWorld {
	t.Helper()
	o.readModels, o.bare = true, true
	a := newAPIWith(t, o)
	rw := &richWorld{world: newWorld(a), a: a}
	w := &rw.world
	school := func(parts ...string) string { return schoolPath(w.school, parts...) }
	post := func(token, target string, set map[string]any, status int) commands.Result {
		t.Helper()
		var body any // none when the operation takes none
		if ex := example(t, http.MethodPost, target, set); ex != nil {
			body = ex
		}
		return result(t, a.send(call{method: http.MethodPost, target: target, token: token, body: body, valid: true}), status)
	}

	rw.second = post(w.admin, school("/students"), map[string]any{"name": "Lina Berg", "guardians": []any{
		map[string]any{"name": "Jonas Berg", "email": "jonas.berg@example.com", "relationship": "father"}}}, http.StatusCreated).ID
	post(w.admin, school("/students/", rw.second, "/class-assignment"), map[string]any{"classId": w.class}, http.StatusOK)
	rw.secondGuardian = commands.GuardianID(w.school, "jonas.berg@example.com")
	rw.secondGuardTok = a.e.token(rw.secondGuardian, w.school, commands.RoleGuardian)
	rw.loner = post(w.admin, school("/students"), map[string]any{"name": "Noor Haddad", "guardians": []any{
		map[string]any{"name": "Rami Haddad", "email": "rami.haddad@example.com", "relationship": "father"}}}, http.StatusCreated).ID
	rw.stranger = commands.GuardianID(w.school, "rami.haddad@example.com")
	rw.strangerTok = a.e.token(rw.stranger, w.school, commands.RoleGuardian)

	post(w.admin, school("/timetables"), map[string]any{"entries": []any{
		map[string]any{"classId": w.class, "subject": "mathematics", "teacherId": w.math, "day": "monday", "period": 1}}}, http.StatusCreated)
	perf := school("/students/", w.student, "/performance")
	post(w.mathTok, perf, map[string]any{"grade": 55, "assessedAt": "2026-03-02T10:00:00Z"}, http.StatusCreated)
	post(w.mathTok, perf, nil, http.StatusCreated)
	post(w.mathTok, school("/classes/", w.class, "/attendance"), map[string]any{"entries": []any{
		map[string]any{"studentId": w.student, "status": "present"},
		map[string]any{"studentId": rw.second, "status": "absent"}}}, http.StatusCreated)
	rw.exam = post(w.admin, school("/exams"), map[string]any{"classIds": []string{w.class}}, http.StatusCreated).ID
	post(w.mathTok, school("/exams/", rw.exam, "/results"), map[string]any{"results": []any{
		map[string]any{"studentId": w.student, "subject": "mathematics", "grade": 72},
		map[string]any{"studentId": rw.second, "subject": "mathematics", "grade": 64.5}}}, http.StatusOK)
	post(w.admin, school("/exams/", rw.exam, "/publication"), nil, http.StatusOK)
	rw.meeting = post(w.guardTok, school("/meetings"),
		map[string]any{"studentId": w.student, "teacherId": w.math, "guardianId": w.guardian}, http.StatusCreated).ID
	post(w.mathTok, school("/meetings/", rw.meeting, "/schedule"), nil, http.StatusOK)
	rw.intervention = post(w.mathTok, school("/interventions"),
		map[string]any{"studentId": w.student, "assignedTo": w.math}, http.StatusCreated).ID
	rw.message = post(w.admin, school("/messages"), map[string]any{"recipients": []any{
		map[string]any{"kind": "guardian", "id": w.guardian}, map[string]any{"kind": "teacher", "id": w.math}},
		"relatedTo": "student-" + w.student}, http.StatusCreated).ID
	a.e.settle()
	return rw
}

// target fills a route template with the world's IDs, and the query
// parameters a route needs.
func (rw *richWorld) target(t *testing.T, route string) string {
	t.Helper()
	ids := map[string]string{
		"schoolId": rw.school, "teacherId": rw.math, "classId": rw.class, "studentId": rw.student,
		"examId": rw.exam, "meetingId": rw.meeting, "interventionId": rw.intervention, "guardianId": rw.guardian,
		"messageId": rw.message, "date": "2026-03-02", "period": "1",
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			v, known := ids[name]
			if !known {
				t.Fatalf("route %s: no value for :%s", route, name)
			}
			parts[i] = v
		}
	}
	out := strings.Join(parts, "/")
	if strings.HasSuffix(route, "/report-card") {
		out += "?examId=" + rw.exam
	}
	return out
}

// queryRoutes are the read routes of a school's read models (not the
// audit read, the live feed nor the workflow statuses, which are not read
// models: each is tested on its own).
func queryRoutes(e *env) []string {
	var out []string
	for _, r := range httpapi.Routes(e.srv) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/v1/schools/:schoolId") &&
			!strings.Contains(r.Path, "/streams/") && !strings.HasSuffix(r.Path, "/events/stream") &&
			!strings.Contains(r.Path, "/workflows") {
			out = append(out, r.Path)
		}
	}
	slices.Sort(out)
	return out
}

func (rw *richWorld) get(target, token string, header map[string]string) *httptest.ResponseRecorder {
	rw.a.t.Helper()
	return rw.a.send(call{method: http.MethodGet, target: target, token: token, header: header, valid: true})
}

func TestQueryRoutes(t *testing.T) {
	t.Parallel()
	rw := newRichWorld(t, options{})
	routes := queryRoutes(rw.a.e)
	if len(routes) < 30 {
		t.Fatalf("only %d query routes: %v", len(routes), routes)
	}

	t.Run("admins read every route, and If-None-Match gives 304", func(t *testing.T) {
		rw.a.t = t
		for _, r := range routes {
			for _, tok := range []string{rw.admin, rw.platform} {
				if strings.HasPrefix(r, "/v1/schools/:schoolId/inbox/") {
					tok = rw.guardTok // one's own inbox only: the message is the guardian's
				}
				target := rw.target(t, r)
				w := rw.get(target, tok, nil)
				if w.Code != http.StatusOK {
					t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
					continue
				}
				etag := w.Header().Get("ETag")
				if !strings.HasPrefix(etag, `W/"`) || !strings.Contains(w.Header().Get("Vary"), "Authorization") {
					t.Errorf("GET %s: ETag %q, Vary %q", target, etag, w.Header().Get("Vary"))
				}
				again := rw.get(target, tok, map[string]string{"If-None-Match": `"x", ` + etag})
				if again.Code != http.StatusNotModified || again.Body.Len() != 0 || again.Header().Get("ETag") != etag {
					t.Errorf("GET %s with If-None-Match: %d, %d bytes, ETag %q", target, again.Code, again.Body.Len(), again.Header().Get("ETag"))
				}
			}
		}
	})

	t.Run("another school's admin gets 403 and nothing of the school", func(t *testing.T) {
		rw.a.t = t
		for _, r := range routes {
			target := rw.target(t, r)
			w := rw.get(target, rw.otherAdmin, nil)
			problem(t, w, http.StatusForbidden)
			noSecrets(t, target, w, rw.student)
		}
	})

	// Another family's guardian, and a teacher who does not teach the
	// class: 403 or 404, or an answer without the class's students.
	for _, who := range []struct{ name, token string }{
		{"another family's guardian", rw.strangerTok},
		{"a teacher of another class", rw.englishTok},
	} {
		t.Run(who.name+" sees none of the class", func(t *testing.T) {
			rw.a.t = t
			for _, r := range routes {
				target := rw.target(t, r)
				w := rw.get(target, who.token, nil)
				switch w.Code {
				case http.StatusForbidden, http.StatusNotFound:
					problem(t, w, w.Code)
					noSecrets(t, target, w, "")
				case http.StatusOK:
					noSecrets(t, target, w, rw.student)
				default:
					t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
				}
			}
		})
	}

	t.Run("a guardian reads their child only", func(t *testing.T) {
		rw.a.t = t
		s := func(parts ...string) string { return schoolPath(rw.school, parts...) }
		for _, target := range []string{
			s("/students/", rw.student), s("/students/", rw.student, "/performance"), s("/students/", rw.student, "/assessments"),
			s("/students/", rw.student, "/attendance"), s("/students/", rw.student, "/report-card?examId=", rw.exam),
			s("/classes/", rw.class), s("/classes/", rw.class, "/timetable"), s("/meetings/", rw.meeting),
			s("/guardians/", rw.guardian, "/meetings"),
		} {
			if w := rw.get(target, rw.guardTok, nil); w.Code != http.StatusOK {
				t.Errorf("GET %s as the guardian: %d %s", target, w.Code, w.Body)
			}
		}
		for _, target := range []string{
			s("/students/", rw.second), s("/students/", rw.second, "/performance"), s("/students/", rw.loner),
			s("/guardians/", rw.secondGuardian, "/meetings"),
		} {
			problem(t, rw.get(target, rw.guardTok, nil), http.StatusNotFound)
		}
		var page struct {
			Items []struct {
				StudentID string `json:"studentId"`
			} `json:"items"`
		}
		decodeOK(t, rw.get(s("/students"), rw.guardTok, nil), &page)
		if len(page.Items) != 1 || page.Items[0].StudentID != rw.student {
			t.Errorf("the guardian's students: %+v", page.Items)
		}
		problem(t, rw.get(s("/students?guardianId=", rw.secondGuardian), rw.guardTok, nil), http.StatusForbidden)
	})

	t.Run("a teacher reads their classes and students", func(t *testing.T) {
		rw.a.t = t
		s := func(parts ...string) string { return schoolPath(rw.school, parts...) }
		var page struct {
			Items []struct {
				StudentID string `json:"studentId"`
				ClassID   string `json:"classId"`
			} `json:"items"`
		}
		problem(t, rw.get(s("/students"), rw.mathTok, nil), http.StatusForbidden)
		decodeOK(t, rw.get(s("/students?classId=", rw.class), rw.mathTok, nil), &page)
		if len(page.Items) != 2 {
			t.Errorf("the class's students: %+v", page.Items)
		}
		decodeOK(t, rw.get(s("/classes"), rw.mathTok, nil), &page)
		if len(page.Items) != 1 || page.Items[0].ClassID != rw.class {
			t.Errorf("the teacher's classes: %+v", page.Items)
		}
		for _, target := range []string{
			s("/students/", rw.second), s("/classes/", rw.class, "/roster"), s("/classes/", rw.class, "/attendance/2026-03-02/1"),
			s("/at-risk?classId=", rw.class), s("/exams/", rw.exam, "/results?studentId=", rw.student),
			s("/teachers/", rw.math), s("/teachers/", rw.math, "/timetable"), s("/teachers/", rw.math, "/meetings"),
			s("/interventions/", rw.intervention),
		} {
			if w := rw.get(target, rw.mathTok, nil); w.Code != http.StatusOK {
				t.Errorf("GET %s as the class's teacher: %d %s", target, w.Code, w.Body)
			}
		}
		problem(t, rw.get(s("/students/", rw.loner), rw.mathTok, nil), http.StatusNotFound)
		problem(t, rw.get(s("/teachers/", rw.english), rw.mathTok, nil), http.StatusNotFound)
	})

	t.Run("bad query parameters name themselves", func(t *testing.T) {
		rw.a.t = t
		s := func(parts ...string) string { return schoolPath(rw.school, parts...) }
		for _, tt := range []struct{ target, field string }{
			{s("/students?limit=0"), "limit"},
			{s("/students?limit=501"), "limit"},
			{s("/students?cursor=bm9wZQ"), "cursor"},
			{s("/students?classid=", rw.class), "classid"},
			{s("/students?classId=5A"), "classId"},
			{s("/students?status=expelled"), "status"},
			{s("/students?gradeLevel=x"), "gradeLevel"},
			{s("/students?sort=age"), "sort"},
			{s("/classes/", rw.class, "/attendance?from=yesterday"), "from"},
			// A range that ends before it starts: an error, not an empty list.
			{s("/classes/", rw.class, "/attendance?from=2026-03-09&to=2026-03-02"), "to"},
			{s("/classes/", rw.class, "/attendance/rates?from=2026-03-09&to=2026-03-02"), "to"},
			{s("/students/", rw.student, "/assessments?from=2026-03-09&to=2026-03-02"), "to"},
			{s("/meetings?from=2026-03-09&to=2026-03-02"), "to"},
			{s("/teachers/", rw.math, "/meetings?from=2026-03-09&to=2026-03-02"), "to"},
			{s("/monitoring/events?from=2026-03-09T10:00:00Z&to=2026-03-09T09:00:00Z"), "to"},
			{s("/classes/", rw.class, "/attendance/2026-02-30/1"), "date"},
			{s("/classes/", rw.class, "/attendance/2026-03-02/0"), "period"},
			{s("/timetable?version=0"), "version"},
			{s("/students/", rw.student, "/report-card"), ""},
			{s("/exams?published=yes"), "published"},
			{s("/students?after=student-1"), "after"},
			{s("/students?status=enrolled&status=withdrawn"), "status"},
		} {
			// Sent as is: some of these break the document's schemas on purpose.
			w := rw.a.send(call{method: http.MethodGet, target: tt.target, token: rw.admin})
			p := problem(t, w, http.StatusBadRequest)
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("GET %s: %+v, want it to name %s", tt.target, p, tt.field)
			}
		}
	})

	t.Run("unknown things are 404", func(t *testing.T) {
		rw.a.t = t
		s := func(parts ...string) string { return schoolPath(rw.school, parts...) }
		for _, target := range []string{
			s("/students/", rw.other), s("/teachers/", rw.other), s("/classes/", rw.other), s("/classes/", rw.other, "/roster"),
			s("/exams/", rw.other), s("/meetings/", rw.other), s("/interventions/", rw.other), s("/inbox/", rw.other),
			s("/classes/", rw.class, "/attendance/2026-03-03/1"), s("/timetable?version=9"),
		} {
			problem(t, rw.get(target, rw.admin, nil), http.StatusNotFound)
		}
		problem(t, rw.get(s("/students/", rw.otherStudent), rw.admin, nil), http.StatusNotFound) // another school's
	})
}

// noSecrets fails if an answer shows the world's people, or id.
func noSecrets(t *testing.T, target string, w *httptest.ResponseRecorder, id string) {
	t.Helper()
	body := w.Body.String()
	for _, s := range worldSecrets {
		if strings.Contains(body, s) {
			t.Errorf("GET %s (%d) shows %q: %s", target, w.Code, s, body)
		}
	}
	if id != "" && strings.Contains(body, id) {
		t.Errorf("GET %s (%d) shows %s: %s", target, w.Code, id, body)
	}
}

func decodeOK(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

func TestQueryInbox(t *testing.T) {
	t.Parallel()
	rw := newRichWorld(t, options{})
	inbox := schoolPath(rw.school, "/inbox")
	type inboxPage struct {
		Items []struct {
			MessageID string `json:"messageId"`
			Read      bool   `json:"read"`
		} `json:"items"`
		Unread int `json:"unread"`
	}
	var p inboxPage
	decodeOK(t, rw.get(inbox, rw.guardTok, nil), &p)
	if len(p.Items) != 1 || p.Items[0].MessageID != rw.message || p.Items[0].Read || p.Unread != 1 {
		t.Fatalf("the guardian's inbox: %+v", p)
	}
	decodeOK(t, rw.get(inbox, rw.secondGuardTok, nil), &p)
	if len(p.Items) != 0 || p.Unread != 0 {
		t.Errorf("another guardian's inbox: %+v", p)
	}
	// Not in their inbox: not found, and no way to mark it.
	problem(t, rw.get(inbox+"/"+rw.message, rw.secondGuardTok, nil), http.StatusNotFound)
	problem(t, rw.a.send(call{method: http.MethodPost, target: inbox + "/" + rw.message + "/read", token: rw.secondGuardTok, valid: true}), http.StatusNotFound)

	first := rw.get(inbox, rw.guardTok, nil)
	for range 2 { // twice is once
		w := rw.a.send(call{method: http.MethodPost, target: inbox + "/" + rw.message + "/read", token: rw.guardTok, valid: true})
		var m struct {
			Read bool `json:"read"`
		}
		decodeOK(t, w, &m)
		if !m.Read {
			t.Errorf("after marking read: %s", w.Body)
		}
	}
	decodeOK(t, rw.get(inbox+"?unread=true", rw.guardTok, nil), &p)
	if len(p.Items) != 0 || p.Unread != 0 {
		t.Errorf("unread after reading: %+v", p)
	}
	// The ETag moved with the change.
	if w := rw.get(inbox, rw.guardTok, map[string]string{"If-None-Match": first.Header().Get("ETag")}); w.Code != http.StatusOK {
		t.Errorf("If-None-Match after a change: %d", w.Code)
	}
	// The teacher has it too, unread: inboxes are per recipient.
	decodeOK(t, rw.get(inbox, rw.mathTok, nil), &p)
	if len(p.Items) != 1 || p.Unread != 1 {
		t.Errorf("the teacher's inbox: %+v", p)
	}
	rw.a.send(call{method: http.MethodPost, target: inbox + "/" + rw.message + "/unread", token: rw.guardTok, valid: true})
	decodeOK(t, rw.get(inbox, rw.guardTok, nil), &p)
	if p.Unread != 1 {
		t.Errorf("after marking unread: %+v", p)
	}
	problem(t, rw.a.send(call{method: http.MethodPost, target: inbox + "/" + rw.message + "/read", token: rw.guardTok, body: `{"x":1}`}),
		http.StatusBadRequest)
	problem(t, rw.get(inbox+"?as=teacher", rw.guardTok, nil), http.StatusBadRequest)
}

// TestQueryPagination: walking a list page by page gives every row once,
// in order, whatever the page size and sort.
func TestQueryPagination(t *testing.T) {
	t.Parallel()
	a := newAPIWith(t, options{readModels: true, bare: true})
	w := newWorld(a)
	names := []string{"Zoe Adams", "Yusuf Bello", "Xin Chen", "Wanjiru Daudi", "Vera Eklund", "Umar Farouk", "Tove Grahn"}
	for i, name := range names {
		target := schoolPath(w.school, "/students")
		result(t, a.send(call{method: http.MethodPost, target: target, token: w.admin, valid: true,
			body: example(t, http.MethodPost, target, map[string]any{"name": name, "guardians": []any{map[string]any{
				"name": "Parent " + name, "email": "parent" + string(rune('a'+i)) + "@example.com", "relationship": "mother"}}})}),
			http.StatusCreated)
	}
	a.e.settle()
	total := len(names) + 1 // and the world's student (the other school's is not ours)
	for _, sort := range []string{"", "name", "enrolledAt"} {
		for _, limit := range []int{1, 3, 8, 50} {
			var seen []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > total+1 {
					t.Fatalf("sort %q limit %d: the walk does not end", sort, limit)
				}
				target := schoolPath(w.school, "/students?limit=", itoa(limit))
				if sort != "" {
					target += "&sort=" + sort
				}
				if cursor != "" {
					target += "&cursor=" + cursor
				}
				var p struct {
					Items []struct {
						StudentID string `json:"studentId"`
						Name      string `json:"name"`
					} `json:"items"`
					NextCursor string `json:"nextCursor"`
				}
				decodeOK(t, a.send(call{method: http.MethodGet, target: target, token: w.admin, valid: true}), &p)
				if len(p.Items) > limit {
					t.Fatalf("%d items on a page of %d", len(p.Items), limit)
				}
				for _, it := range p.Items {
					seen = append(seen, it.Name)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			if len(seen) != total || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != total {
				t.Errorf("sort %q limit %d: walked %v", sort, limit, seen)
			}
			if (sort == "" || sort == "name") && !slices.IsSorted(seen) {
				t.Errorf("sort %q: not by name: %v", sort, seen)
			}
		}
	}
	// A cursor is for its own list and order only.
	var p struct {
		NextCursor string `json:"nextCursor"`
	}
	decodeOK(t, a.send(call{method: http.MethodGet, target: schoolPath(w.school, "/students?limit=1&sort=name"), token: w.admin}), &p)
	for _, target := range []string{
		schoolPath(w.school, "/students?sort=enrolledAt&cursor=", p.NextCursor),
		schoolPath(w.school, "/teachers?cursor=", p.NextCursor),
	} {
		pr := problem(t, a.send(call{method: http.MethodGet, target: target, token: w.admin}), http.StatusBadRequest)
		if len(pr.Errors) != 1 || pr.Errors[0].Field != "cursor" {
			t.Errorf("GET %s: %+v", target, pr)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestQueryReadYourWrites: ?after= with a command's stream and version
// waits for the read models, within the bound.
func TestQueryReadYourWrites(t *testing.T) {
	t.Parallel()
	// Room for the read models to apply two writes under the race
	// detector on a loaded CI machine (400ms was seen to fall short).
	const bound = time.Second
	a := newAPIWith(t, options{readModels: true, bare: true, rywTimeout: bound})
	w := newWorld(a)
	a.e.settle()
	teachers := schoolPath(w.school, "/teachers")
	create := func(email string) commands.Result {
		t.Helper()
		return result(t, a.send(call{method: http.MethodPost, target: teachers, token: w.admin, valid: true,
			body: example(t, http.MethodPost, teachers, map[string]any{"email": email})}), http.StatusCreated)
	}
	token := func(r commands.Result) string { return r.Stream + ":" + itoa(int(r.Version)) }

	// The read models are held: the query waits for them.
	a.e.models.pause()
	res := create("grace@example.com")
	type answer struct {
		w    *httptest.ResponseRecorder
		took time.Duration
	}
	done := make(chan answer, 1)
	go func() {
		start := time.Now()
		r := request(t, call{method: http.MethodGet, target: teachers + "/" + res.ID + "?after=" + token(res), token: w.admin})
		rec := httptest.NewRecorder()
		a.e.h.ServeHTTP(rec, r)
		done <- answer{rec, time.Since(start)}
	}()
	time.Sleep(bound / 4)
	a.e.models.resume()
	got := <-done
	if got.w.Code != http.StatusOK || !strings.Contains(got.w.Body.String(), res.ID) {
		t.Fatalf("GET with ?after= of the create: %d %s", got.w.Code, got.w.Body)
	}
	if got.took < bound/4 {
		t.Errorf("answered in %s, before the read model had the write", got.took)
	}

	// Lists wait too, for several tokens.
	r1, r2 := create("h1@example.com"), create("h2@example.com")
	rec := a.send(call{method: http.MethodGet, target: teachers + "?after=" + token(r1) + "&after=" + token(r2), token: w.admin, valid: true})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), r1.ID) || !strings.Contains(rec.Body.String(), r2.ID) {
		t.Errorf("list with two tokens: %d %s", rec.Code, rec.Body)
	}

	// A write the read model will not have: 503 with Retry-After, after
	// the bound and not much later. So for a version never written, and
	// for a stream of another school (which reveals nothing of it).
	otherTeacher := result(t, a.send(call{method: http.MethodPost, target: schoolPath(w.other, "/teachers"), token: w.otherAdmin,
		body: example(t, http.MethodPost, teachers, nil)}), http.StatusCreated)
	a.e.settle()
	for _, after := range []string{res.Stream + ":99", token(otherTeacher), "student-" + w.otherStudent + ":1", "nosuchstream:1"} {
		start := time.Now()
		rec := a.send(call{method: http.MethodGet, target: teachers + "?after=" + after, token: w.admin, valid: true})
		took := time.Since(start)
		p := problem(t, rec, http.StatusServiceUnavailable)
		if p.Type != httpapi.TypeNotYetApplied || rec.Header().Get("Retry-After") == "" {
			t.Errorf("after=%s: %+v, Retry-After %q", after, p, rec.Header().Get("Retry-After"))
		}
		if took < bound || took > bound+2*time.Second {
			t.Errorf("after=%s: answered in %s, bound %s", after, took, bound)
		}
		if strings.Contains(rec.Body.String(), otherTeacher.ID) && after != token(otherTeacher) {
			t.Errorf("the problem shows another school's teacher: %s", rec.Body)
		}
	}

	// A write the route's read models do not consume is no reason to wait:
	// with the feed held, a timetable token does not delay the teachers.
	a.e.models.pause()
	tt := schoolPath(w.school, "/timetables")
	pub := result(t, a.send(call{method: http.MethodPost, target: tt, token: w.admin, body: example(t, http.MethodPost, tt,
		map[string]any{"entries": []any{map[string]any{"classId": w.class, "subject": "mathematics", "teacherId": w.math, "day": "monday", "period": 1}}})}),
		http.StatusCreated)
	start := time.Now()
	rec = a.send(call{method: http.MethodGet, target: teachers + "/" + res.ID + "?after=" + token(pub), token: w.admin, valid: true})
	if rec.Code != http.StatusOK || time.Since(start) >= bound {
		t.Errorf("teacher with a timetable token: %d after %s", rec.Code, time.Since(start))
	}
	a.e.models.resume()

	for _, after := range []string{"teacher-x", "teacher-x:0", ":3", "teacher-x:-1", "teacher-x:1.5"} {
		p := problem(t, a.send(call{method: http.MethodGet, target: teachers + "?after=" + after, token: w.admin}), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "after" {
			t.Errorf("after=%s: %+v", after, p)
		}
	}
	many := strings.Repeat("&after="+token(res), 21)
	problem(t, a.send(call{method: http.MethodGet, target: teachers + "?" + many[1:], token: w.admin}), http.StatusBadRequest)
}

// TestQuerySystemRoutes: the routes across schools are the platform
// admins'.
func TestQuerySystemRoutes(t *testing.T) {
	t.Parallel()
	// Kafka is down: monitoring answers all the same, saying what is
	// missing.
	kafkaDown := errors.New("kafka: connect to 127.0.0.1:9092: refused")
	rw := newRichWorld(t, options{
		deadLetters: func(context.Context) (int, error) { return 0, kafkaDown },
		consumerLag: func(context.Context) (map[string]int64, error) { return nil, kafkaDown },
	})
	for _, target := range []string{"/v1/schools", "/v1/system/monitoring", "/v1/system/monitoring/events"} {
		if w := rw.get(target, rw.platform, nil); w.Code != http.StatusOK {
			t.Errorf("GET %s as a platform admin: %d %s", target, w.Code, w.Body)
		}
		for _, tok := range []string{rw.admin, rw.mathTok, rw.guardTok} {
			w := rw.get(target, tok, nil)
			problem(t, w, http.StatusForbidden)
			noSecrets(t, target, w, rw.school)
		}
	}
	var st struct {
		StoreHead   uint64 `json:"storeHead"`
		Projections []struct {
			Name   string `json:"name"`
			Exists bool   `json:"exists"`
			Lag    uint64 `json:"lag"`
		} `json:"projections"`
		DeadLetters *int              `json:"deadLetters"`
		Unavailable map[string]string `json:"unavailable"`
	}
	decodeOK(t, rw.get("/v1/system/monitoring", rw.platform, nil), &st)
	if st.StoreHead == 0 || len(st.Projections) == 0 {
		t.Errorf("system status: %+v", st)
	}
	if st.DeadLetters != nil || st.Unavailable["deadLetters"] != kafkaDown.Error() || st.Unavailable["consumerLag"] != kafkaDown.Error() {
		t.Errorf("with Kafka down: dead letters %v, unavailable %v", st.DeadLetters, st.Unavailable)
	}
	for _, p := range st.Projections {
		if !p.Exists {
			t.Errorf("read model %s does not exist", p.Name)
		}
	}
	var rates struct {
		Rates []struct {
			Channel string `json:"channel"`
			Events  int64  `json:"events"`
		} `json:"rates"`
	}
	decodeOK(t, rw.get(schoolPath(rw.school, "/monitoring/events"), rw.admin, nil), &rates)
	var n int64
	for _, r := range rates.Rates {
		n += r.Events
	}
	if n == 0 {
		t.Errorf("the school's event rates count nothing: %+v", rates)
	}
	problem(t, rw.a.send(call{method: http.MethodGet, target: "/v1/system/monitoring/events?from=yesterday", token: rw.platform}),
		http.StatusBadRequest)
}
