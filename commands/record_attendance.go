package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RecordAttendance takes a class's register for one date and period. A
// register is taken once; corrections go through AmendAttendance.
type RecordAttendance struct {
	ClassID string
	Date    string // YYYY-MM-DD
	Period  int    // 1..domain.MaxPeriod
	Entries []domain.AttendanceEntryInput
}

// RecordAttendanceHandler handles RecordAttendance.
type RecordAttendanceHandler struct{ repo *Repository }

func NewRecordAttendanceHandler(repo *Repository) RecordAttendanceHandler {
	return RecordAttendanceHandler{repo: repo}
}

func (h RecordAttendanceHandler) Handle(ctx context.Context, m Meta, cmd RecordAttendance) (Result, error) {
	c, date, err := registerClass(ctx, h.repo, m, cmd.ClassID, cmd.Date)
	if err != nil {
		return Result{}, err
	}
	id := domain.AttendanceRegisterID(cmd.ClassID, date, cmd.Period)
	return Update(ctx, h.repo, m, func() *domain.AttendanceRegister { return domain.NewAttendanceRegister(id) },
		func(r *domain.AttendanceRegister) error {
			return r.Record(domain.AttendanceInput{
				SchoolID:   m.SchoolID,
				ClassID:    cmd.ClassID,
				Date:       date,
				Period:     cmd.Period,
				Entries:    cmd.Entries,
				Roster:     c.Roster(),
				RecordedBy: m.Actor.ID,
			}, h.repo.Now())
		})
}

// registerClass authorizes a command on a class's attendance register
// (school admins, or a teacher of the class) and returns the class, for its
// roster, and the register's date.
func registerClass(ctx context.Context, repo *Repository, m Meta, classID, date string) (*domain.Class, domain.Date, error) {
	// Roles first, so a guardian learns nothing of which classes exist.
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return nil, domain.Date{}, err
	}
	c, err := loadClass(ctx, repo, m.SchoolID, classID)
	if err != nil {
		return nil, domain.Date{}, err
	}
	if err := allowForClass(m, c, true); err != nil {
		return nil, domain.Date{}, err
	}
	d, err := domain.ParseDate("date", date)
	if err != nil {
		return nil, domain.Date{}, err
	}
	return c, d, nil
}
