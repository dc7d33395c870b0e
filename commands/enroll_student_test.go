package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestEnrollStudent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewEnrollStudentHandler(f.repo)
	enrol := func() commands.EnrollStudent {
		return commands.EnrollStudent{StudentID: uuid.NewString(), Name: "Tom Sawyer", DateOfBirth: "2015-03-04", GradeLevel: 5,
			Guardians: []commands.EnrollStudentGuardian{
				{Name: "Polly Sawyer", Email: "Polly@Example.org", Relationship: "guardian"},
				{Name: "Sid Sawyer", Email: "sid@example.org", Relationship: "Sibling"},
			}}
	}
	cmd := enrol()

	res, err := h.Handle(ctx, f.admin(), cmd)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if res.ID != cmd.StudentID || res.Stream != "student-"+cmd.StudentID || res.Version != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := f.events(res.Stream); !slices.Equal(got, []string{"student.enrolled.v1"}) {
		t.Fatalf("events = %v", got)
	}
	s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(cmd.StudentID))
	if err != nil {
		t.Fatal(err)
	}
	polly := commands.GuardianID(f.school, "polly@example.org")
	wantGuardians := []string{polly, commands.GuardianID(f.school, "sid@example.org")}
	if got := s.GuardianIDs(); !slices.Equal(got, wantGuardians) {
		t.Fatalf("guardians = %v, want %v (derived from the e-mail)", got, wantGuardians)
	}
	if s.DateOfBirth().String() != "2015-03-04" || s.GradeLevel() != 5 || !s.Active() {
		t.Fatalf("student = %+v", s)
	}

	t.Run("a sibling shares the guardian", func(t *testing.T) {
		sib := enrol()
		sib.Name, sib.Guardians = "Mary Sawyer", sib.Guardians[:1]
		sib.Guardians[0].Email = " polly@example.org"
		if _, err := h.Handle(ctx, f.admin(), sib); err != nil {
			t.Fatal(err)
		}
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(sib.StudentID))
		if err != nil || !s.HasGuardian(polly) {
			t.Fatalf("guardians = %v, %v; want %s", s.GuardianIDs(), err, polly)
		}
	})
	t.Run("a repeated command ID appends nothing", func(t *testing.T) {
		m := f.admin()
		m.CommandID = "enrol-key-1"
		c := enrol()
		first, err := h.Handle(ctx, m, c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Handle(ctx, m, c)
		if err != nil || again != first {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
		}
	})

	with := func(change func(*commands.EnrollStudent)) commands.EnrollStudent {
		c := enrol()
		c.Guardians = slices.Clone(c.Guardians)
		change(&c)
		return c
	}
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.EnrollStudent
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"the same student again", f.admin(), cmd, domain.KindConflict, "", domain.ErrAlreadyEnrolled},
		{"a teacher may not", f.as("t-1", commands.RoleTeacher), enrol(), domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as(polly, commands.RoleGuardian), enrol(), domain.KindForbidden, "-", nil},
		{"a date of birth that is no date", f.admin(), with(func(c *commands.EnrollStudent) { c.DateOfBirth = "04.03.2015" }),
			domain.KindInvalid, "dateOfBirth", nil},
		{"no date of birth", f.admin(), with(func(c *commands.EnrollStudent) { c.DateOfBirth = " " }),
			domain.KindInvalid, "dateOfBirth", nil},
		{"a date of birth in the future", f.admin(), with(func(c *commands.EnrollStudent) { c.DateOfBirth = "2027-01-01" }),
			domain.KindInvalid, "dateOfBirth", nil},
		{"an invalid guardian e-mail", f.admin(), with(func(c *commands.EnrollStudent) { c.Guardians[1].Email = "sid-at-example" }),
			domain.KindInvalid, "guardians[1].email", nil},
		{"a guardian e-mail given twice", f.admin(), with(func(c *commands.EnrollStudent) { c.Guardians[1].Email = "POLLY@example.org" }),
			domain.KindInvalid, "guardians[1].email", nil},
		{"an unknown relationship", f.admin(), with(func(c *commands.EnrollStudent) { c.Guardians[0].Relationship = "aunt" }),
			domain.KindInvalid, "guardians[0].relationship", nil},
		{"no guardians", f.admin(), with(func(c *commands.EnrollStudent) { c.Guardians = nil }),
			domain.KindInvalid, "guardians", nil},
		{"a grade level out of range", f.admin(), with(func(c *commands.EnrollStudent) { c.GradeLevel = -1 }),
			domain.KindInvalid, "gradeLevel", nil},
		{"a missing student ID", f.admin(), with(func(c *commands.EnrollStudent) { c.StudentID = "" }),
			domain.KindInvalid, "studentId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	t.Run("an unknown school", func(t *testing.T) {
		m := f.admin()
		m.SchoolID, m.Actor.SchoolID = "no-such-school", "no-such-school"
		_, err := h.Handle(ctx, m, enrol())
		wantErr(t, err, domain.KindNotFound, "-", domain.ErrSchoolNotFound)
	})
}
