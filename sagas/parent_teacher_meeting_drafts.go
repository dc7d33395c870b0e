package sagas

import (
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// The parent_teacher_meeting notifications: texts from package drafting,
// one message to both participants (teacher and guardian), so both read
// the same facts.

func ptmRecipients(st meetingState) []domain.RecipientInput {
	return []domain.RecipientInput{
		{Kind: string(domain.RecipientTeacher), ID: st.TeacherID},
		{Kind: string(domain.RecipientGuardian), ID: st.GuardianID},
	}
}

// ptmSlotNote says how the workflow chose the slot.
const ptmSlotNote = "the first period from the next day in which the teacher teaches no lesson and has no other meeting, " +
	"and the guardian has no other meeting"

// ptmDraft is the drafting input of the meeting as the state has it.
func ptmDraft(st meetingState, s Settings) drafting.Meeting {
	date, _ := domain.ParseDate("date", st.Date)
	return drafting.Meeting{SchoolName: st.SchoolName, StudentName: st.StudentName, TeacherName: st.TeacherName,
		GuardianName: st.GuardianName, Topic: st.Topic, Date: date, Period: st.Period,
		Periods: drafting.Periods{DayStart: s.DayStart, PeriodLength: s.PeriodLength, Timezone: st.Timezone}}
}

func ptmNotification(st meetingState, subject, body string) Notification {
	return Notification{Recipients: ptmRecipients(st), Subject: subject, Body: body,
		Category: string(domain.CategoryMeeting), RelatedTo: "student-" + st.StudentID}
}

// ptmScheduledMessage tells both of the slot (or of its move).
func ptmScheduledMessage(st meetingState, s Settings, moved bool) Notification {
	m := ptmDraft(st, s)
	m.Rescheduled = moved
	if !moved {
		m.Note = ptmSlotNote
	}
	subject, body := drafting.MeetingScheduled(m)
	return ptmNotification(st, subject, body)
}

// ptmReminderMessage reminds both of the meeting.
func ptmReminderMessage(st meetingState, s Settings) Notification {
	subject, body := drafting.MeetingReminder(ptmDraft(st, s))
	return ptmNotification(st, subject, body)
}

// ptmNoShowMessage tells both the meeting was recorded as a no-show.
func ptmNoShowMessage(st meetingState, s Settings, reason string) Notification {
	m := ptmDraft(st, s)
	m.Reason = reason
	subject, body := drafting.MeetingNoShow(m)
	return ptmNotification(st, subject, body)
}

// ptmDuration is a duration in words: "24 hours", "2 hours", "90 minutes".
func ptmDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return count(int(d/time.Minute), "minute")
	}
	return d.String()
}

// w3OrText is s, or alt when s is blank.
func w3OrText(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}
