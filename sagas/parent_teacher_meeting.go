package sagas

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// parent_teacher_meeting: a meeting requested by a guardian or a teacher
// is put in the first free period from tomorrow (school-local) where the
// teacher teaches no lesson (the timetable), has no other meeting (the
// teacher's calendar) and the guardian has no other meeting; both are
// told; both are reminded Settings.MeetingReminder before it; when no
// outcome is recorded Settings.MeetingNoShowAfter after its start, it is
// marked a no-show. It completes with the meeting's outcome (held,
// no-show or cancelled) and fails when no period within
// meetingSearchWeeks suits both.

const parentTeacherMeetingName = "parent_teacher_meeting"

// meetingSearchWeeks is how far ahead the first free slot is looked for.
const meetingSearchWeeks = 4

// maxSlotAttempts bounds the slots tried when the one found is taken
// meanwhile (another booking between the read and the command).
const maxSlotAttempts = 5

// Deadlines of the meeting workflow.
const (
	deadlineMeetingReminder = "reminder"
	deadlineMeetingNoShow   = "no_show"
)

type parentTeacherMeeting struct{ d Deps }

// NewParentTeacherMeeting returns the parent_teacher_meeting workflow.
func NewParentTeacherMeeting(d Deps) Saga { return parentTeacherMeeting{d: d} }

func (parentTeacherMeeting) Name() string { return parentTeacherMeetingName }

func (parentTeacherMeeting) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelCommunication}
}

func (parentTeacherMeeting) Correlate(t Trigger) (Route, bool) {
	switch e := t.Event.(type) {
	case domain.MeetingRequested:
		return Route{ID: e.MeetingID, Start: true}, true
	case domain.MeetingScheduled:
		return Route{ID: e.MeetingID}, true
	case domain.MeetingCompleted:
		return Route{ID: e.MeetingID}, true
	case domain.MeetingCancelled:
		return Route{ID: e.MeetingID}, true
	case domain.MeetingNoShow:
		return Route{ID: e.MeetingID}, true
	}
	return Route{}, false
}

// meetingState is the workflow's own state (shown in its status).
type meetingState struct {
	MeetingID  string `json:"meetingId"`
	StudentID  string `json:"studentId"`
	TeacherID  string `json:"teacherId"`
	GuardianID string `json:"guardianId"`
	Topic      string `json:"topic"`
	Timezone   string `json:"timezone"`
	SchoolName string `json:"schoolName,omitempty"`
	// Names for the messages, read when the meeting was requested.
	StudentName  string `json:"studentName,omitempty"`
	TeacherName  string `json:"teacherName,omitempty"`
	GuardianName string `json:"guardianName,omitempty"`
	// The slot the meeting is in, and when it starts.
	Date     string    `json:"date,omitempty"`
	Period   int       `json:"period,omitempty"`
	StartsAt time.Time `json:"startsAt,omitzero"`
	// Rescheduled counts the moves made by hand.
	Rescheduled int `json:"rescheduled,omitempty"`
}

func (s meetingState) slot() string { return fmt.Sprintf("%s period %d", s.Date, s.Period) }

func (s meetingState) teacherName() string {
	return fmt.Sprintf("teacher %s (%s)", w3OrText(s.TeacherName, "?"), s.TeacherID)
}

func (s meetingState) guardianName() string {
	return fmt.Sprintf("guardian %s (%s)", w3OrText(s.GuardianName, "?"), s.GuardianID)
}

func (w parentTeacherMeeting) Handle(ctx context.Context, in *Instance, t Trigger) error {
	var st meetingState
	if err := in.Load(&st); err != nil {
		return err
	}
	switch e := t.Event.(type) {
	case domain.MeetingRequested:
		return w.requested(ctx, in, &st, e)
	case domain.MeetingScheduled:
		return w.scheduled(ctx, in, &st, e)
	case domain.MeetingCompleted:
		reason := fmt.Sprintf("the meeting of %s took place; outcome recorded by %s", st.slot(), e.CompletedBy)
		if e.Notes != "" {
			reason += ": " + e.Notes
		}
		in.Complete(reason)
	case domain.MeetingCancelled:
		in.Complete(fmt.Sprintf("cancelled by %s: %s", e.CancelledBy, e.Reason))
	case domain.MeetingNoShow:
		in.Complete(fmt.Sprintf("marked a no-show by %s: %s", e.RecordedBy, e.Reason))
	}
	return nil
}

