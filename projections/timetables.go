package projections

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// timetablesProjection keeps every published version of each school's
// timetable (stream timetable-<schoolId>, one per school) with its
// lessons, so a class's or teacher's week can be read for the current
// version or any earlier one.
type timetablesProjection struct{}

const timetablesName = "timetables"

func (timetablesProjection) Name() string { return timetablesName }

func (timetablesProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelTimetable}
}

func (timetablesProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS timetable_versions (
    school_id    text NOT NULL,
    version      int NOT NULL,
    change_kind  text NOT NULL,
    reason       text NOT NULL,
    published_at timestamptz NOT NULL,
    lessons      int NOT NULL,
    PRIMARY KEY (school_id, version)
);
CREATE TABLE IF NOT EXISTS timetable_lessons (
    school_id  text NOT NULL,
    version    int NOT NULL,
    class_id   text NOT NULL,
    day        text NOT NULL,
    period     int NOT NULL,
    day_rank   int NOT NULL, -- 1 = Monday, for week order
    subject    text NOT NULL,
    teacher_id text NOT NULL,
    PRIMARY KEY (school_id, version, class_id, day, period)
);
CREATE INDEX IF NOT EXISTS timetable_lessons_class_idx ON timetable_lessons (school_id, class_id, version);
CREATE INDEX IF NOT EXISTS timetable_lessons_teacher_idx ON timetable_lessons (school_id, teacher_id, version);
`
}

var weekdayRanks = []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday,
	domain.Friday, domain.Saturday, domain.Sunday}

func (timetablesProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type != domain.TimetablePublishedType {
		return nil
	}
	ev, err := decodeAs[domain.TimetablePublished](ctx, e)
	if err != nil {
		return err
	}
	school := tenantOf(e, ev.SchoolID)
	n := len(ev.Entries)
	classes, days, subjects, teachers := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	periods, ranks := make([]int32, n), make([]int32, n)
	for i, l := range ev.Entries {
		classes[i], days[i], subjects[i], teachers[i] = l.ClassID, string(l.Slot.Day), string(l.Subject), l.TeacherID
		periods[i], ranks[i] = int32(l.Slot.Period), int32(slices.Index(weekdayRanks, l.Slot.Day)+1)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO timetable_versions (school_id, version, change_kind, reason, published_at, lessons) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (school_id, version) DO UPDATE SET change_kind = excluded.change_kind, reason = excluded.reason,
    published_at = excluded.published_at, lessons = excluded.lessons`,
		school, ev.Version, string(ev.ChangeKind), ev.Reason, ev.At, n); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM timetable_lessons WHERE school_id = $1 AND version = $2`, school, ev.Version); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
INSERT INTO timetable_lessons (school_id, version, class_id, day, period, day_rank, subject, teacher_id)
SELECT $1, $2, c, d, p, r, s, t FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[]) AS u(c, d, p, r, s, t)
ON CONFLICT (school_id, version, class_id, day, period) DO UPDATE SET subject = excluded.subject, teacher_id = excluded.teacher_id`,
		school, ev.Version, classes, days, periods, ranks, subjects, teachers)
	return err
}
