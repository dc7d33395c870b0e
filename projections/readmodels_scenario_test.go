package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

// world is an event store in a fresh database with a repository whose
// clock the scenario moves.
type world struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store eventstore.Store
	repo  *commands.Repository
	now   time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := pgtest.NewPool(t)
	w := &world{t: t, pool: pool, store: postgres.New(pool), now: day(0, 8)}
	w.repo = commands.NewRepository(w.store, func() time.Time { return w.now })
	return w
}

// day is a time of the scenario's week: Monday 2 November 2026 + d days,
// at hour h UTC.
func day(d, h int) time.Time { return time.Date(2026, 11, 2+d, h, 0, 0, 0, time.UTC) }

func date(d int) string { return day(d, 0).Format("2006-01-02") }

// school is what the scenario built in one school.
type school struct {
	ID                 string
	T1, T2, T3         string // T3 is deactivated
	C1, C2             string
	S1, S2, S3, S4, S5 string // S5 is withdrawn; S4 moved from C1 to C2
	G1, G2, G3, G4, G5 string
	Exam, MockExam     string // Exam is published and analysed; MockExam neither
	IV1, IV2           string // IV1 for S2 stays open (high), escalated; IV2 for S4 is closed
	M1, M2, M3, M4     string // M1 completed, M2 cancelled, M3 scheduled, M4 a no-show
	Welcome            string // the welcome message of T2's onboarding
	Msg1, Msg2         string
	Admin              string
}

// ok fails the test when a command of the scenario is refused.
func (w *world) ok(_ commands.Result, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("scenario command: %v", err)
	}
}

