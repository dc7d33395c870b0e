package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AmendAttendance corrects or adds lines of a register already taken.
// Only lines that change are recorded.
type AmendAttendance struct {
	ClassID string
	Date    string // YYYY-MM-DD
	Period  int
	Entries []domain.AttendanceEntryInput
}

// AmendAttendanceHandler handles AmendAttendance.
type AmendAttendanceHandler struct{ repo *Repository }

func NewAmendAttendanceHandler(repo *Repository) AmendAttendanceHandler {
	return AmendAttendanceHandler{repo: repo}
}

func (h AmendAttendanceHandler) Handle(ctx context.Context, m Meta, cmd AmendAttendance) (Result, error) {
	c, date, err := registerClass(ctx, h.repo, m, cmd.ClassID, cmd.Date)
	if err != nil {
		return Result{}, err
	}
	if cmd.Period < 1 || cmd.Period > domain.MaxPeriod {
		// Record checks the period; Amend only finds no register for it.
		return Result{}, domain.Invalid("period", "must be between 1 and %d, got %d", domain.MaxPeriod, cmd.Period)
	}
	id := domain.AttendanceRegisterID(cmd.ClassID, date, cmd.Period)
	return Update(ctx, h.repo, m, func() *domain.AttendanceRegister { return domain.NewAttendanceRegister(id) },
		func(r *domain.AttendanceRegister) error {
			return r.Amend(domain.AttendanceAmendment{Entries: cmd.Entries, Roster: c.Roster(), AmendedBy: m.Actor.ID}, h.repo.Now())
		})
}
