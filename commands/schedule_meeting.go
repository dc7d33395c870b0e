package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/edusmarthub/edusmarthub/domain"
)

// ScheduleMeeting puts a requested meeting in a period of a date, or moves
// a scheduled one, in a slot where the teacher neither teaches (the
// school's timetable) nor meets someone else (the teacher's calendar).
// School admins and the meeting's teacher may.
type ScheduleMeeting struct {
	MeetingID string
	Date      string // YYYY-MM-DD
	Period    int    // 1..domain.MaxPeriod
}

// ScheduleMeetingHandler handles ScheduleMeeting.
type ScheduleMeetingHandler struct{ repo *Repository }

func NewScheduleMeetingHandler(repo *Repository) ScheduleMeetingHandler {
	return ScheduleMeetingHandler{repo: repo}
}

// Handle writes two streams: it books the slot on the teacher's calendar
// (whose expected version serializes every booking of the teacher, so two
// meetings never take one slot), then schedules the meeting. Both steps
// are no-ops when already done, so a retry completes a half-done command.
// If the second step fails, the booking is undone when it is still the
// calendar's current one for the meeting.
func (h ScheduleMeetingHandler) Handle(ctx context.Context, m Meta, cmd ScheduleMeeting) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	mt, err := loadMeeting(ctx, h.repo, m.SchoolID, cmd.MeetingID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForMeeting(m, mt, false); err != nil {
		return Result{}, err
	}
	if err := requireVersion(m, mt); err != nil {
		return Result{}, err
	}
	date, err := inputDate("date", cmd.Date)
	if err != nil {
		return Result{}, err
	}
	tt, _, err := Load(ctx, h.repo, domain.NewTimetable(m.SchoolID))
	if err != nil {
		return Result{}, err
	}
	// Weekly slots: Meeting.Schedule matches them against the date's weekday.
	busy := tt.TeacherSlots(mt.TeacherID())
	teacherID, meetingID, period := mt.TeacherID(), mt.ID(), cmd.Period
	newCalendar := func() *domain.TeacherCalendar { return domain.NewTeacherCalendar(teacherID) }

	cal, _, err := Load(ctx, h.repo, newCalendar())
	if err != nil {
		return Result{}, err
	}
	// Decide on what is known now before writing anything, so bad input, a
	// closed meeting or a taken slot leave no booking behind. The loaded
	// meeting is thrown away.
	avail := domain.TeacherAvailability{BusySlots: busy, BookedMeetings: cal.Booked()}
	if err := mt.Schedule(date, period, avail, m.Actor.ID, h.repo.Now()); err != nil {
		return Result{}, err
	}

	if _, err := Update(ctx, h.repo, sideWrite(m), newCalendar, func(c *domain.TeacherCalendar) error {
		return c.Book(m.SchoolID, meetingID, date, period, h.repo.Now())
	}); err != nil {
		return Result{}, err
	}

	res, err := Update(ctx, h.repo, m, func() *domain.Meeting { return domain.NewMeeting(meetingID) },
		func(mt *domain.Meeting) error {
			cal, _, err := Load(ctx, h.repo, newCalendar())
			if err != nil {
				return err
			}
			// Another scheduling of this meeting may have booked since: the
			// meeting must end up where the calendar says it is.
			if slot, ok := cal.SlotOf(meetingID); !ok || !slot.Date.Equal(date) || slot.Period != period {
				return fmt.Errorf("%w: meeting %s was rescheduled meanwhile", ErrConcurrentUpdate, meetingID)
			}
			avail := domain.TeacherAvailability{BusySlots: busy, BookedMeetings: cal.Booked()}
			return mt.Schedule(date, period, avail, m.Actor.ID, h.repo.Now())
		})
	if err != nil {
		if undoErr := h.undoBooking(ctx, m, teacherID, meetingID, date, period); undoErr != nil {
			err = errors.Join(err, fmt.Errorf("undo the calendar booking: %w", undoErr))
		}
		return Result{}, err
	}
	return res, nil
}

// undoBooking puts the calendar back in line with the meeting after the
// meeting refused the slot this command booked: back to the slot the
// meeting has (if still free), or released. A booking that is no longer
// the calendar's current one for the meeting belongs to a later command
// and is left alone.
func (h ScheduleMeetingHandler) undoBooking(ctx context.Context, m Meta, teacherID, meetingID string, date domain.Date, period int) error {
	_, err := Update(ctx, h.repo, subCommand(sideWrite(m), "undo-booking"),
		func() *domain.TeacherCalendar { return domain.NewTeacherCalendar(teacherID) },
		func(c *domain.TeacherCalendar) error {
			if slot, ok := c.SlotOf(meetingID); !ok || !slot.Date.Equal(date) || slot.Period != period {
				return nil
			}
			mt, _, err := Load(ctx, h.repo, domain.NewMeeting(meetingID))
			if err != nil {
				return err
			}
			switch mt.Status() {
			case domain.MeetingStatusScheduled, domain.MeetingStatusCompleted:
				s := mt.Slot()
				if s.Date.Equal(date) && s.Period == period {
					return nil // the meeting is there after all
				}
				if err := c.Book(m.SchoolID, meetingID, s.Date, s.Period, h.repo.Now()); err == nil {
					return nil
				} else if !errors.Is(err, domain.ErrSlotTaken) {
					return err
				}
				// The old slot was taken meanwhile: release rather than
				// double-book it.
			}
			return c.Release(meetingID, h.repo.Now())
		})
	return err
}
