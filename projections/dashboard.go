package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// dashboardProjection feeds the school dashboard: headcounts of teachers
// and classes, and interventions opened and closed. It keeps its own slim
// copy of each fact, one table per kind of stream, and the figures are
// aggregated when queried.
//
// The student headcounts, the grade averages and the attendance trend
// are aggregated from the performance and attendance read models instead,
// whose students, assessments and registers (with their counts by status)
// hold exactly what a copy here would: the dashboard does not write every
// student, grade and register a second time. A grade counts for the class
// its student is in now, whichever of the two arrived first.
type dashboardProjection struct{}

const dashboardName = "dashboard"

func (dashboardProjection) Name() string { return dashboardName }

// SchemaVersion 1: attendance as one row per register (was one per line);
// 2: no grades table (the averages come from the performance read model);
// 3: no attendance table (the trend comes from the attendance read model),
// the students indexed for the headcounts rather than by class;
// 4: no students table (the headcounts count the performance read
// model's students, whose classes the averages already use).
func (dashboardProjection) SchemaVersion() int { return 4 }

func (dashboardProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelTeacher, domain.ChannelStudent, domain.ChannelAIServices}
}

// StreamCategories: what the dashboard counts; not, among others, the risk
// profiles that are most of the ai_services channel.
func (dashboardProjection) StreamCategories() []string {
	return []string{"teacher", "class", "intervention"}
}

func (dashboardProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS teachers (
    teacher_id text PRIMARY KEY,
    school_id  text NOT NULL,
    active     boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS teachers_school_idx ON teachers (school_id);

CREATE TABLE IF NOT EXISTS classes (
    class_id  text PRIMARY KEY,
    school_id text NOT NULL,
    name      text NOT NULL
);
CREATE INDEX IF NOT EXISTS classes_school_idx ON classes (school_id);

CREATE TABLE IF NOT EXISTS interventions (
    intervention_id text PRIMARY KEY,
    school_id       text NOT NULL,
    status          text NOT NULL,
    outcome         text NOT NULL DEFAULT '',
    opened_at       timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE INDEX IF NOT EXISTS interventions_school_idx ON interventions (school_id);
`
}

func (dashboardProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.TeacherCreatedType:
		ev, err := decodeAs[domain.TeacherCreated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO teachers (teacher_id, school_id, active) VALUES ($1, $2, true)
ON CONFLICT (teacher_id) DO UPDATE SET school_id = excluded.school_id, active = true`, ev.TeacherID, tenantOf(e, ev.SchoolID))
		return err
	case domain.TeacherDeactivatedType:
		ev, err := decodeAs[domain.TeacherDeactivated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teachers SET active = false WHERE teacher_id = $1`, ev.TeacherID)
		return err
	case domain.ClassCreatedType:
		ev, err := decodeAs[domain.ClassCreated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO classes (class_id, school_id, name) VALUES ($1, $2, $3)
ON CONFLICT (class_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name`,
			ev.ClassID, tenantOf(e, ev.SchoolID), ev.Name)
		return err
	case domain.InterventionOpenedType:
		ev, err := decodeAs[domain.InterventionOpened](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO interventions (intervention_id, school_id, status, opened_at) VALUES ($1, $2, 'open', $3)
ON CONFLICT (intervention_id) DO UPDATE SET school_id = excluded.school_id, status = 'open', opened_at = excluded.opened_at`,
			ev.InterventionID, tenantOf(e, ev.SchoolID), ev.At)
		return err
	case domain.InterventionClosedType:
		ev, err := decodeAs[domain.InterventionClosed](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE interventions SET status = 'closed', outcome = $2, closed_at = $3 WHERE intervention_id = $1`,
			ev.InterventionID, string(ev.Outcome), ev.At)
		return err
	}
	return nil
}