// requested finds the first free slot and schedules the meeting there.
func (w parentTeacherMeeting) requested(ctx context.Context, in *Instance, st *meetingState, e domain.MeetingRequested) error {
	in.SetSchool(e.SchoolID)
	*st = meetingState{MeetingID: e.MeetingID, StudentID: e.StudentID, TeacherID: e.TeacherID,
		GuardianID: e.GuardianID, Topic: e.Topic}
	school, err := w3LoadSchool(ctx, w.d.Repo, e.SchoolID)
	if err != nil {
		return err
	}
	loc, tz := school.loc, school.tz
	st.Timezone, st.SchoolName = tz, school.name
	student, _, err := commands.Load(ctx, w.d.Repo, domain.NewStudent(e.StudentID))
	if err != nil {
		return err
	}
	st.StudentName = student.Name()
	for _, g := range student.Guardians() {
		if g.GuardianID == e.GuardianID {
			st.GuardianName = g.Name
		}
	}
	teacher, _, err := commands.Load(ctx, w.d.Repo, domain.NewTeacher(e.TeacherID))
	if err != nil {
		return err
	}
	st.TeacherName = teacher.Name()

	// The store decides: a meeting scheduled already (by hand, or by this
	// very step before a crash) keeps its slot; a closed one waits for its
	// closing event.
	mt, _, err := commands.Load(ctx, w.d.Repo, domain.NewMeeting(e.MeetingID))
	if err != nil {
		return err
	}
	switch mt.Status() {
	case domain.MeetingStatusCompleted, domain.MeetingStatusCancelled, domain.MeetingStatusNoShow:
		in.Record("requested", fmt.Sprintf("meeting requested by %s about %q; it is already %s", e.RequestedBy, e.Topic, mt.Status()))
		return in.Save(st)
	case domain.MeetingStatusScheduled:
		st.Date, st.Period = mt.Slot().Date.String(), mt.Slot().Period
		st.StartsAt = ptmSlotStart(loc, mt.Slot().Date, mt.Slot().Period, w.d.Settings)
		in.Record("scheduled", fmt.Sprintf("meeting requested by %s about %q is already scheduled for %s", e.RequestedBy, e.Topic, st.slot()))
		return w.afterScheduled(ctx, in, st, loc, "notify-scheduled", false)
	}

	search, err := w.freeSlots(ctx, in, st, loc)
	if err != nil {
		return err
	}
	var (
		res    commands.Result
		meta   commands.Meta
		chosen *slotCandidate
		taken  []string
	)
	schedule := commands.NewScheduleMeetingHandler(w.d.Repo)
	for i := range search.free {
		if len(taken) == maxSlotAttempts {
			break
		}
		c := search.free[i]
		meta = in.Meta("schedule:" + c.String())
		res, err = schedule.Handle(ctx, meta, commands.ScheduleMeeting{MeetingID: e.MeetingID, Date: c.Date.String(), Period: c.Period})
		if errors.Is(err, domain.ErrSlotTaken) {
			taken = append(taken, c.String())
			continue
		}
		if errors.Is(err, domain.ErrMeetingClosed) {
			// Cancelled meanwhile: its event closes the workflow.
			in.Record("requested", fmt.Sprintf("meeting requested by %s about %q was closed before it could be scheduled", e.RequestedBy, e.Topic))
			return in.Save(st)
		}
		if err != nil {
			return err
		}
		chosen = &search.free[i]
		break
	}
	if chosen == nil {
		reason := fmt.Sprintf("no period from %s to %s suits teacher %s and guardian %s: %s",
			search.from, search.to, e.TeacherID, e.GuardianID, search.explain())
		if len(taken) > 0 {
			reason += fmt.Sprintf("; %s were taken meanwhile", strings.Join(taken, ", "))
		}
		in.Fail("no_free_slot", reason)
		return in.Save(st)
	}
	st.Date, st.Period = chosen.Date.String(), chosen.Period
	st.StartsAt = ptmSlotStart(loc, chosen.Date, chosen.Period, w.d.Settings)
	reason := fmt.Sprintf("first free slot from %s: %s, %s %s (%s); %s", search.from, st.slot(),
		domain.WeekdayOf(chosen.Date), st.StartsAt.In(loc).Format("15:04"), tz, search.explainBefore(*chosen))
	if len(taken) > 0 {
		reason += fmt.Sprintf("; %s were taken meanwhile", strings.Join(taken, ", "))
	}
	in.Issued("scheduled", reason, meta, res)
	return w.afterScheduled(ctx, in, st, loc, "notify-scheduled", false)
}

// scheduled handles meeting.scheduled.v1: the workflow's own scheduling
// changes nothing; a move by hand moves the reminders and tells both.
func (w parentTeacherMeeting) scheduled(ctx context.Context, in *Instance, st *meetingState, e domain.MeetingScheduled) error {
	if e.Date.String() == st.Date && e.Period == st.Period {
		return nil
	}
	school, err := w3LoadSchool(ctx, w.d.Repo, in.SchoolID())
	if err != nil {
		return err
	}
	loc := school.loc
	old := st.slot()
	st.Date, st.Period = e.Date.String(), e.Period
	st.StartsAt = ptmSlotStart(loc, e.Date, e.Period, w.d.Settings)
	st.Rescheduled++
	in.Record("rescheduled", fmt.Sprintf("moved by %s from %s to %s: reminders moved", e.ScheduledBy, old, st.slot()))
	return w.afterScheduled(ctx, in, st, loc, "notify-rescheduled", true)
}

