package httpapi

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Projections of these routes (their Name).
const (
	rmAttendance = "attendance"
	rmAtRisk     = "at_risk"
	rmExams      = "exams"
	rmMeetings   = "meetings"
)

// schoolLifeQueries: attendance, the at-risk board and interventions,
// exams and report cards, meetings.
func (s *Server) schoolLifeQueries(school *gin.RouterGroup) {
	s.read(school, "/classes/:classId/attendance", readStaff, reads(rmAttendance, rmStudents), s.classRegisters)
	s.read(school, "/classes/:classId/attendance/:date/:period", readStaff, reads(rmAttendance, rmStudents), s.classRegister)
	s.read(school, "/classes/:classId/attendance/rates", readStaff, reads(rmAttendance, rmStudents), s.classAttendanceRates)
	s.read(school, "/students/:studentId/attendance", readEveryone, reads(rmAttendance, rmStudents), s.studentAttendanceRates)
	s.read(school, "/attendance/rates", readAdmins, reads(rmAttendance), s.schoolAttendanceRates)

	s.read(school, "/at-risk", readStaff, reads(rmAtRisk, rmStudents), s.atRiskBoard)
	s.read(school, "/interventions", readStaff, reads(rmAtRisk), s.listInterventions)
	s.read(school, "/interventions/:interventionId", readStaff, reads(rmAtRisk, rmStudents), s.getIntervention)

	s.read(school, "/exams", readStaff, reads(rmExams), s.listExams)
	s.read(school, "/exams/:examId", readStaff, reads(rmExams), s.getExam)
	s.read(school, "/exams/:examId/results", readStaff, reads(rmExams, rmStudents), s.examResults)
	s.read(school, "/students/:studentId/report-card", readEveryone, reads(rmExams, rmStudents), s.reportCard)

	s.read(school, "/meetings", readEveryone, reads(rmMeetings), s.listMeetings)
	s.read(school, "/meetings/:meetingId", readEveryone, reads(rmMeetings), s.getMeeting)
	s.read(school, "/teachers/:teacherId/meetings", readStaff, reads(rmMeetings), s.teacherMeetings)
	s.read(school, "/guardians/:guardianId/meetings", readEveryone, reads(rmMeetings), s.guardianMeetings)
}

// ---- attendance ----

// classRegisters: a class's registers, newest first (?from=&to=).
func (s *Server) classRegisters(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	p := newParams(c)
	f := projections.RegisterFilter{ClassID: id}
	f.From, f.To = p.dateRange()
	f.PageParams = p.page()
	if err := p.done(); err != nil {
		return nil, err
	}
	if err := v.class(c, id, false); err != nil {
		return nil, err
	}
	return projections.ListRegisters(c, v.db, v.school, f)
}

// classRegister: one register with its lines and amendments.
func (s *Server) classRegister(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	period, err := strconv.Atoi(c.Param("period"))
	if err != nil || period < 1 || period > domain.MaxPeriod {
		return nil, badRequest("period", "must be a whole number from 1 to %d, got %q", domain.MaxPeriod, c.Param("period"))
	}
	if err := v.class(c, id, false); err != nil {
		return nil, err
	}
	return projections.GetRegister(c, v.db, v.school, id, c.Param("date"), period)
}

// weeklyRates is attendance by ISO week.
type weeklyRates struct {
	StudentID string                         `json:"studentId,omitempty"`
	ClassID   string                         `json:"classId,omitempty"`
	Weeks     []projections.WeeklyAttendance `json:"weeks"`
}

func rates(c *gin.Context, v viewer, f projections.AttendanceRateFilter) (any, error) {
	p := newParams(c)
	f.From, f.To = p.dateRange()
	if err := p.done(); err != nil {
		return nil, err
	}
	weeks, err := projections.WeeklyAttendanceRates(c, v.db, v.school, f)
	return weeklyRates{StudentID: f.StudentID, ClassID: f.ClassID, Weeks: nonNil(weeks)}, err
}

func (s *Server) classAttendanceRates(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "classId")
	if err := v.class(c, id, false); err != nil {
		return nil, err
	}
	return rates(c, v, projections.AttendanceRateFilter{ClassID: id})
}

func (s *Server) studentAttendanceRates(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "studentId")
	if err := v.student(c, id); err != nil {
		return nil, err
	}
	return rates(c, v, projections.AttendanceRateFilter{StudentID: id})
}

func (s *Server) schoolAttendanceRates(c *gin.Context, v viewer) (any, error) {
	return rates(c, v, projections.AttendanceRateFilter{})
}

// ---- at risk ----

