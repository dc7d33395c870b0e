package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Given-state for the exam, meeting, intervention and message tests. The
// state is built with the domain aggregates themselves and appended to the
// store as the command layer would, so these tests depend on no other
// handler than the one under test.

// saveAggregate appends the changes of an aggregate built in a test, as
// events of the fixture's school.
func (f *fixture) saveAggregate(agg domain.Aggregate) {
	f.t.Helper()
	f.saveAggregateIn(f.school, agg)
}

// saveAggregateIn appends the changes of an aggregate as events of schoolID.
func (f *fixture) saveAggregateIn(schoolID string, agg domain.Aggregate) {
	f.t.Helper()
	changes := agg.Changes()
	data := make([]eventstore.EventData, len(changes))
	for i, e := range changes {
		body, err := json.Marshal(e)
		if err != nil {
			f.t.Fatalf("encode %s: %v", e.EventType(), err)
		}
		data[i] = eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: body,
			Metadata: eventstore.Metadata{SchoolID: schoolID, ActorID: "test-setup"}}
	}
	if _, err := f.store.Append(context.Background(), agg.StreamID(), eventstore.Exact(agg.Version()), data); err != nil {
		f.t.Fatalf("save %s: %v", agg.StreamID(), err)
	}
}

// setupOK fails the test on a domain refusal while building given-state.
func (f *fixture) setupOK(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("given: %v", err)
	}
}

// scene is a small school: teacher T1 teaches mathematics to class C1
// (students S1 and S2), T2 teaches mathematics and physics to C2 (student
// S3), T3 teaches no class, and S4 is in no class. Each student has one
// guardian (G1..G4). The X* aggregates belong to another school.
type scene struct {
	T1, T2, T3     string
	C1, C2         string
	S1, S2, S3, S4 string
	G1, G2, G3, G4 string
	XSchool        string
	XTeacher       string
	XClass         string
	XStudent       string
	XGuardian      string
}

var sceneDOB = sceneDate("2014-05-06")

func sceneDate(s string) domain.Date {
	d, err := domain.ParseDate("date", s)
	if err != nil {
		panic(err)
	}
	return d
}

func (f *fixture) scene() scene {
	f.t.Helper()
	sc := scene{XSchool: uuid.NewString()}
	infos := map[string]domain.TeacherInfo{}
	newTeacher := func(school, email string, subjects ...string) string {
		id := commands.TeacherID(school, email)
		t := domain.NewTeacher(id)
		f.setupOK(t.Create(school, "Teacher "+email, email, subjects, domain.PreferencesInput{MaxClassesPerDay: 6}, f.now))
		f.saveAggregateIn(school, t)
		infos[id] = t.Info()
		return id
	}
	newClass := func(school, name string, subjects ...domain.ClassSubjectInput) *domain.Class {
		c := domain.NewClass(uuid.NewString())
		f.setupOK(c.Create(school, name, 7, 30, subjects, infos, f.now))
		return c
	}
	// newStudent enrolls a student with one guardian, in class c if given.
	newStudent := func(school, name string, c *domain.Class) (string, string) {
		email := name + "@family.example.org"
		gid := commands.GuardianID(school, email)
		s := domain.NewStudent(uuid.NewString())
		f.setupOK(s.Enroll(school, name, sceneDOB, 7,
			[]domain.GuardianInput{{GuardianID: gid, Name: "Parent of " + name, Email: email, Relationship: "mother"}}, f.now))
		if c != nil {
			f.setupOK(s.AssignToClass(c.ID(), f.now))
			f.setupOK(c.AddStudent(s.Info(), f.now))
		}
		f.saveAggregateIn(school, s)
		return s.ID(), gid
	}

	sc.T1 = newTeacher(f.school, "t1@school.example.org", "mathematics")
	sc.T2 = newTeacher(f.school, "t2@school.example.org", "mathematics", "physics")
	sc.T3 = newTeacher(f.school, "t3@school.example.org", "history")
	c1 := newClass(f.school, "7A", domain.ClassSubjectInput{Subject: "mathematics", TeacherID: sc.T1})
	c2 := newClass(f.school, "7B", domain.ClassSubjectInput{Subject: "mathematics", TeacherID: sc.T2},
		domain.ClassSubjectInput{Subject: "physics", TeacherID: sc.T2})
	sc.S1, sc.G1 = newStudent(f.school, "ada", c1)
	sc.S2, sc.G2 = newStudent(f.school, "bob", c1)
	sc.S3, sc.G3 = newStudent(f.school, "cyd", c2)
	sc.S4, sc.G4 = newStudent(f.school, "dee", nil)
	f.saveAggregate(c1)
	f.saveAggregate(c2)
	sc.C1, sc.C2 = c1.ID(), c2.ID()

	sc.XTeacher = newTeacher(sc.XSchool, "x@other.example.org", "mathematics")
	xc := newClass(sc.XSchool, "X1", domain.ClassSubjectInput{Subject: "mathematics", TeacherID: sc.XTeacher})
	sc.XStudent, sc.XGuardian = newStudent(sc.XSchool, "xan", xc)
	f.saveAggregateIn(sc.XSchool, xc)
	sc.XClass = xc.ID()
	return sc
}