// afterScheduled tells both participants and sets the reminder and
// no-show deadlines for the meeting's slot.
func (w parentTeacherMeeting) afterScheduled(ctx context.Context, in *Instance, st *meetingState, loc *time.Location, purpose string, moved bool) error {
	if _, err := w.d.notify(ctx, in, purpose, ptmScheduledMessage(*st, w.d.Settings, moved),
		"participants_notified", fmt.Sprintf("%s and %s told of %s", st.teacherName(), st.guardianName(), st.slot())); err != nil {
		return err
	}

	now := in.Now()
	remindAt := st.StartsAt.Add(-w.d.Settings.MeetingReminder)
	if remindAt.After(now) {
		if err := in.Schedule(deadlineMeetingReminder, remindAt, nil); err != nil {
			return err
		}
	} else {
		in.Cancel(deadlineMeetingReminder)
		in.Record("reminder_skipped", fmt.Sprintf("the meeting starts at %s, less than %s from now: no reminder",
			st.StartsAt.In(loc).Format(time.RFC3339), w.d.Settings.MeetingReminder))
	}
	if err := in.Schedule(deadlineMeetingNoShow, st.StartsAt.Add(w.d.Settings.MeetingNoShowAfter), nil); err != nil {
		return err
	}
	return in.Save(st)
}

func (w parentTeacherMeeting) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	var st meetingState
	if err := in.Load(&st); err != nil {
		return err
	}
	mt, _, err := commands.Load(ctx, w.d.Repo, domain.NewMeeting(st.MeetingID))
	if err != nil {
		return err
	}
	sameSlot := mt.Slot().Date.String() == st.Date && mt.Slot().Period == st.Period
	if mt.Status() != domain.MeetingStatusScheduled || !sameSlot {
		// Its outcome or a move is recorded; the event tells the rest.
		in.Record(d.Name+"_skipped", fmt.Sprintf("the meeting is %s in %s: nothing to do", mt.Status(), mt.Slot()))
		return nil
	}
	school, err := w3LoadSchool(ctx, w.d.Repo, in.SchoolID())
	if err != nil {
		return err
	}
	loc := school.loc
	switch d.Name {
	case deadlineMeetingReminder:
		if !in.Now().Before(st.StartsAt) {
			// Fired late (the service was down): a reminder now would
			// come after the meeting began.
			in.Record("reminder_skipped", fmt.Sprintf("too late: the meeting began at %s", st.StartsAt.In(loc).Format("15:04")))
			return nil
		}
		if _, err := w.d.notify(ctx, in, "reminder", ptmReminderMessage(st, w.d.Settings),
			"reminded", fmt.Sprintf("%s and %s reminded of %s", st.teacherName(), st.guardianName(), st.slot())); err != nil {
			return err
		}
	case deadlineMeetingNoShow:
		reason := fmt.Sprintf("no outcome recorded by %s, %s after the meeting's start at %s (%s)",
			d.Due.In(loc).Format("15:04"), ptmDuration(w.d.Settings.MeetingNoShowAfter),
			st.StartsAt.In(loc).Format("Monday 2 January 15:04"), loc)
		m := in.Meta("no-show")
		res, err := commands.NewMarkMeetingNoShowHandler(w.d.Repo).Handle(ctx, m,
			commands.MarkMeetingNoShow{MeetingID: st.MeetingID, Reason: reason})
		if errors.Is(err, domain.ErrMeetingClosed) {
			// Its outcome was recorded a moment ago: its event follows.
			in.Record("no_show_skipped", "the meeting's outcome was recorded meanwhile")
			return nil
		}
		if err != nil {
			return err
		}
		in.Issued("marked_no_show", reason, m, res)
		if _, err := w.d.notify(ctx, in, "notify-no-show", ptmNoShowMessage(st, w.d.Settings, reason),
			"participants_notified", fmt.Sprintf("%s and %s told the meeting was marked a no-show", st.teacherName(), st.guardianName())); err != nil {
			return err
		}
		in.Complete("marked a no-show: " + reason)
	}
	return nil
}

// slotCandidate is a period of a date.
type slotCandidate struct {
	Date   domain.Date
	Period int
}

func (c slotCandidate) String() string { return fmt.Sprintf("%s period %d", c.Date, c.Period) }

// slotSearch is what the search saw: the free slots in order and, for the
// explanation, why the others were not.
type slotSearch struct {
	from, to domain.Date
	free     []slotCandidate
	// busy: candidate -> why it is not free.
	busy map[slotCandidate]string
	// candidates in order (school days × periods).
	order []slotCandidate
}

