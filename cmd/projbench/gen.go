package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The history the rebuild benchmark replays: schools with teachers,
// classes and students, then school days of attendance registers (every
// class, morning and afternoon), grades, interventions and messages, in
// chronological order, schools interleaved. The events are the domain's
// own types with valid values, encoded as the command side encodes them,
// and loaded with COPY: a million appends through the commands would take
// longer than the benchmark itself.

const (
	teachersPerSchool = 40
	classesPerSchool  = 30
	studentsPerClass  = 25
	periodsPerDay     = 2   // morning and afternoon registration
	gradesPerDay      = 0.5 // per student
)

var subjects = []domain.Subject{"mathematics", "english", "science", "history", "geography", "art"}

// genEvent is a generated event: stream, type, body and metadata.
type genEvent struct {
	stream string
	typ    string
	data   []byte
	meta   eventstore.Metadata
}

type genSchool struct {
	id       string
	admin    string
	teachers []string
	classes  []genClass
}

type genClass struct {
	id       string
	teachers []string // per subject
	students []string
}

// generator produces the history, in order, until n events.
type generator struct {
	rnd   *rand.Rand
	n     int
	out   []genEvent
	start time.Time
}

// generate returns n events of a history of as many schools as it takes.
func generate(n int, seed uint64) ([]genEvent, int) {
	g := &generator{rnd: rand.New(rand.NewPCG(seed, seed+1)), n: n, out: make([]genEvent, 0, n),
		start: time.Date(2025, 9, 1, 7, 0, 0, 0, time.UTC)}
	// A school year is about 180 days of ~440 events plus ~2,300 to set a
	// school up: ~80,000 events per school.
	perSchool := 2300 + 180*(classesPerSchool*periodsPerDay+int(float64(classesPerSchool*studentsPerClass)*gradesPerDay)+7)
	nSchools := max(1, (n+perSchool-1)/perSchool)
	schools := make([]*genSchool, nSchools)
	for i := range schools {
		schools[i] = g.school(i)
	}
	for day := 0; len(g.out) < n; day++ {
		date := g.start.AddDate(0, 0, day)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, s := range schools {
			g.day(s, date)
		}
	}
	return g.out[:n], nSchools
}

func (g *generator) emit(stream string, e domain.Event, school, actor, role string) {
	if len(g.out) >= g.n {
		return
	}
	data, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("projbench: encode %T: %v", e, err)) // our own values: a bug
	}
	g.out = append(g.out, genEvent{stream: stream, typ: e.EventType(), data: data,
		meta: eventstore.Metadata{SchoolID: school, ActorID: actor, ActorRole: role, CorrelationID: uuid.NewString()}})
}

func (g *generator) school(i int) *genSchool {
	s := &genSchool{id: uuid.NewString()}
	s.admin = "admin-" + s.id[:8]
	at := g.start.Add(-time.Duration(24*30-i) * time.Hour)
	g.emit("school-"+s.id, domain.SchoolRegistered{SchoolID: s.id, Name: fmt.Sprintf("School %d", i+1), Timezone: "Europe/London", At: at}, s.id, "platform-1", "platform_admin")
	for t := range teachersPerSchool {
		id := uuid.NewString()
		s.teachers = append(s.teachers, id)
		email, _ := domain.ParseEmail("email", fmt.Sprintf("teacher%d@school%d.example", t, i))
		prefs, _ := domain.ParseTeacherPreferences("preferences", domain.PreferencesInput{PreferredTimeSlots: []string{"morning"}, MaxClassesPerDay: 5})
		g.emit("teacher-"+id, domain.TeacherCreated{TeacherID: id, SchoolID: s.id, Name: fmt.Sprintf("Teacher %d", t), Email: email,
			Subjects: []domain.Subject{subjects[t%len(subjects)]}, Preferences: prefs, At: at}, s.id, s.admin, "school_admin")
	}
	for c := range classesPerSchool {
		cl := genClass{id: uuid.NewString()}
		var cs []domain.ClassSubject
		for k, sub := range subjects {
			teacher := s.teachers[(c+k*7)%len(s.teachers)]
			cl.teachers = append(cl.teachers, teacher)
			cs = append(cs, domain.ClassSubject{Subject: sub, TeacherID: teacher})
		}
		g.emit("class-"+cl.id, domain.ClassCreated{ClassID: cl.id, SchoolID: s.id, Name: fmt.Sprintf("%d%c", 1+c/3, 'A'+c%3),
			GradeLevel: domain.GradeLevel(1 + c/3), Capacity: 30, Subjects: cs, At: at}, s.id, s.admin, "school_admin")
		for k := range studentsPerClass {
			id := uuid.NewString()
			cl.students = append(cl.students, id)
			email, _ := domain.ParseEmail("email", fmt.Sprintf("parent.%s@example.com", id[:8]))
			dob, _ := domain.ParseDate("dateOfBirth", fmt.Sprintf("%d-0%d-1%d", 2018-c/3, 1+k%9, k%10))
			g.emit("student-"+id, domain.StudentEnrolled{StudentID: id, SchoolID: s.id, Name: fmt.Sprintf("Student %d-%d", c, k),
				DateOfBirth: dob, GradeLevel: domain.GradeLevel(1 + c/3),
				Guardians: []domain.Guardian{{GuardianID: uuid.NewString(), Name: "Parent " + id[:4], Email: email, Relationship: domain.RelationshipMother}},
				At:        at}, s.id, s.admin, "school_admin")
			g.emit("student-"+id, domain.StudentAssignedToClass{StudentID: id, SchoolID: s.id, ClassID: cl.id, At: at}, s.id, s.admin, "school_admin")
			g.emit("class-"+cl.id, domain.ClassStudentAdded{ClassID: cl.id, SchoolID: s.id, StudentID: id, At: at}, s.id, s.admin, "school_admin")
		}
		s.classes = append(s.classes, cl)
	}
	return s
}

