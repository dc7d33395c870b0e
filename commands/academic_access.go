package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Loads and checks shared by the exam, meeting, intervention and message
// commands. Like loadStudent and loadClass, each reads another school's
// aggregate as not found, so its existence does not leak.

// loadExam loads an exam cycle of the command's school.
func loadExam(ctx context.Context, repo *Repository, schoolID, examID string) (*domain.ExamCycle, error) {
	if err := domain.RequireID("examId", examID); err != nil {
		return nil, err
	}
	x, _, err := Load(ctx, repo, domain.NewExamCycle(examID))
	if err != nil {
		return nil, err
	}
	if x.SchoolID() == "" || x.SchoolID() != schoolID {
		return nil, notFoundAs(domain.ErrExamNotFound, "", "exam cycle %s not found", examID)
	}
	return x, nil
}

// loadMeeting loads a meeting of the command's school.
func loadMeeting(ctx context.Context, repo *Repository, schoolID, meetingID string) (*domain.Meeting, error) {
	if err := domain.RequireID("meetingId", meetingID); err != nil {
		return nil, err
	}
	mt, _, err := Load(ctx, repo, domain.NewMeeting(meetingID))
	if err != nil {
		return nil, err
	}
	if mt.Status().IsZero() || mt.SchoolID() != schoolID {
		return nil, notFoundAs(domain.ErrMeetingNotFound, "", "meeting %s not found", meetingID)
	}
	return mt, nil
}

// loadIntervention loads an intervention of the command's school.
func loadIntervention(ctx context.Context, repo *Repository, schoolID, interventionID string) (*domain.Intervention, error) {
	if err := domain.RequireID("interventionId", interventionID); err != nil {
		return nil, err
	}
	iv, _, err := Load(ctx, repo, domain.NewIntervention(interventionID))
	if err != nil {
		return nil, err
	}
	if iv.Status().IsZero() || iv.SchoolID() != schoolID {
		return nil, notFoundAs(domain.ErrInterventionNotFound, "", "intervention %s not found", interventionID)
	}
	return iv, nil
}

// activeTeacherOfSchool loads a teacher named by the input field and
// checks that they are an active teacher of the school: a missing teacher,
// or one of another school, is not found on field; a deactivated one is a
// conflict on field.
func activeTeacherOfSchool(ctx context.Context, repo *Repository, schoolID, teacherID, field string) (*domain.Teacher, error) {
	if err := domain.RequireID(field, teacherID); err != nil {
		return nil, err
	}
	t, _, err := Load(ctx, repo, domain.NewTeacher(teacherID))
	if err != nil {
		return nil, err
	}
	if t.RequireInSchool(schoolID) != nil {
		return nil, notFoundAs(domain.ErrTeacherNotFound, field, "teacher %s is not a teacher of this school", teacherID)
	}
	if !t.Active() {
		return nil, &domain.Error{Kind: domain.KindConflict, Field: field, Err: domain.ErrTeacherInactive,
			Message: fmt.Sprintf("teacher %s is deactivated", teacherID)}
	}
	return t, nil
}

// requireActiveStudent refuses new work (meetings, interventions) about a
// withdrawn student.
func requireActiveStudent(s *domain.Student) error {
	if !s.Active() {
		return &domain.Error{Kind: domain.KindConflict, Err: domain.ErrStudentWithdrawn,
			Message: fmt.Sprintf("student %s is withdrawn", s.ID())}
	}
	return nil
}

// allowForMeeting checks that the actor may act on a meeting: admins and
// services always, the meeting's teacher, and its guardian when guardians
// are allowed.
func allowForMeeting(m Meta, mt *domain.Meeting, guardiansToo bool) error {
	roles := []Role{RoleSchoolAdmin, RoleTeacher}
	if guardiansToo {
		roles = append(roles, RoleGuardian)
	}
	if err := allow(m, roles...); err != nil {
		return err
	}
	a := m.Actor
	switch {
	case isStaff(a),
		a.Has(RoleTeacher) && a.ID == mt.TeacherID(),
		guardiansToo && a.Has(RoleGuardian) && a.ID == mt.GuardianID():
		return nil
	}
	return forbidden("actor %s is not a participant of meeting %s", a.ID, mt.ID())
}

// allowForIntervention checks that the actor may act on an intervention:
// admins and services, or the teacher it is assigned to.
func allowForIntervention(m Meta, iv *domain.Intervention) error {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return err
	}
	a := m.Actor
	if isStaff(a) || a.ID == iv.AssignedTo() {
		return nil
	}
	return forbidden("intervention %s is assigned to another teacher", iv.ID())
}

// isStaff reports whether the actor acts for the school as a whole.
func isStaff(a Actor) bool { return a.Has(RolePlatformAdmin, RoleService, RoleSchoolAdmin) }

// inputDate parses an optional "YYYY-MM-DD" input: blank gives the zero
// date, so the domain reports a required date as missing rather than as
// malformed.
func inputDate(field, s string) (domain.Date, error) {
	if strings.TrimSpace(s) == "" {
		return domain.Date{}, nil
	}
	return domain.ParseDate(field, s)
}

// notFoundAs is a not-found error that is an instance of sentinel.
func notFoundAs(sentinel error, field, format string, args ...any) error {
	return &domain.Error{Kind: domain.KindNotFound, Field: field, Err: sentinel, Message: fmt.Sprintf(format, args...)}
}

// subCommand is the metadata of a second write of one command to a stream
// it already wrote: event IDs derive from (command, stream, index), so the
// second write needs a command ID of its own or it would pass for the
// first one and be skipped.
func subCommand(m Meta, purpose string) Meta {
	if m.CommandID != "" {
		m.CommandID += "\x00" + purpose
	}
	return m
}