// freeSlots lists the periods from tomorrow (school-local) for
// meetingSearchWeeks on the school days where the teacher teaches no
// lesson, has no meeting, and the guardian has no meeting.
func (w parentTeacherMeeting) freeSlots(ctx context.Context, in *Instance, st *meetingState, loc *time.Location) (slotSearch, error) {
	today := w3LocalDate(in.Now(), loc)
	s := slotSearch{from: today.AddDays(1), to: today.AddDays(7 * meetingSearchWeeks), busy: map[slotCandidate]string{}}
	tt, _, err := commands.Load(ctx, w.d.Repo, domain.NewTimetable(in.SchoolID()))
	if err != nil {
		return s, err
	}
	lessons := map[domain.Slot]bool{}
	for _, sl := range tt.TeacherSlots(st.TeacherID) {
		lessons[sl] = true
	}
	cal, _, err := commands.Load(ctx, w.d.Repo, domain.NewTeacherCalendar(st.TeacherID))
	if err != nil {
		return s, err
	}
	guardian := map[slotCandidate]bool{}
	if w.d.Directory != nil {
		slots, err := w.d.Directory.GuardianMeetings(ctx, in.SchoolID(), st.GuardianID, s.from, s.to)
		if err != nil {
			return s, err
		}
		for _, g := range slots {
			guardian[slotCandidate{g.Date, g.Period}] = true
		}
	}
	periods := min(w.d.Settings.PeriodsPerDay, domain.MaxPeriod)
	for d := s.from; !d.After(s.to); d = d.AddDays(1) {
		if !slices.Contains(w.d.Settings.SchoolDays, domain.WeekdayOf(d)) {
			continue
		}
		for p := 1; p <= periods; p++ {
			c := slotCandidate{d, p}
			s.order = append(s.order, c)
			holder, booked := cal.HolderOf(d, p)
			switch {
			case lessons[domain.Slot{Day: domain.WeekdayOf(d), Period: p}]:
				s.busy[c] = "lesson"
			case booked && holder != st.MeetingID:
				s.busy[c] = "teacher meeting"
			case guardian[c]:
				s.busy[c] = "guardian meeting"
			default:
				s.free = append(s.free, c)
			}
		}
	}
	return s, nil
}

// explain counts the busy periods by cause.
func (s slotSearch) explain() string {
	return s.count(s.order) + fmt.Sprintf(" of %d periods on school days", len(s.order))
}

// explainBefore says why the periods before c were not taken.
func (s slotSearch) explainBefore(c slotCandidate) string {
	i := slices.Index(s.order, c)
	if i <= 0 {
		return "the first period searched was free"
	}
	return fmt.Sprintf("the %d earlier periods were taken (%s)", i, s.count(s.order[:i]))
}

func (s slotSearch) count(cands []slotCandidate) string {
	n := map[string]int{}
	for _, c := range cands {
		if why, ok := s.busy[c]; ok {
			n[why]++
		}
	}
	var parts []string
	for _, why := range []string{"lesson", "teacher meeting", "guardian meeting"} {
		if n[why] > 0 {
			parts = append(parts, count(n[why], why))
		}
	}
	if len(parts) == 0 {
		return "none busy"
	}
	return strings.Join(parts, ", ")
}

// w3School is what the workflows read of a school: its name and time
// zone (UTC when unknown or invalid: the command side checked it at
// registration).
type w3School struct {
	name string
	tz   string
	loc  *time.Location
}

// w3LoadSchool reads a school from its stream.
func w3LoadSchool(ctx context.Context, repo *commands.Repository, schoolID string) (w3School, error) {
	sc, _, err := commands.Load(ctx, repo, domain.NewSchool(schoolID))
	if err != nil {
		return w3School{}, err
	}
	s := w3School{name: sc.Name(), tz: sc.Timezone(), loc: time.UTC}
	if loc, err := time.LoadLocation(s.tz); s.tz != "" && err == nil {
		s.loc = loc
	} else {
		s.tz = "UTC"
	}
	return s, nil
}

// w3LocalDate is the calendar date at t in loc.
func w3LocalDate(t time.Time, loc *time.Location) domain.Date {
	y, m, d := t.In(loc).Date()
	return domain.DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// ptmSlotStart is when a period of a date starts, school-local: DayStart +
// (period−1) × PeriodLength after midnight, as wall-clock time (so a
// daylight-saving change that night does not shift it).
func ptmSlotStart(loc *time.Location, date domain.Date, period int, s Settings) time.Time {
	off := s.DayStart + time.Duration(period-1)*s.PeriodLength
	y, m, d := date.Time().Date()
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	sec := int(off % time.Minute / time.Second)
	return time.Date(y, m, d, h, mi, sec, 0, loc).UTC()
}
