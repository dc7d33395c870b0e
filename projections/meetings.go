package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// meetingsProjection is the meetings calendar (streams meeting-<id>): each
// parent–teacher meeting with its participants, status and slot, listed per
// teacher or per guardian. The teacher calendar aggregate's booking events
// are not needed: the meeting's own events carry its slot. A meeting marked
// a no-show (meeting.no_show.v1) keeps its date and period: its slot stays
// booked, as for a completed one.
type meetingsProjection struct{}

const meetingsName = "meetings"

func (meetingsProjection) Name() string { return meetingsName }

// SchemaVersion: 1 added the no-show (status no_show, its reason and
// time); a rebuild also applies the meeting.no_show.v1 events consumed
// before they were handled.
func (meetingsProjection) SchemaVersion() int { return 1 }

func (meetingsProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelCommunication}
}

func (meetingsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS meetings (
    meeting_id     text PRIMARY KEY,
    school_id      text NOT NULL,
    student_id     text NOT NULL,
    teacher_id     text NOT NULL,
    guardian_id    text NOT NULL,
    requested_by   text NOT NULL,
    topic          text NOT NULL,
    status         text NOT NULL,
    date           date,  -- null while only requested
    period         int,
    reschedules    int NOT NULL DEFAULT 0,
    notes          text NOT NULL DEFAULT '',
    cancel_reason  text NOT NULL DEFAULT '',
    requested_at   timestamptz NOT NULL,
    scheduled_at   timestamptz,
    completed_at   timestamptz,
    cancelled_at   timestamptz,
    no_show_reason text NOT NULL DEFAULT '',
    no_show_at     timestamptz
);
CREATE INDEX IF NOT EXISTS meetings_teacher_idx ON meetings (school_id, teacher_id, date, period);
CREATE INDEX IF NOT EXISTS meetings_guardian_idx ON meetings (school_id, guardian_id, date, period);
CREATE INDEX IF NOT EXISTS meetings_student_idx ON meetings (school_id, student_id);
`
}

func (meetingsProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.MeetingRequestedType:
		ev, err := decodeAs[domain.MeetingRequested](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO meetings (meeting_id, school_id, student_id, teacher_id, guardian_id, requested_by, topic, status, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8)
ON CONFLICT (meeting_id) DO UPDATE SET school_id = excluded.school_id, student_id = excluded.student_id,
    teacher_id = excluded.teacher_id, guardian_id = excluded.guardian_id, requested_by = excluded.requested_by,
    topic = excluded.topic, status = 'requested', requested_at = excluded.requested_at`,
			ev.MeetingID, tenantOf(e, ev.SchoolID), ev.StudentID, ev.TeacherID, ev.GuardianID, ev.RequestedBy, ev.Topic, ev.At)
		return err
	case domain.MeetingScheduledType:
		ev, err := decodeAs[domain.MeetingScheduled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'scheduled', date = $2, period = $3, scheduled_at = $4,
    reschedules = reschedules + CASE WHEN $5 THEN 1 ELSE 0 END
WHERE meeting_id = $1`, ev.MeetingID, ev.Date.Time(), ev.Period, ev.At, ev.Rescheduled)
		return err
	case domain.MeetingCompletedType:
		ev, err := decodeAs[domain.MeetingCompleted](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'completed', notes = $2, completed_at = $3 WHERE meeting_id = $1`,
			ev.MeetingID, ev.Notes, ev.At)
		return err
	case domain.MeetingCancelledType:
		ev, err := decodeAs[domain.MeetingCancelled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'cancelled', cancel_reason = $2, cancelled_at = $3 WHERE meeting_id = $1`,
			ev.MeetingID, ev.Reason, ev.At)
		return err
	case domain.MeetingNoShowType:
		ev, err := decodeAs[domain.MeetingNoShow](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'no_show', no_show_reason = $2, no_show_at = $3 WHERE meeting_id = $1`,
			ev.MeetingID, ev.Reason, ev.At)
		return err
	}
	return nil
}