var statuses = []domain.AttendanceStatus{domain.AttendancePresent, domain.AttendancePresent, domain.AttendancePresent,
	domain.AttendancePresent, domain.AttendancePresent, domain.AttendancePresent, domain.AttendancePresent,
	domain.AttendancePresent, domain.AttendanceLate, domain.AttendanceAbsent}

var assessments = []domain.AssessmentType{domain.AssessmentQuiz, domain.AssessmentAssignment, domain.AssessmentExam, domain.AssessmentProject}

func (g *generator) day(s *genSchool, date time.Time) {
	d := domain.DateOf(date)
	for _, cl := range s.classes {
		for p := 1; p <= periodsPerDay; p++ {
			teacher := cl.teachers[p%len(cl.teachers)]
			entries := make([]domain.AttendanceEntry, len(cl.students))
			for i, st := range cl.students {
				entries[i] = domain.AttendanceEntry{StudentID: st, Status: statuses[g.rnd.IntN(len(statuses))]}
			}
			reg := domain.AttendanceRegisterID(cl.id, d, p)
			at := date.Add(time.Duration(p) * time.Hour)
			g.emit("attendance-"+reg, domain.AttendanceRecorded{RegisterID: reg, SchoolID: s.id, ClassID: cl.id, Date: d, Period: p,
				Entries: entries, RecordedBy: teacher, At: at}, s.id, teacher, "teacher")
		}
		for i, st := range cl.students {
			if g.rnd.Float64() >= gradesPerDay {
				continue
			}
			k := g.rnd.IntN(len(subjects))
			teacher := cl.teachers[k]
			grade := domain.Grade(min(100, max(0, 65+g.rnd.NormFloat64()*15)))
			at := date.Add(time.Duration(8+i%8) * time.Hour)
			g.emit("performance-"+st, domain.PerformanceRecorded{StudentID: st, SchoolID: s.id, AssessmentID: uuid.NewString(),
				Subject: subjects[k], Grade: grade, AssessmentType: assessments[g.rnd.IntN(len(assessments))],
				AssessedAt: at, RecordedBy: teacher, At: at}, s.id, teacher, "teacher")
		}
	}
	at := date.Add(15 * time.Hour)
	for range 2 {
		cl := s.classes[g.rnd.IntN(len(s.classes))]
		st := cl.students[g.rnd.IntN(len(cl.students))]
		id := uuid.NewString()
		g.emit("intervention-"+id, domain.InterventionOpened{InterventionID: id, SchoolID: s.id, StudentID: st,
			Reason: "grades falling", Plan: []string{"weekly tutoring"}, AssignedTo: cl.teachers[0],
			FollowUpDue: domain.DateOf(date.AddDate(0, 0, 14)), RiskLevel: domain.RiskMedium, OpenedBy: s.admin, At: at}, s.id, s.admin, "school_admin")
	}
	for range 5 {
		cl := s.classes[g.rnd.IntN(len(s.classes))]
		id := uuid.NewString()
		g.emit("message-"+id, domain.MessageSent{MessageID: id, SchoolID: s.id, From: cl.teachers[0],
			Recipients: []domain.Recipient{{Kind: domain.RecipientTeacher, ID: cl.teachers[1]}, {Kind: domain.RecipientTeacher, ID: cl.teachers[2]}},
			Subject:    "Class update", Body: "Homework is due on Friday.", Category: domain.CategoryGeneral, At: at}, s.id, cl.teachers[0], "teacher")
	}
}

// load writes the events into the store's table with COPY, in order, a
// chunk per transaction: each chunk's events follow the last chunk's in
// the log. Versions are numbered per stream, as appends number them.
func load(ctx context.Context, pool *pgxpool.Pool, events []genEvent, progress func(int)) error {
	versions := map[string]int64{}
	const chunk = 50_000
	for from := 0; from < len(events); from += chunk {
		part := events[from:min(from+chunk, len(events))]
		rows := make([][]any, len(part))
		for i, e := range part {
			versions[e.stream]++
			meta, err := json.Marshal(e.meta)
			if err != nil {
				return err
			}
			rows[i] = []any{e.stream, versions[e.stream], uuid.New(), e.typ, string(e.data), string(meta), e.meta.SchoolID}
		}
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"events"},
			[]string{"stream_id", "version", "event_id", "type", "data", "metadata", "school_id"}, pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("load events: %w", err)
		}
		if progress != nil {
			progress(from + len(part))
		}
	}
	_, err := pool.Exec(ctx, "ANALYZE events")
	return err
}
