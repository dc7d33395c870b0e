package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Who may call the read routes, before access.go's finer checks.
var (
	readAdmins   = roles(commands.RolePlatformAdmin, commands.RoleSchoolAdmin)
	readStaff    = roles(commands.RolePlatformAdmin, commands.RoleSchoolAdmin, commands.RoleTeacher)
	readEveryone = roles(commands.RolePlatformAdmin, commands.RoleSchoolAdmin, commands.RoleTeacher, commands.RoleGuardian)
)

// Projections the read routes read (their Name).
const (
	rmSchools     = "schools"
	rmTeachers    = "teachers"
	rmStudents    = "students"
	rmTimetables  = "timetables"
	rmPerformance = "performance"
)

// peopleQueries: schools, the teacher directory, students, classes and
// rosters.
func (s *Server) peopleQueries(v1, school *gin.RouterGroup) {
	s.read(v1, "/schools", roles(commands.RolePlatformAdmin), reads(rmSchools), s.listSchools)
	s.read(school, "", readEveryone, reads(rmSchools), s.getSchool)
	s.read(school, "/teachers", readAdmins, reads(rmTeachers), s.listTeachers)
	s.read(school, "/teachers/:teacherId", readStaff, reads(rmTeachers), s.getTeacher)
	s.read(school, "/students", readEveryone, reads(rmStudents), s.listStudents)
	s.read(school, "/students/:studentId", readEveryone, reads(rmStudents), s.getStudent)
	s.read(school, "/classes", readStaff, reads(rmStudents), s.listClasses)
	s.read(school, "/classes/:classId", readEveryone, reads(rmStudents), s.getClass)
	s.read(school, "/classes/:classId/roster", readStaff, reads(rmStudents), s.classRoster)
}

// listSchools: every school (platform admins).
func (s *Server) listSchools(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	page := p.page()
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.ListSchools(c, v.db, page)
}

func (s *Server) getSchool(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	return projections.GetSchool(c, v.db, v.school)
}

func (s *Server) listTeachers(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.TeacherFilter{Status: p.text("status"), Subject: p.text("subject"), ClassID: p.id("classId"),
		Sort: p.text("sort"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.ListTeachers(c, v.db, v.school, f)
}

// getTeacher: admins, or the teacher themself.
func (s *Server) getTeacher(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "teacherId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	if err := v.self(id, commands.RoleTeacher, "teacher"); err != nil {
		return nil, err
	}
	return projections.GetTeacher(c, v.db, v.school, id)
}

// listStudents: admins list the school; a teacher the students of a class
// they teach (classId required); a guardian their children.
func (s *Server) listStudents(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.StudentFilter{ClassID: p.id("classId"), Status: p.text("status"), GradeLevel: p.intIn("gradeLevel", 0, 20),
		GuardianID: p.id("guardianId"), Sort: p.text("sort"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	switch {
	case v.admin():
	case v.teacher() && f.ClassID != "":
		if err := v.class(c, f.ClassID, false); err != nil {
			return nil, err
		}
	case v.guardian():
		if f.GuardianID != "" && f.GuardianID != v.actor.ID {
			return nil, forbiddenList("guardians list their own children only: leave out guardianId")
		}
		f.GuardianID = v.actor.ID
	default:
		return nil, forbiddenList("teachers list the students of a class they teach: add ?classId=")
	}
	return projections.ListStudents(c, v.db, v.school, f)
}

func (s *Server) getStudent(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "studentId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	if err := v.student(c, id); err != nil {
		return nil, err
	}
	return projections.GetStudent(c, v.db, v.school, id)
}

// listClasses: admins every class, a teacher the classes they teach.
func (s *Server) listClasses(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.ClassFilter{GradeLevel: p.intIn("gradeLevel", 0, 20), TeacherID: p.id("teacherId"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	if !v.admin() {
		if f.TeacherID != "" && f.TeacherID != v.actor.ID {
			return nil, forbiddenList("teachers list their own classes only: leave out teacherId")
		}
		f.TeacherID = v.actor.ID
	}
	return projections.ListClasses(c, v.db, v.school, f)
}

// getClass: admins, the class's teachers, guardians of a student in it.
func (s *Server) getClass(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	if err := v.class(c, id, true); err != nil {
		return nil, err
	}
	return projections.GetClass(c, v.db, v.school, id)
}

func (s *Server) classRoster(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	p := newParams(c)
	page := p.page()
	if err := p.done(); err != nil {
		return nil, err
	}
	if err := v.class(c, id, false); err != nil {
		return nil, err
	}
	return projections.ClassRoster(c, v.db, v.school, id, page)
}
