package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// atRiskProjection is the at-risk board: each student's latest risk
// assessment (level, score and the factors behind it; risk.assessed.v1,
// streams risk-<studentId>) and their interventions (streams
// intervention-<id>: opened, followed up, escalated to the school office,
// closed), with the student's name and class from the student streams.
//
// "Latest" is by the assessment's version in its risk stream: a student's
// assessments are the events of one stream, risk-<studentId>, so the
// version orders them exactly (times may tie), and the greater version
// wins whatever order the runner is handed the events in (it applies a
// stream's versions in order anyway).
type atRiskProjection struct{}

const atRiskName = "at_risk"

func (atRiskProjection) Name() string { return atRiskName }

// SchemaVersion: 1 ordered assessments by stream version (was by time and
// event ID) and added the interventions' escalation; a rebuild also applies
// the intervention.escalated.v1 events consumed before it was handled.
func (atRiskProjection) SchemaVersion() int { return 1 }

func (atRiskProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelAIServices, domain.ChannelStudent}
}

func (atRiskProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS risk_assessments (
    student_id  text PRIMARY KEY,
    school_id   text NOT NULL,
    level       text NOT NULL,
    level_rank  int NOT NULL, -- low 1, medium 2, high 3
    score       double precision NOT NULL,
    factors     jsonb NOT NULL,
    assessed_at timestamptz NOT NULL,
    version     bigint NOT NULL -- the assessment's version in the stream risk-<studentId>
);
CREATE INDEX IF NOT EXISTS risk_assessments_rank_idx ON risk_assessments (school_id, level_rank, score);

CREATE TABLE IF NOT EXISTS interventions (
    intervention_id   text PRIMARY KEY,
    school_id         text NOT NULL,
    student_id        text NOT NULL,
    reason            text NOT NULL,
    plan              text[] NOT NULL,
    assigned_to       text NOT NULL,
    follow_up_due     date,
    risk_level        text NOT NULL,
    risk_rank         int NOT NULL, -- 0 when the intervention names no level
    status            text NOT NULL,
    outcome           text NOT NULL DEFAULT '',
    closing_note      text NOT NULL DEFAULT '',
    opened_by         text NOT NULL,
    opened_at         timestamptz NOT NULL,
    closed_by         text NOT NULL DEFAULT '',
    closed_at         timestamptz,
    follow_ups        int NOT NULL DEFAULT 0,
    last_follow_up_at timestamptz,
    escalated         boolean NOT NULL DEFAULT false, -- handed to the school office (it stays open)
    escalated_at      timestamptz,
    escalated_by      text NOT NULL DEFAULT '',
    escalation_reason text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS interventions_student_idx ON interventions (school_id, student_id, status);
CREATE INDEX IF NOT EXISTS interventions_opened_idx ON interventions (school_id, opened_at, intervention_id);
CREATE INDEX IF NOT EXISTS interventions_assignee_idx ON interventions (school_id, assigned_to, status);

CREATE TABLE IF NOT EXISTS intervention_follow_ups (
    intervention_id text NOT NULL,
    seq             bigint NOT NULL, -- the event's version in the intervention's stream
    school_id       text NOT NULL,
    note            text NOT NULL,
    next_due        date,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    PRIMARY KEY (intervention_id, seq)
);

-- Written by student streams only.
CREATE TABLE IF NOT EXISTS students (
    student_id text PRIMARY KEY,
    school_id  text NOT NULL,
    name       text NOT NULL,
    class_id   text,
    status     text NOT NULL
);
CREATE INDEX IF NOT EXISTS students_class_idx ON students (school_id, class_id);
`
}

func riskRank(level string) int {
	switch domain.RiskLevel(level) {
	case domain.RiskLow:
		return 1
	case domain.RiskMedium:
		return 2
	case domain.RiskHigh:
		return 3
	}
	return 0
}

func (atRiskProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.RiskAssessedType:
		ev, err := decodeAs[domain.RiskAssessed](ctx, e)
		if err != nil {
			return err
		}
		level, err := domain.RiskLevelFromString("level", string(ev.Level))
		switch {
		case err != nil:
			return fmt.Errorf("%s version %d: %s: %w", e.StreamID, e.Version, e.Type, err)
		case ev.StudentID == "":
			return fmt.Errorf("%s version %d: %s has no studentId", e.StreamID, e.Version, e.Type)
		case e.StreamID != domain.NewRiskProfile(ev.StudentID).StreamID():
			// The version orders a student's assessments only within
			// their one stream.
			return fmt.Errorf("%s version %d: %s of student %s is not in their stream %s",
				e.StreamID, e.Version, e.Type, ev.StudentID, domain.NewRiskProfile(ev.StudentID).StreamID())
		case math.IsNaN(ev.Score) || math.IsInf(ev.Score, 0):
			return fmt.Errorf("%s version %d: %s has score %v", e.StreamID, e.Version, e.Type, ev.Score)
		}
		factors := make([]RiskFactor, len(ev.Factors))
		for i, f := range ev.Factors {
			factors[i] = RiskFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Reason: f.Reason}
		}
		body, err := json.Marshal(factors)
		if err != nil {
			return err
		}
		at := ev.At
		if at.IsZero() {
			at = e.RecordedAt
		}
		_, err = tx.Exec(ctx, `
INSERT INTO risk_assessments (student_id, school_id, level, level_rank, score, factors, assessed_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (student_id) DO UPDATE SET school_id = excluded.school_id, level = excluded.level,
    level_rank = excluded.level_rank, score = excluded.score, factors = excluded.factors,
    assessed_at = excluded.assessed_at, version = excluded.version
 WHERE excluded.version > risk_assessments.version`,
			ev.StudentID, tenantOf(e, ev.SchoolID), string(level), riskRank(string(level)), ev.Score, string(body), at.UTC(), int64(e.Version))
		return err
	case domain.InterventionOpenedType:
		ev, err := decodeAs[domain.InterventionOpened](ctx, e)
		if err != nil {
			return err
		}
		plan := ev.Plan
		if plan == nil {
			plan = []string{}
		}
		_, err = tx.Exec(ctx, `
INSERT INTO interventions (intervention_id, school_id, student_id, reason, plan, assigned_to, follow_up_due, risk_level,
    risk_rank, status, opened_by, opened_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)
ON CONFLICT (intervention_id) DO UPDATE SET school_id = excluded.school_id, student_id = excluded.student_id,
    reason = excluded.reason, plan = excluded.plan, assigned_to = excluded.assigned_to, follow_up_due = excluded.follow_up_due,
    risk_level = excluded.risk_level, risk_rank = excluded.risk_rank, status = 'open', opened_by = excluded.opened_by,
    opened_at = excluded.opened_at`,
			ev.InterventionID, tenantOf(e, ev.SchoolID), ev.StudentID, ev.Reason, plan, ev.AssignedTo, nullDate(ev.FollowUpDue),
			string(ev.RiskLevel), riskRank(string(ev.RiskLevel)), ev.OpenedBy, ev.At)
		return err
	case domain.InterventionFollowUpRecordedType:
		ev, err := decodeAs[domain.InterventionFollowUpRecorded](ctx, e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO intervention_follow_ups (intervention_id, seq, school_id, note, next_due, recorded_by, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (intervention_id, seq) DO NOTHING`,
			ev.InterventionID, int64(e.Version), tenantOf(e, ev.SchoolID), ev.Note, nullDate(ev.NextFollowUpDue), ev.RecordedBy, ev.At); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE interventions SET follow_up_due = $2, last_follow_up_at = $3,
    follow_ups = (SELECT count(*) FROM intervention_follow_ups WHERE intervention_id = $1)
WHERE intervention_id = $1`, ev.InterventionID, nullDate(ev.NextFollowUpDue), ev.At)
		return err
	case domain.InterventionEscalatedType:
		ev, err := decodeAs[domain.InterventionEscalated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE interventions SET escalated = true, escalated_at = $2, escalated_by = $3,
    escalation_reason = $4
WHERE intervention_id = $1`, ev.InterventionID, ev.At, ev.EscalatedBy, ev.Reason)
		return err
	case domain.InterventionClosedType:
		ev, err := decodeAs[domain.InterventionClosed](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE interventions SET status = 'closed', outcome = $2, closing_note = $3, closed_by = $4,
    closed_at = $5, follow_up_due = NULL
WHERE intervention_id = $1`, ev.InterventionID, string(ev.Outcome), ev.Note, ev.ClosedBy, ev.At)
		return err
	}
	return applyStudentCopy(ctx, tx, e)
}
