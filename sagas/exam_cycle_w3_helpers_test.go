package sagas_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// The W3 workflows' tests (exam_cycle_complete, parent_teacher_meeting,
// system_maintenance) run one workflow in a world (helpers_test.go) and
// seed schools through the commands; their end-to-end tests run the
// whole service (system) with a school, Lindenschule (Europe/Berlin).

// w3World is a world running one workflow.
type w3World struct{ *world }

func w3NewWorld(t *testing.T, newSaga func(sagas.Deps) sagas.Saga) *w3World {
	t.Helper()
	return &w3World{newWorld(t, newSaga)}
}

// ---- Seeding a school through the commands. ----

// w3School is a school seeded for a test.
type w3School struct {
	w  *w3World
	ID string
}

func (w *w3World) school(name, tz string) *w3School {
	w.t.Helper()
	return &w3School{w: w, ID: w.registerSchool(name, tz)}
}

// admin is a school admin's command metadata.
func (s *w3School) admin() commands.Meta { return adminOf(s.ID) }

// teacherMeta is a teacher's command metadata.
func (s *w3School) teacherMeta(id string) commands.Meta {
	return memberOf(s.ID, id, commands.RoleTeacher)
}

func (s *w3School) teacher(name string, subjects ...string) string {
	s.w.t.Helper()
	return s.w.createTeacher(s.ID, commands.CreateTeacher{Name: name, Email: emailOf(name, "school.test"), Subjects: subjects,
		Preferences: domain.PreferencesInput{MaxClassesPerDay: 8}})
}

// class creates a class taught subject → teacher ("" for nobody).
func (s *w3School) class(name string, subjects map[string]string) string {
	s.w.t.Helper()
	var in []domain.ClassSubjectInput
	for _, sub := range slices.Sorted(maps.Keys(subjects)) {
		in = append(in, domain.ClassSubjectInput{Subject: sub, TeacherID: subjects[sub]})
	}
	return s.w.createClass(s.ID, commands.CreateClass{Name: name, GradeLevel: 5, Capacity: 30, Subjects: in})
}

// student enrolls a student with guardians (names; e-mails derived) in
// a class and returns their ID and the guardians' IDs.
func (s *w3School) student(name, classID string, guardians ...string) (string, []string) {
	s.w.t.Helper()
	var gs []commands.EnrollStudentGuardian
	var gids []string
	for _, g := range guardians {
		email := emailOf(g, "home.test")
		gs = append(gs, commands.EnrollStudentGuardian{Name: g, Email: email, Relationship: "parent"})
		gids = append(gids, commands.GuardianID(s.ID, email))
	}
	id := s.w.enrollStudent(s.ID, commands.EnrollStudent{Name: name, DateOfBirth: "2015-04-01", GradeLevel: 5, Guardians: gs})
	if classID != "" {
		s.w.assignClass(s.ID, id, classID)
	}
	return id, gids
}

// timetable publishes lessons "day/period" of a teacher in a class.
func (s *w3School) timetable(classID, subject, teacherID string, slots ...string) {
	s.w.t.Helper()
	var entries []domain.TimetableEntryInput
	for _, sl := range slots {
		day, p, _ := strings.Cut(sl, "/")
		var period int
		fmt.Sscan(p, &period)
		entries = append(entries, domain.TimetableEntryInput{ClassID: classID, Subject: subject, TeacherID: teacherID,
			Day: day, Period: period})
	}
	s.w.must(commands.NewPublishTimetableHandler(s.w.repo).Handle(s.w.ctx, s.admin(), commands.PublishTimetable{
		ChangeKind: "major", Entries: entries}))
}

// w3Date parses a date.
func w3Date(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate("date", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ---- End-to-end: the whole service. ----

// w3StartSystem starts the service running only the workflow build makes,
// with a school (Europe/Berlin).
func w3StartSystem(t *testing.T, build func(sagas.Deps) sagas.Saga) *system {
	t.Helper()
	return startSystem(t, "Lindenschule", "Europe/Berlin", build)
}

// w3Teacher creates a teacher over HTTP.
func w3Teacher(s *system, name, subject string) string {
	s.t.Helper()
	return s.create(s.path("/teachers"), s.admin, map[string]any{"name": name,
		"email": emailOf(name, "school.test"), "subjects": []string{subject},
		"preferences": map[string]any{"maxClassesPerDay": 8}})
}

// w3Student enrolls a student with a guardian in a class over HTTP and
// returns the student's and the guardian's IDs.
func w3Student(s *system, name, classID, guardian string) (string, string) {
	s.t.Helper()
	email := emailOf(guardian, "home.test")
	id := s.create(s.path("/students"), s.admin, map[string]any{"name": name, "dateOfBirth": "2015-04-01", "gradeLevel": 5,
		"guardians": []any{map[string]any{"name": guardian, "email": email, "relationship": "parent"}}})
	s.MustDo(s.t, http.MethodPost, s.path("/students/", id, "/class-assignment"), s.admin,
		map[string]any{"classId": classID}, http.StatusOK, nil)
	return id, commands.GuardianID(s.school, email)
}
