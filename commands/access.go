package commands

import (
	"context"
	"slices"

	"github.com/edusmarthub/edusmarthub/domain"
)

// loadStudent loads a student of the command's school; a student of another
// school reads as not found, so its existence does not leak.
func loadStudent(ctx context.Context, repo *Repository, schoolID, studentID string) (*domain.Student, error) {
	if err := domain.RequireID("studentId", studentID); err != nil {
		return nil, err
	}
	s, _, err := Load(ctx, repo, domain.NewStudent(studentID))
	if err != nil {
		return nil, err
	}
	if err := s.RequireInSchool(schoolID); err != nil {
		return nil, err
	}
	return s, nil
}

// loadClass loads a class of the command's school.
func loadClass(ctx context.Context, repo *Repository, schoolID, classID string) (*domain.Class, error) {
	if err := domain.RequireID("classId", classID); err != nil {
		return nil, err
	}
	c, _, err := Load(ctx, repo, domain.NewClass(classID))
	if err != nil {
		return nil, err
	}
	if err := c.RequireInSchool(schoolID); err != nil {
		return nil, err
	}
	return c, nil
}

// teachesClass reports whether teacherID teaches a subject of the class.
func teachesClass(c *domain.Class, teacherID string) bool {
	for _, s := range c.Subjects() {
		if s.TeacherID == teacherID {
			return true
		}
	}
	return false
}

// allowForStudent checks that the actor may act on a student: school and
// platform admins and services always; a teacher when teaching the
// student's class; a guardian when linked to the student. roles limits which
// of teacher and guardian may act at all.
func allowForStudent(ctx context.Context, repo *Repository, m Meta, s *domain.Student, roles ...Role) error {
	if err := allow(m, append([]Role{RoleSchoolAdmin}, roles...)...); err != nil {
		return err
	}
	a := m.Actor
	if isStaff(a) {
		return nil
	}
	if a.Has(RoleGuardian) && slices.Contains(roles, RoleGuardian) && s.HasGuardian(a.ID) {
		return nil
	}
	if a.Has(RoleTeacher) && slices.Contains(roles, RoleTeacher) && s.ClassID() != "" {
		c, err := loadClass(ctx, repo, m.SchoolID, s.ClassID())
		if err != nil {
			return err
		}
		if teachesClass(c, a.ID) {
			return nil
		}
	}
	return forbidden("actor %s is not linked to student %s", a.ID, s.ID())
}

// allowForClass checks that the actor may act on a class: admins and
// services, or a teacher of the class when teachers are allowed.
func allowForClass(m Meta, c *domain.Class, teachersToo bool) error {
	roles := []Role{RoleSchoolAdmin}
	if teachersToo {
		roles = append(roles, RoleTeacher)
	}
	if err := allow(m, roles...); err != nil {
		return err
	}
	a := m.Actor
	if isStaff(a) || teachesClass(c, a.ID) {
		return nil
	}
	return forbidden("actor %s does not teach class %s", a.ID, c.ID())
}
