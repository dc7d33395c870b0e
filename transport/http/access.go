package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Who may read what, beyond the route's roles. The school is settled
// before a handler runs (scopeSchool: another school is a 403). Within
// the school:
//
//   - platform and school admins read everything;
//   - a teacher reads their own record, timetable and meetings, and the
//     classes they teach a subject of and those classes' students;
//   - a guardian reads their children (the students listing them as a
//     guardian), their own meetings, and their inbox;
//   - everyone reads their own inbox.
//
// Something the caller may not see answers 404, exactly as if it did not
// exist, so its existence does not leak; a list the caller may not read at
// all answers 403. The facts (who teaches which class, whose child is
// whom) come from the students read model, so a class assignment made a
// moment ago counts once that read model has applied it (?after= waits).

// viewer is the caller of a read, in their school.
type viewer struct {
	actor  commands.Actor
	school string
	db     projections.Querier
}

func (s *Server) viewer(c *gin.Context) viewer {
	return viewer{actor: actorFrom(c), school: c.GetString(ctxSchoolID), db: s.deps.Pool}
}

// admin: reads the whole school.
func (v viewer) admin() bool {
	return v.actor.Has(commands.RolePlatformAdmin, commands.RoleSchoolAdmin)
}

func (v viewer) teacher() bool  { return v.actor.Has(commands.RoleTeacher) }
func (v viewer) guardian() bool { return v.actor.Has(commands.RoleGuardian) }

// notVisible is the 404 of something the caller may not see; what is
// names it ("student 123...").
func notVisible(what string) error {
	return newProblem(http.StatusNotFound, TypeNotFound, what+" not found")
}

// forbiddenList is the 403 of a list the caller's role may not read whole.
func forbiddenList(detail string) error {
	return newProblem(http.StatusForbidden, TypeForbidden, detail)
}

// student checks that the caller may see a student: an admin, a teacher
// of the student's class, a guardian of the student.
func (v viewer) student(ctx context.Context, studentID string) error {
	if v.admin() {
		return nil
	}
	if v.guardian() {
		kids, err := projections.GuardianStudentIDs(ctx, v.db, v.school, v.actor.ID)
		if err != nil {
			return err
		}
		if slices.Contains(kids, studentID) {
			return nil
		}
	}
	if v.teacher() {
		ok, err := projections.TeacherTeachesStudent(ctx, v.db, v.school, v.actor.ID, studentID)
		if err != nil || ok {
			return err
		}
	}
	return notVisible("student " + studentID)
}

// class checks that the caller may see a class: an admin or a teacher of
// the class; with guardiansToo, a guardian with a child in it.
func (v viewer) class(ctx context.Context, classID string, guardiansToo bool) error {
	if v.admin() {
		return nil
	}
	if v.teacher() {
		ok, err := projections.TeacherTeachesClass(ctx, v.db, v.school, v.actor.ID, classID)
		if err != nil || ok {
			return err
		}
	}
	if guardiansToo && v.guardian() {
		kids, err := projections.GuardianStudentIDs(ctx, v.db, v.school, v.actor.ID)
		if err != nil {
			return err
		}
		for _, k := range kids {
			st, err := projections.GetStudent(ctx, v.db, v.school, k)
			if err != nil {
				if errors.Is(err, projections.ErrNotFound) {
					continue
				}
				return err
			}
			if st.ClassID == classID {
				return nil
			}
		}
	}
	return notVisible("class " + classID)
}

// self checks that a path's person is the caller (a teacher's own
// timetable, a guardian's meetings), unless the caller is an admin; role
// is the role the person must be in.
func (v viewer) self(id string, role commands.Role, what string) error {
	if v.admin() || (v.actor.Has(role) && v.actor.ID == id) {
		return nil
	}
	return notVisible(fmt.Sprintf("%s %s", what, id))
}
