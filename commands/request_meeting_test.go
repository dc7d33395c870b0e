package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestRequestMeeting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewRequestMeetingHandler(f.repo)
	ctx := context.Background()
	// meeting is a request by S1's guardian G1 to S1's teacher T1.
	meeting := func(edit func(*commands.RequestMeeting)) commands.RequestMeeting {
		cmd := commands.RequestMeeting{MeetingID: uuid.NewString(), StudentID: sc.S1, TeacherID: sc.T1,
			GuardianID: sc.G1, Topic: "falling maths grades"}
		if edit != nil {
			edit(&cmd)
		}
		return cmd
	}

	t.Run("requested by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the guardian for themself": f.guardianAs(sc.G1),
			"the student's teacher":     f.teacherAs(sc.T1),
			"an admin":                  f.admin(),
		} {
			t.Run(name, func(t *testing.T) {
				cmd := meeting(nil)
				res, err := h.Handle(ctx, m, cmd)
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != cmd.MeetingID || res.Stream != "meeting-"+cmd.MeetingID || res.Version != 1 {
					t.Fatalf("result = %+v", res)
				}
				f.expectEvents(t, res.Stream, domain.MeetingRequestedType)
			})
		}
	})

	t.Run("the same meeting twice", func(t *testing.T) {
		cmd := meeting(nil)
		if _, err := h.Handle(ctx, f.admin(), cmd); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.admin(), cmd)
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingExists)
	})

	t.Run("forbidden", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    commands.Meta
			edit func(*commands.RequestMeeting)
		}{
			{"a guardian for another guardian", f.guardianAs(sc.G1), func(c *commands.RequestMeeting) { c.GuardianID = sc.G2 }},
			{"a guardian of another student", f.guardianAs(sc.G2), func(c *commands.RequestMeeting) { c.GuardianID = sc.G2 }},
			{"a teacher who does not teach the student", f.teacherAs(sc.T2), nil},
			{"another school's admin", f.foreignAdmin(), nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				cmd := meeting(tt.edit)
				_, err := h.Handle(ctx, tt.m, cmd)
				expectForbidden(t, err)
				f.expectEvents(t, "meeting-"+cmd.MeetingID)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			edit     func(*commands.RequestMeeting)
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"a guardian not linked to the student", func(c *commands.RequestMeeting) { c.GuardianID = sc.G3 }, domain.KindInvalid, "guardianId", nil},
			{"no guardian", func(c *commands.RequestMeeting) { c.GuardianID = "" }, domain.KindInvalid, "guardianId", nil},
			{"another school's teacher", func(c *commands.RequestMeeting) { c.TeacherID = sc.XTeacher }, domain.KindNotFound, "teacherId", domain.ErrTeacherNotFound},
			{"an unknown teacher", func(c *commands.RequestMeeting) { c.TeacherID = uuid.NewString() }, domain.KindNotFound, "teacherId", domain.ErrTeacherNotFound},
			{"no teacher", func(c *commands.RequestMeeting) { c.TeacherID = " " }, domain.KindInvalid, "teacherId", nil},
			{"a teacher who does not teach the student", func(c *commands.RequestMeeting) { c.TeacherID = sc.T2 }, domain.KindInvalid, "teacherId", nil},
			{"another school's student", func(c *commands.RequestMeeting) { c.StudentID = sc.XStudent }, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"no student", func(c *commands.RequestMeeting) { c.StudentID = "" }, domain.KindInvalid, "studentId", nil},
			{"no topic", func(c *commands.RequestMeeting) { c.Topic = "" }, domain.KindInvalid, "topic", nil},
			{"no meeting ID", func(c *commands.RequestMeeting) { c.MeetingID = "" }, domain.KindInvalid, "meetingId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.admin(), meeting(tt.edit))
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
	})

	t.Run("not about a withdrawn student", func(t *testing.T) {
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(sc.S2))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Withdraw("moved away", f.now); err != nil {
			t.Fatal(err)
		}
		f.saveAggregate(s)
		_, err = h.Handle(ctx, f.admin(), meeting(func(c *commands.RequestMeeting) { c.StudentID, c.GuardianID = sc.S2, sc.G2 }))
		expectErr(t, err, domain.KindConflict, "", domain.ErrStudentWithdrawn)
	})
}