// atRiskBoard: admins the school's board (?level=&classId=); a teacher
// that of a class they teach (classId required).
func (s *Server) atRiskBoard(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.AtRiskFilter{Level: p.text("level"), ClassID: p.id("classId"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	if !v.admin() {
		if f.ClassID == "" {
			return nil, forbiddenList("teachers see the board of a class they teach: add ?classId=")
		}
		if err := v.class(c, f.ClassID, false); err != nil {
			return nil, err
		}
	}
	return projections.ListAtRisk(c, v.db, v.school, f)
}

// listInterventions: admins every one (?studentId=&assignedTo=&status=);
// a teacher those assigned to them.
func (s *Server) listInterventions(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.InterventionFilter{StudentID: p.id("studentId"), AssignedTo: p.id("assignedTo"),
		Status: p.text("status"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	if !v.admin() {
		if f.AssignedTo != "" && f.AssignedTo != v.actor.ID {
			return nil, forbiddenList("teachers list the interventions assigned to them: leave out assignedTo")
		}
		f.AssignedTo = v.actor.ID
	}
	return projections.ListInterventions(c, v.db, v.school, f)
}

// getIntervention: admins, the teacher it is assigned to, the student's
// teachers.
func (s *Server) getIntervention(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "interventionId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	iv, err := projections.GetIntervention(c, v.db, v.school, id)
	if err != nil {
		return nil, err
	}
	if !v.admin() && iv.AssignedTo != v.actor.ID {
		if err := v.student(c, iv.StudentID); err != nil {
			return nil, notVisible("intervention " + id)
		}
	}
	return iv, nil
}

// ---- exams ----

func (s *Server) listExams(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.ExamFilter{Term: p.text("term"), ClassID: p.id("classId"), Published: p.boolean("published"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.ListExams(c, v.db, v.school, f)
}

func (s *Server) getExam(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	return projections.GetExam(c, v.db, v.school, idParam(c, "examId"))
}

// examResults: admins every result (?studentId=&subject=); a teacher the
// results of one of their students (studentId required).
func (s *Server) examResults(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.ExamResultFilter{StudentID: p.id("studentId"), Subject: p.text("subject"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	if !v.admin() {
		if f.StudentID == "" {
			return nil, forbiddenList("teachers see the results of their own students: add ?studentId=")
		}
		if err := v.student(c, f.StudentID); err != nil {
			return nil, err
		}
	}
	return projections.ListExamResults(c, v.db, v.school, idParam(c, "examId"), f)
}

// reportCard: a student's published results for ?examId= or ?term=.
func (s *Server) reportCard(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "studentId")
	p := newParams(c)
	sel := projections.ReportCardSelector{ExamID: p.id("examId"), Term: p.text("term")}
	if err := p.done(); err != nil {
		return nil, err
	}
	if err := v.student(c, id); err != nil {
		return nil, err
	}
	return projections.GetReportCard(c, v.db, v.school, id, sel)
}

// ---- meetings ----

// listMeetings: admins the school's calendar; a teacher theirs, a
// guardian theirs (filters: teacherId, guardianId, studentId, status,
// from, to).
func (s *Server) listMeetings(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := meetingFilter(p)
	if err := p.done(); err != nil {
		return nil, err
	}
	if !v.admin() {
		switch {
		case v.teacher() && (f.TeacherID == "" || f.TeacherID == v.actor.ID):
			f.TeacherID = v.actor.ID
		case v.guardian() && (f.GuardianID == "" || f.GuardianID == v.actor.ID):
			f.GuardianID = v.actor.ID
		default:
			return nil, forbiddenList("you see your own meetings only: leave out teacherId and guardianId")
		}
	}
	return projections.ListMeetings(c, v.db, v.school, f)
}

func meetingFilter(p *params) projections.MeetingFilter {
	f := projections.MeetingFilter{TeacherID: p.id("teacherId"), GuardianID: p.id("guardianId"), StudentID: p.id("studentId"),
		Status: p.text("status")}
	f.From, f.To = p.dateRange()
	f.PageParams = p.page()
	return f
}

// getMeeting: admins, the meeting's teacher and guardian.
func (s *Server) getMeeting(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "meetingId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	m, err := projections.GetMeeting(c, v.db, v.school, id)
	if err != nil {
		return nil, err
	}
	if !v.admin() && !(v.teacher() && m.TeacherID == v.actor.ID) && !(v.guardian() && m.GuardianID == v.actor.ID) {
		return nil, notVisible("meeting " + id)
	}
	return m, nil
}

// personMeetings lists one person's calendar; the filter's own person
// parameter is the path's.
func personMeetings(c *gin.Context, v viewer, role commands.Role, idName string) (any, error) {
	id := idParam(c, idName)
	p := newParams(c)
	p.used[idName] = true // the path's: ?teacherId= on /teachers/{id}/meetings would be ambiguous
	f := projections.MeetingFilter{StudentID: p.id("studentId"), Status: p.text("status")}
	f.From, f.To = p.dateRange()
	f.PageParams = p.page()
	if _, dup := c.GetQuery(idName); dup {
		p.fail(badRequest(idName, "is in the path already"))
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	if err := v.self(id, role, string(role)); err != nil {
		return nil, err
	}
	if role == commands.RoleTeacher {
		f.TeacherID = id
	} else {
		f.GuardianID = id
	}
	return projections.ListMeetings(c, v.db, v.school, f)
}

func (s *Server) teacherMeetings(c *gin.Context, v viewer) (any, error) {
	return personMeetings(c, v, commands.RoleTeacher, "teacherId")
}

func (s *Server) guardianMeetings(c *gin.Context, v viewer) (any, error) {
	return personMeetings(c, v, commands.RoleGuardian, "guardianId")
}

// boolean is an optional true/false filter.
func (p *params) boolean(name string) *bool {
	switch raw := p.raw(name); raw {
	case "":
		return nil
	case "true", "false":
		b := raw == "true"
		return &b
	default:
		p.fail(badRequest(name, "must be true or false, got %q", raw))
		return nil
	}
}