// buildSchool runs the scenario's week in a new school through the real
// command handlers:
//
//   - teachers T1 (mathematics, physics), T2 (english, onboarded by the
//     workflow after timetable version 2), T3 (history, deactivated);
//     classes 7A (C1: mathematics T1, english T2) and 7B (C2: mathematics
//     T1, english assigned to T2 later);
//   - students S1, S2 in C1; S3 in C2; S4 first in C1, then moved to C2;
//     S5 in C1, withdrawn on Monday after the register;
//   - a register a day for each class (C1 period 1, C2 period 2), Friday's
//     of C1 amended;
//   - assessments, one recorded out of order; interventions, one escalated;
//     an exam cycle published and analysed, and a mock one not; timetable
//     versions 1 and 2; meetings, one a no-show; messages; a maintenance
//     window, scheduled and cancelled.
func (w *world) buildSchool(name string) school {
	w.t.Helper()
	ctx := context.Background()
	w.now = day(0, 7)
	sc := school{ID: uuid.NewString(), Admin: "admin-" + name}
	admin := commands.Meta{SchoolID: sc.ID, Actor: commands.Actor{ID: sc.Admin, Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: sc.ID}}
	platform := commands.Meta{Actor: commands.Actor{ID: "platform", Roles: []commands.Role{commands.RolePlatformAdmin}}}
	service := commands.Meta{SchoolID: sc.ID, Actor: commands.Actor{ID: "saga:" + name, Roles: []commands.Role{commands.RoleService}}}
	w.ok(commands.NewRegisterSchoolHandler(w.repo).Handle(ctx, platform,
		commands.RegisterSchool{SchoolID: sc.ID, Name: name, Timezone: "Europe/London"}))

	teacher := func(email string, slots []string, subjects ...string) string {
		res, err := commands.NewCreateTeacherHandler(w.repo).Handle(ctx, admin, commands.CreateTeacher{
			Name: "Teacher " + email, Email: email, Subjects: subjects,
			Preferences: domain.PreferencesInput{PreferredTimeSlots: slots, MaxClassesPerDay: 4}})
		w.ok(res, err)
		return res.ID
	}
	sc.T1 = teacher("t1@"+name+".example.org", []string{"morning"}, "mathematics", "physics")
	sc.T2 = teacher("t2@"+name+".example.org", nil, "english")
	sc.T3 = teacher("t3@"+name+".example.org", nil, "history")
	w.ok(commands.NewDeactivateTeacherHandler(w.repo).Handle(ctx, admin,
		commands.DeactivateTeacher{TeacherID: sc.T3, Reason: "retired"}))
	w.ok(commands.NewUpdateTeacherPreferencesHandler(w.repo).Handle(ctx, admin,
		commands.UpdateTeacherPreferences{TeacherID: sc.T1, Preferences: domain.PreferencesInput{
			PreferredTimeSlots: []string{"morning", "afternoon"}, MaxClassesPerDay: 5}}))

	class := func(name string, subjects ...domain.ClassSubjectInput) string {
		id := uuid.NewString()
		w.ok(commands.NewCreateClassHandler(w.repo).Handle(ctx, admin, commands.CreateClass{
			ClassID: id, Name: name, GradeLevel: 7, Capacity: 30, Subjects: subjects}))
		return id
	}
	sc.C1 = class("7A", domain.ClassSubjectInput{Subject: "mathematics", TeacherID: sc.T1},
		domain.ClassSubjectInput{Subject: "english", TeacherID: sc.T2})
	sc.C2 = class("7B", domain.ClassSubjectInput{Subject: "mathematics", TeacherID: sc.T1},
		domain.ClassSubjectInput{Subject: "english"})
	w.ok(commands.NewAssignSubjectTeacherHandler(w.repo).Handle(ctx, admin,
		commands.AssignSubjectTeacher{ClassID: sc.C2, Subject: "english", TeacherID: sc.T2}))

	student := func(name, classID string) (string, string) {
		id := uuid.NewString()
		email := name + "@family.example.org"
		w.ok(commands.NewEnrollStudentHandler(w.repo).Handle(ctx, admin, commands.EnrollStudent{
			StudentID: id, Name: name, DateOfBirth: "2014-05-06", GradeLevel: 7,
			Guardians: []commands.EnrollStudentGuardian{{Name: "Parent of " + name, Email: email, Relationship: "mother"}}}))
		w.ok(commands.NewAssignStudentToClassHandler(w.repo).Handle(ctx, admin,
			commands.AssignStudentToClass{StudentID: id, ClassID: classID}))
		return id, commands.GuardianID(sc.ID, email)
	}
	sc.S1, sc.G1 = student("ada", sc.C1)
	sc.S2, sc.G2 = student("bob", sc.C1)
	sc.S3, sc.G3 = student("cyd", sc.C2)
	sc.S4, sc.G4 = student("dee", sc.C1)
	sc.S5, sc.G5 = student("eve", sc.C1)
	w.ok(commands.NewAssignStudentToClassHandler(w.repo).Handle(ctx, admin,
		commands.AssignStudentToClass{StudentID: sc.S4, ClassID: sc.C2}))

	lessons := []domain.TimetableEntryInput{
		{ClassID: sc.C1, Subject: "mathematics", TeacherID: sc.T1, Day: "monday", Period: 1},
		{ClassID: sc.C1, Subject: "english", TeacherID: sc.T2, Day: "monday", Period: 2},
		{ClassID: sc.C2, Subject: "mathematics", TeacherID: sc.T1, Day: "tuesday", Period: 1},
	}
	w.ok(commands.NewPublishTimetableHandler(w.repo).Handle(ctx, admin,
		commands.PublishTimetable{ChangeKind: "major", Entries: lessons}))
	lessons = append(lessons, domain.TimetableEntryInput{ClassID: sc.C2, Subject: "english", TeacherID: sc.T2, Day: "wednesday", Period: 3})
	w.ok(commands.NewPublishTimetableHandler(w.repo).Handle(ctx, admin,
		commands.PublishTimetable{ChangeKind: "minor", Reason: "english for 7B", Entries: lessons}))
	// The teacher_onboarding workflow completes T2's onboarding.
	sc.Welcome = uuid.NewString()
	w.ok(commands.NewCompleteTeacherOnboardingHandler(w.repo).Handle(ctx, service, commands.CompleteTeacherOnboarding{
		TeacherID: sc.T2, TimetableVersion: 2, LessonsAssigned: 2, LessonsUnfilled: 1, WelcomeMessageID: sc.Welcome}))

	// The week's registers: C1 in period 1, C2 in period 2.
	type line = domain.AttendanceEntryInput
	c1 := [][]line{
		{{StudentID: sc.S1, Status: "present"}, {StudentID: sc.S2, Status: "absent"}, {StudentID: sc.S5, Status: "present"}},
		{{StudentID: sc.S1, Status: "present"}, {StudentID: sc.S2, Status: "late"}},
		{{StudentID: sc.S1, Status: "present"}, {StudentID: sc.S2, Status: "excused", Note: "dentist"}},
		{{StudentID: sc.S1, Status: "present"}, {StudentID: sc.S2, Status: "present"}},
		{{StudentID: sc.S1, Status: "present"}, {StudentID: sc.S2, Status: "absent"}},
	}
	c2 := []string{"absent", "absent", "present", "present", "present"} // S4's; S3 is always present
	for d := range 5 {
		w.now = day(d, 10)
		w.ok(commands.NewRecordAttendanceHandler(w.repo).Handle(ctx, admin,
			commands.RecordAttendance{ClassID: sc.C1, Date: date(d), Period: 1, Entries: c1[d]}))
		w.ok(commands.NewRecordAttendanceHandler(w.repo).Handle(ctx, admin,
			commands.RecordAttendance{ClassID: sc.C2, Date: date(d), Period: 2,
				Entries: []line{{StudentID: sc.S3, Status: "present"}, {StudentID: sc.S4, Status: c2[d]}}}))
		if d == 0 {
			w.ok(commands.NewWithdrawStudentHandler(w.repo).Handle(ctx, admin,
				commands.WithdrawStudent{StudentID: sc.S5, Reason: "moved away"}))
		}
	}
	w.ok(commands.NewAmendAttendanceHandler(w.repo).Handle(ctx, admin, commands.AmendAttendance{
		ClassID: sc.C1, Date: date(4), Period: 1, Entries: []line{{StudentID: sc.S2, Status: "present", Note: "arrived after the roll call"}}}))

	// Assessments. S1's Monday 09:00 mathematics is recorded last: the
	// trend goes by assessedAt, not by recording order.
	grade := func(studentID, subject string, g float64, at time.Time) {
		w.ok(commands.NewRecordPerformanceHandler(w.repo).Handle(ctx, admin, commands.RecordPerformance{
			StudentID: studentID, AssessmentID: uuid.NewString(), Subject: subject, Grade: g, AssessmentType: "quiz", AssessedAt: at}))
	}
	grade(sc.S1, "mathematics", 65, day(0, 10))
	grade(sc.S1, "mathematics", 70, day(1, 9))
	grade(sc.S1, "mathematics", 75, day(2, 9))
	grade(sc.S1, "mathematics", 80, day(3, 9))
	grade(sc.S1, "mathematics", 85, day(4, 9))
	grade(sc.S1, "mathematics", 60, day(0, 9))
	grade(sc.S1, "english", 90, day(1, 9))
	grade(sc.S2, "mathematics", 40, day(1, 9))
	grade(sc.S2, "mathematics", 45, day(3, 9))
	grade(sc.S3, "mathematics", 70, day(2, 9))
	grade(sc.S4, "mathematics", 50, day(2, 9))

	// Interventions.
	sc.IV1, sc.IV2 = uuid.NewString(), uuid.NewString()
	w.ok(commands.NewOpenInterventionHandler(w.repo).Handle(ctx, admin, commands.OpenIntervention{
		InterventionID: sc.IV1, StudentID: sc.S2, Reason: "mathematics below the pass mark", Plan: []string{"tutoring"},
		AssignedTo: sc.T1, FollowUpDue: date(7), RiskLevel: "high"}))
	w.ok(commands.NewRecordInterventionFollowUpHandler(w.repo).Handle(ctx, admin, commands.RecordInterventionFollowUp{
		InterventionID: sc.IV1, Note: "first session held", NextFollowUpDue: date(10)}))
	w.ok(commands.NewOpenInterventionHandler(w.repo).Handle(ctx, admin, commands.OpenIntervention{
		InterventionID: sc.IV2, StudentID: sc.S4, Reason: "absences", Plan: []string{"call home"},
		AssignedTo: sc.T1, FollowUpDue: date(7), RiskLevel: "medium"}))
	w.ok(commands.NewCloseInterventionHandler(w.repo).Handle(ctx, admin, commands.CloseIntervention{
		InterventionID: sc.IV2, Outcome: "resolved", Note: "back every day"}))
	w.ok(commands.NewEscalateInterventionHandler(w.repo).Handle(ctx, service, commands.EscalateIntervention{
		InterventionID: sc.IV1, Reason: "no progress after two sessions"}))

	// Exams: the autumn cycle is published, the mock one is not.
	sc.Exam, sc.MockExam = uuid.NewString(), uuid.NewString()
	for _, x := range []struct{ id, name string }{{sc.Exam, "Autumn tests"}, {sc.MockExam, "Mock"}} {
		w.ok(commands.NewScheduleExamHandler(w.repo).Handle(ctx, admin, commands.ScheduleExam{
			ExamID: x.id, Name: x.name, Term: "2026-autumn", Subjects: []string{"mathematics", "english"},
			ClassIDs: []string{sc.C1, sc.C2}, StartDate: date(0), EndDate: date(4)}))
	}
	w.ok(commands.NewRecordExamResultsHandler(w.repo).Handle(ctx, admin, commands.RecordExamResults{
		ExamID: sc.Exam, Results: []domain.ExamResultInput{
			{StudentID: sc.S1, Subject: "mathematics", Grade: 88}, {StudentID: sc.S1, Subject: "english", Grade: 92},
			{StudentID: sc.S2, Subject: "mathematics", Grade: 45}, {StudentID: sc.S2, Subject: "english", Grade: 55},
			{StudentID: sc.S3, Subject: "mathematics", Grade: 70}}}))
	w.ok(commands.NewRecordExamResultsHandler(w.repo).Handle(ctx, admin, commands.RecordExamResults{
		ExamID: sc.Exam, Results: []domain.ExamResultInput{{StudentID: sc.S2, Subject: "mathematics", Grade: 48}}}))
	w.ok(commands.NewPublishExamResultsHandler(w.repo).Handle(ctx, admin, commands.PublishExamResults{ExamID: sc.Exam}))
	w.ok(commands.NewAnalyzeExamResultsHandler(w.repo).Handle(ctx, service, commands.AnalyzeExamResults{ExamID: sc.Exam}))
	w.ok(commands.NewRecordExamResultsHandler(w.repo).Handle(ctx, admin, commands.RecordExamResults{
		ExamID: sc.MockExam, Results: []domain.ExamResultInput{{StudentID: sc.S1, Subject: "mathematics", Grade: 50}}}))

	// Meetings, asked for on Monday.
	w.now = day(0, 12)
	meeting := func(studentID, teacherID, guardianID string) string {
		id := uuid.NewString()
		w.ok(commands.NewRequestMeetingHandler(w.repo).Handle(ctx, admin, commands.RequestMeeting{
			MeetingID: id, StudentID: studentID, TeacherID: teacherID, GuardianID: guardianID, Topic: "progress"}))
		return id
	}
	sc.M1 = meeting(sc.S1, sc.T1, sc.G1)
	sc.M2 = meeting(sc.S2, sc.T1, sc.G2)
	sc.M3 = meeting(sc.S3, sc.T2, sc.G3)
	sc.M4 = meeting(sc.S4, sc.T2, sc.G4)
	w.ok(commands.NewScheduleMeetingHandler(w.repo).Handle(ctx, admin,
		commands.ScheduleMeeting{MeetingID: sc.M1, Date: date(2), Period: 6}))
	w.ok(commands.NewScheduleMeetingHandler(w.repo).Handle(ctx, admin,
		commands.ScheduleMeeting{MeetingID: sc.M1, Date: date(3), Period: 6}))
	w.ok(commands.NewScheduleMeetingHandler(w.repo).Handle(ctx, admin,
		commands.ScheduleMeeting{MeetingID: sc.M3, Date: date(7), Period: 3}))
	w.ok(commands.NewScheduleMeetingHandler(w.repo).Handle(ctx, admin,
		commands.ScheduleMeeting{MeetingID: sc.M4, Date: date(4), Period: 6}))
	w.ok(commands.NewCancelMeetingHandler(w.repo).Handle(ctx, admin,
		commands.CancelMeeting{MeetingID: sc.M2, Reason: "resolved by phone"}))
	w.now = day(4, 15)
	w.ok(commands.NewCompleteMeetingHandler(w.repo).Handle(ctx, admin,
		commands.CompleteMeeting{MeetingID: sc.M1, Notes: "doing well"}))
	w.ok(commands.NewMarkMeetingNoShowHandler(w.repo).Handle(ctx, admin,
		commands.MarkMeetingNoShow{MeetingID: sc.M4, Reason: "nobody came"}))

	// Messages.
	sc.Msg1, sc.Msg2 = uuid.NewString(), uuid.NewString()
	w.now = day(4, 16)
	w.ok(commands.NewSendMessageHandler(w.repo).Handle(ctx, admin, commands.SendMessage{
		MessageID: sc.Msg1, Subject: "Welcome", Body: "Hello", Category: "welcome",
		Recipients: []domain.RecipientInput{{Kind: "teacher", ID: sc.T1}, {Kind: "guardian", ID: sc.G1}}}))
	w.now = day(4, 17)
	w.ok(commands.NewSendMessageHandler(w.repo).Handle(ctx, admin, commands.SendMessage{
		MessageID: sc.Msg2, Subject: "Staff meeting", Body: "Monday 8am",
		Recipients: []domain.RecipientInput{{Kind: "teacher", ID: sc.T1}, {Kind: "admin", ID: sc.Admin}}}))

	// A platform-wide maintenance window, announced for next Saturday
	// night and called off.
	window := uuid.NewString()
	w.ok(commands.NewScheduleMaintenanceHandler(w.repo).Handle(ctx, platform, commands.ScheduleMaintenance{
		MaintenanceID: window, Title: "Database upgrade " + name, StartsAt: day(5, 22), EndsAt: day(6, 2), ReadOnly: true}))
	w.ok(commands.NewCancelMaintenanceHandler(w.repo).Handle(ctx, platform,
		commands.CancelMaintenance{MaintenanceID: window, Reason: "postponed"}))
	return sc
}
