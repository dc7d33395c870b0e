package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

// academicQueries: timetables and performance.
func (s *Server) academicQueries(school *gin.RouterGroup) {
	s.read(school, "/timetable", readAdmins, reads(rmTimetables), s.schoolTimetable)
	s.read(school, "/timetable/history", readAdmins, reads(rmTimetables), s.timetableHistory)
	s.read(school, "/classes/:classId/timetable", readEveryone, reads(rmTimetables, rmStudents), s.classTimetable)
	s.read(school, "/teachers/:teacherId/timetable", readStaff, reads(rmTimetables), s.teacherTimetable)

	s.read(school, "/students/:studentId/performance", readEveryone, reads(rmPerformance, rmStudents), s.studentPerformance)
	s.read(school, "/students/:studentId/assessments", readEveryone, reads(rmPerformance, rmStudents), s.studentAssessments)
	s.read(school, "/classes/:classId/performance", readStaff, reads(rmPerformance, rmStudents), s.classPerformance)
	s.read(school, "/performance/averages", readAdmins, reads(rmPerformance), s.schoolPerformance)
}

// maxTimetableVersion bounds ?version= (a school publishes a few a year).
const maxTimetableVersion = 1 << 30

func timetable(c *gin.Context, v viewer, sel projections.TimetableSelector) (any, error) {
	p := newParams(c)
	if n := p.intIn("version", 1, maxTimetableVersion); n != nil {
		sel.Version = *n
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.GetTimetable(c, v.db, v.school, sel)
}

// schoolTimetable: the whole week, current or ?version=.
func (s *Server) schoolTimetable(c *gin.Context, v viewer) (any, error) {
	return timetable(c, v, projections.TimetableSelector{})
}

// timetableHistory: the published versions, newest first; ?classId= or
// ?teacherId= count that class's or teacher's lessons.
func (s *Server) timetableHistory(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	sel := projections.TimetableSelector{ClassID: p.id("classId"), TeacherID: p.id("teacherId")}
	page := p.page()
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.TimetableHistory(c, v.db, v.school, sel, page)
}

// classTimetable: admins, the class's teachers, guardians of a student in
// the class.
func (s *Server) classTimetable(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	if err := v.class(c, id, true); err != nil {
		return nil, err
	}
	return timetable(c, v, projections.TimetableSelector{ClassID: id})
}

// teacherTimetable: admins, or the teacher themself.
func (s *Server) teacherTimetable(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "teacherId")
	if err := v.self(id, commands.RoleTeacher, "teacher"); err != nil {
		return nil, err
	}
	return timetable(c, v, projections.TimetableSelector{TeacherID: id})
}

func (s *Server) studentPerformance(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "studentId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	if err := v.student(c, id); err != nil {
		return nil, err
	}
	return projections.GetStudentPerformance(c, v.db, v.school, id)
}

// studentAssessments: a student's graded assessments, newest first.
func (s *Server) studentAssessments(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "studentId")
	p := newParams(c)
	f := projections.AssessmentFilter{Subject: p.text("subject"), AssessmentType: p.text("assessmentType")}
	f.From, f.To = p.dateRange()
	f.PageParams = p.page()
	if err := p.done(); err != nil {
		return nil, err
	}
	if err := v.student(c, id); err != nil {
		return nil, err
	}
	return projections.ListStudentAssessments(c, v.db, v.school, id, f)
}

// subjectAverages is the average grade per subject of a class or school.
type subjectAverages struct {
	ClassID  string                       `json:"classId,omitempty"`
	Subjects []projections.SubjectAverage `json:"subjects"`
}

func (s *Server) classPerformance(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	if err := v.class(c, id, false); err != nil {
		return nil, err
	}
	if _, err := projections.GetClass(c, v.db, v.school, id); err != nil {
		return nil, err // an admin asking for a class that does not exist: 404, not an empty list
	}
	avgs, err := projections.SubjectAverages(c, v.db, v.school, id)
	return subjectAverages{ClassID: id, Subjects: nonNil(avgs)}, err
}

func (s *Server) schoolPerformance(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	avgs, err := projections.SubjectAverages(c, v.db, v.school, "")
	return subjectAverages{Subjects: nonNil(avgs)}, err
}

// nonNil makes an empty list [] in JSON, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