// publishLessons publishes the school's timetable with the given lessons.
func (f *fixture) publishLessons(sc scene, entries ...domain.TimetableEntryInput) {
	f.t.Helper()
	teachers := map[string]domain.TeacherInfo{}
	classes := map[string]domain.ClassInfo{}
	for _, id := range []string{sc.T1, sc.T2, sc.T3} {
		t, _, err := commands.Load(context.Background(), f.repo, domain.NewTeacher(id))
		f.setupOK(err)
		teachers[id] = t.Info()
	}
	for _, id := range []string{sc.C1, sc.C2} {
		c, _, err := commands.Load(context.Background(), f.repo, domain.NewClass(id))
		f.setupOK(err)
		classes[id] = c.Info()
	}
	tt, _, err := commands.Load(context.Background(), f.repo, domain.NewTimetable(f.school))
	f.setupOK(err)
	f.setupOK(tt.Publish("major", entries, teachers, classes, "", f.now))
	f.saveAggregate(tt)
}

// scheduleExam schedules an exam cycle of mathematics and physics for
// classes C1 and C2, started today.
func (f *fixture) scheduleExam(sc scene) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewScheduleExamHandler(f.repo).Handle(context.Background(), f.admin(), commands.ScheduleExam{
		ExamID: id, Name: "Autumn finals", Term: "2026-autumn", Subjects: []string{"mathematics", "physics"},
		ClassIDs: []string{sc.C1, sc.C2}, StartDate: "2026-11-02", EndDate: "2026-11-13",
	})
	f.setupOK(err)
	return id
}

// foreignExam saves an exam cycle of another school.
func (f *fixture) foreignExam(sc scene) string {
	f.t.Helper()
	x := domain.NewExamCycle(uuid.NewString())
	f.setupOK(x.Schedule(domain.ExamInput{SchoolID: sc.XSchool, Name: "Their finals", Term: "2026", Subjects: []string{"mathematics"},
		ClassIDs: []string{sc.XClass}, StartDate: sceneDate("2026-11-02"), EndDate: sceneDate("2026-11-13"), ScheduledBy: "x"}, f.now))
	f.saveAggregateIn(sc.XSchool, x)
	return x.ID()
}

// requestMeeting has the admin request a meeting and returns its ID.
func (f *fixture) requestMeeting(studentID, teacherID, guardianID string) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewRequestMeetingHandler(f.repo).Handle(context.Background(), f.admin(), commands.RequestMeeting{
		MeetingID: id, StudentID: studentID, TeacherID: teacherID, GuardianID: guardianID, Topic: "progress in mathematics",
	})
	f.setupOK(err)
	return id
}

// scheduleMeeting has the admin schedule a meeting.
func (f *fixture) scheduleMeeting(meetingID, date string, period int) {
	f.t.Helper()
	_, err := commands.NewScheduleMeetingHandler(f.repo).Handle(context.Background(), f.admin(),
		commands.ScheduleMeeting{MeetingID: meetingID, Date: date, Period: period})
	f.setupOK(err)
}

// foreignMeeting saves a meeting of another school.
func (f *fixture) foreignMeeting(sc scene) string {
	f.t.Helper()
	mt := domain.NewMeeting(uuid.NewString())
	f.setupOK(mt.Request(domain.MeetingRequest{SchoolID: sc.XSchool, StudentID: sc.XStudent, TeacherID: sc.XTeacher,
		GuardianID: sc.XGuardian, RequestedBy: sc.XGuardian, Topic: "theirs"}, f.now))
	f.saveAggregateIn(sc.XSchool, mt)
	return mt.ID()
}

// openIntervention has the admin open an intervention for S1 assigned to
// T1 and returns its ID.
func (f *fixture) openIntervention(sc scene) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewOpenInterventionHandler(f.repo).Handle(context.Background(), f.admin(), commands.OpenIntervention{
		InterventionID: id, StudentID: sc.S1, Reason: "grades fell", Plan: []string{"weekly tutoring"},
		AssignedTo: sc.T1, FollowUpDue: "2026-11-09",
	})
	f.setupOK(err)
	return id
}

// foreignIntervention saves an intervention of another school.
func (f *fixture) foreignIntervention(sc scene) string {
	f.t.Helper()
	iv := domain.NewIntervention(uuid.NewString())
	f.setupOK(iv.Open(domain.InterventionInput{SchoolID: sc.XSchool, StudentID: sc.XStudent, Reason: "theirs",
		Plan: []string{"theirs"}, AssignedTo: sc.XTeacher, FollowUpDue: sceneDate("2026-11-09"), OpenedBy: "x"}, f.now))
	f.saveAggregateIn(sc.XSchool, iv)
	return iv.ID()
}

// guardianAs is the metadata of a guardian of the fixture's school.
func (f *fixture) guardianAs(id string) commands.Meta { return f.as(id, commands.RoleGuardian) }

// teacherAs is the metadata of a teacher of the fixture's school.
func (f *fixture) teacherAs(id string) commands.Meta { return f.as(id, commands.RoleTeacher) }

// foreignAdmin is an admin of another school addressing the fixture's.
func (f *fixture) foreignAdmin() commands.Meta {
	m := f.admin()
	m.Actor.SchoolID = uuid.NewString()
	return m
}

// expectEvents checks the types of a stream's events. It takes the
// running (sub)test, since FailNow belongs to the test's own goroutine.
func (f *fixture) expectEvents(t *testing.T, stream string, want ...string) {
	t.Helper()
	recs, err := f.store.ReadStream(context.Background(), stream, 0, 0)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = r.Type
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: events = %v, want %v", stream, got, want)
	}
}

// expectErr checks err's kind and field and, when sentinel is set, that it
// is an instance of it.
func expectErr(t *testing.T, err error, kind domain.Kind, field string, sentinel error) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a %s error about %q", err, kind, field)
	}
	if de.Kind != kind || de.Field != field {
		t.Fatalf("err = %v (%s about %q), want %s about %q", err, de.Kind, de.Field, kind, field)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
}

func expectForbidden(t *testing.T, err error) {
	t.Helper()
	if domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("err = %v, want forbidden", err)
	}
}
