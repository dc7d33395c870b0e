package projections

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RiskFactor is one input of a risk assessment and why it counted.
type RiskFactor struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Weight float64 `json:"weight"`
	Reason string  `json:"reason"`
}

// AtRiskStudent is a row of the at-risk board.
//
// Level is the latest risk assessment's (LevelSource "assessment"); for a
// student with open interventions but no assessment, the highest level the
// open interventions name (LevelSource "intervention"; Level empty if they
// name none). Score, Factors and AssessedAt come from the assessment only.
type AtRiskStudent struct {
	StudentID         string                `json:"studentId"`
	Name              string                `json:"name"`              // empty while the student is unknown
	ClassID           string                `json:"classId,omitempty"` // current class
	Level             string                `json:"level,omitempty"`
	LevelSource       string                `json:"levelSource"`
	Score             *float64              `json:"score,omitempty"`
	Factors           []RiskFactor          `json:"factors"`
	AssessedAt        *time.Time            `json:"assessedAt,omitempty"`
	OpenInterventions []InterventionSummary `json:"openInterventions"`
}

// InterventionSummary is an intervention as the board shows it.
// Escalated says it was handed to the school office at EscalatedAt
// (intervention.escalated.v1); it stays open.
type InterventionSummary struct {
	InterventionID string     `json:"interventionId"`
	Reason         string     `json:"reason"`
	AssignedTo     string     `json:"assignedTo"`
	RiskLevel      string     `json:"riskLevel,omitempty"`
	FollowUpDue    string     `json:"followUpDue,omitempty"` // YYYY-MM-DD
	OpenedAt       time.Time  `json:"openedAt"`
	FollowUps      int        `json:"followUps"`
	LastFollowUpAt *time.Time `json:"lastFollowUpAt,omitempty"`
	Escalated      bool       `json:"escalated"`
	EscalatedAt    *time.Time `json:"escalatedAt,omitempty"`
}

// Intervention is an intervention with its follow-ups. Escalated says it
// was handed to the school office (the admin recipient "office"), by
// EscalatedBy at EscalatedAt for EscalationReason; an escalated
// intervention stays open, assigned as before.
type Intervention struct {
	InterventionID   string               `json:"interventionId"`
	StudentID        string               `json:"studentId"`
	Reason           string               `json:"reason"`
	Plan             []string             `json:"plan"`
	AssignedTo       string               `json:"assignedTo"`
	RiskLevel        string               `json:"riskLevel,omitempty"`
	Status           string               `json:"status"` // open | closed
	FollowUpDue      string               `json:"followUpDue,omitempty"`
	Outcome          string               `json:"outcome,omitempty"`
	ClosingNote      string               `json:"closingNote,omitempty"`
	OpenedBy         string               `json:"openedBy"`
	OpenedAt         time.Time            `json:"openedAt"`
	ClosedBy         string               `json:"closedBy,omitempty"`
	ClosedAt         *time.Time           `json:"closedAt,omitempty"`
	Escalated        bool                 `json:"escalated"`
	EscalatedAt      *time.Time           `json:"escalatedAt,omitempty"`
	EscalatedBy      string               `json:"escalatedBy,omitempty"`
	EscalationReason string               `json:"escalationReason,omitempty"`
	FollowUps        []InterventionFollow `json:"followUps"`
}

// InterventionFollow is a recorded follow-up.
type InterventionFollow struct {
	Note       string    `json:"note"`
	NextDue    string    `json:"nextDue,omitempty"`
	RecordedBy string    `json:"recordedBy"`
	RecordedAt time.Time `json:"recordedAt"`
}

// AtRiskFilter selects board rows: Level (low, medium, high) keeps that
// level; ClassID the students currently in the class.
type AtRiskFilter struct {
	Level   string
	ClassID string
	PageParams
}

// InterventionFilter selects interventions, newest first.
type InterventionFilter struct {
	StudentID  string
	AssignedTo string
	Status     string // open | closed | "" for all
	PageParams
}

// ListAtRisk returns the at-risk board: students with a risk assessment
// or an open intervention, highest level first, then highest score.
func ListAtRisk(ctx context.Context, db Querier, schoolID string, f AtRiskFilter) (Page[AtRiskStudent], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[AtRiskStudent]{}, err
	}
	p, err := keyset{list: "at-risk", desc: true,
		cols: []sortKey{{"b.lvl_rank", "int"}, {"b.score_key", "float8"}, {"b.student_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[AtRiskStudent]{}, err
	}
	var q sqlQuery
	school := q.arg(schoolID)
	if f.Level != "" {
		level, err := domain.RiskLevelFromString("level", f.Level)
		if err != nil {
			return Page[AtRiskStudent]{}, err
		}
		q.where("b.lvl_rank = " + q.arg(riskRank(string(level))))
	}
	if f.ClassID != "" {
		q.where("s.class_id = " + q.arg(f.ClassID))
	}
	type row struct {
		s        AtRiskStudent
		rank     int
		scoreKey float64
	}
	levels := []string{"", string(domain.RiskLow), string(domain.RiskMedium), string(domain.RiskHigh)}
	res, err := queryPage(ctx, db, p, `
WITH open_iv AS (
    SELECT student_id, max(risk_rank) AS iv_rank FROM rm_at_risk.interventions
     WHERE school_id = `+school+` AND status = 'open' GROUP BY student_id
), b AS (
    SELECT coalesce(r.student_id, o.student_id) AS student_id,
           coalesce(r.level_rank, o.iv_rank, 0) AS lvl_rank,
           coalesce(r.score, -1) AS score_key,
           r.level, r.score, r.factors, r.assessed_at,
           CASE WHEN r.student_id IS NULL THEN 'intervention' ELSE 'assessment' END AS source
      FROM (SELECT * FROM rm_at_risk.risk_assessments WHERE school_id = `+school+`) r
      FULL JOIN open_iv o ON o.student_id = r.student_id
)
SELECT b.student_id, b.lvl_rank, b.score_key, coalesce(s.name, ''), coalesce(s.class_id, ''), b.source,
       b.score, coalesce(b.factors, '[]'::jsonb), b.assessed_at
  FROM b LEFT JOIN rm_at_risk.students s ON s.student_id = b.student_id AND s.school_id = `+school, &q,
		func(r pgx.Rows) (row, error) {
			var x row
			err := r.Scan(&x.s.StudentID, &x.rank, &x.scoreKey, &x.s.Name, &x.s.ClassID, &x.s.LevelSource,
				&x.s.Score, &x.s.Factors, &x.s.AssessedAt)
			if x.rank >= 0 && x.rank < len(levels) {
				x.s.Level = levels[x.rank]
			}
			return x, err
		},
		func(x row) []string {
			return []string{strconv.Itoa(x.rank), strconv.FormatFloat(x.scoreKey, 'g', -1, 64), x.s.StudentID}
		})
	if err != nil {
		return Page[AtRiskStudent]{}, err
	}
	out := Page[AtRiskStudent]{Items: make([]AtRiskStudent, len(res.Items)), NextCursor: res.NextCursor}
	at := map[string]int{}
	ids := make([]string, len(res.Items))
	for i, x := range res.Items {
		out.Items[i] = x.s
		out.Items[i].OpenInterventions = []InterventionSummary{}
		if out.Items[i].Factors == nil {
			out.Items[i].Factors = []RiskFactor{}
		}
		at[x.s.StudentID] = i
		ids[i] = x.s.StudentID
	}
	if len(ids) == 0 {
		return out, nil
	}
	ivRows, err := db.Query(ctx, `SELECT student_id, intervention_id, reason, assigned_to, risk_level, coalesce(follow_up_due::text, ''),
    opened_at, follow_ups, last_follow_up_at, escalated, escalated_at
  FROM rm_at_risk.interventions WHERE school_id = $1 AND status = 'open' AND student_id = ANY ($2)
 ORDER BY student_id, opened_at, intervention_id`, schoolID, ids)
	if err != nil {
		return Page[AtRiskStudent]{}, err
	}
	defer ivRows.Close()
	for ivRows.Next() {
		var student string
		var iv InterventionSummary
		if err := ivRows.Scan(&student, &iv.InterventionID, &iv.Reason, &iv.AssignedTo, &iv.RiskLevel, &iv.FollowUpDue,
			&iv.OpenedAt, &iv.FollowUps, &iv.LastFollowUpAt, &iv.Escalated, &iv.EscalatedAt); err != nil {
			return Page[AtRiskStudent]{}, err
		}
		i := at[student]
		out.Items[i].OpenInterventions = append(out.Items[i].OpenInterventions, iv)
	}
	return out, ivRows.Err()
}

const interventionColumns = `intervention_id, student_id, reason, plan, assigned_to, risk_level, status,
    coalesce(follow_up_due::text, ''), outcome, closing_note, opened_by, opened_at, closed_by, closed_at,
    escalated, escalated_at, escalated_by, escalation_reason`

func scanIntervention(r pgx.Row) (Intervention, error) {
	var iv Intervention
	err := r.Scan(&iv.InterventionID, &iv.StudentID, &iv.Reason, &iv.Plan, &iv.AssignedTo, &iv.RiskLevel, &iv.Status,
		&iv.FollowUpDue, &iv.Outcome, &iv.ClosingNote, &iv.OpenedBy, &iv.OpenedAt, &iv.ClosedBy, &iv.ClosedAt,
		&iv.Escalated, &iv.EscalatedAt, &iv.EscalatedBy, &iv.EscalationReason)
	iv.FollowUps = []InterventionFollow{}
	return iv, err
}

// GetIntervention returns one intervention with its follow-ups.
func GetIntervention(ctx context.Context, db Querier, schoolID, interventionID string) (Intervention, error) {
	if err := requireSchool(schoolID); err != nil {
		return Intervention{}, err
	}
	iv, err := scanIntervention(db.QueryRow(ctx, `SELECT `+interventionColumns+` FROM rm_at_risk.interventions
WHERE school_id = $1 AND intervention_id = $2`, schoolID, interventionID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Intervention{}, notFound("intervention %s not found", interventionID)
	}
	if err != nil {
		return Intervention{}, err
	}
	rows, err := db.Query(ctx, `SELECT note, coalesce(next_due::text, ''), recorded_by, recorded_at
  FROM rm_at_risk.intervention_follow_ups WHERE school_id = $1 AND intervention_id = $2 ORDER BY seq`, schoolID, interventionID)
	if err != nil {
		return Intervention{}, err
	}
	fs, err := collect(rows, func(r pgx.Rows) (InterventionFollow, error) {
		var f InterventionFollow
		err := r.Scan(&f.Note, &f.NextDue, &f.RecordedBy, &f.RecordedAt)
		return f, err
	})
	if err != nil {
		return Intervention{}, err
	}
	if fs != nil {
		iv.FollowUps = fs
	}
	return iv, nil
}

// ListInterventions lists interventions, most recently opened first.
// Follow-ups are left out (GetIntervention has them).
func ListInterventions(ctx context.Context, db Querier, schoolID string, f InterventionFilter) (Page[Intervention], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Intervention]{}, err
	}
	p, err := keyset{list: "interventions", cols: []sortKey{{"opened_at", "timestamptz"}, {"intervention_id", "text"}}, desc: true}.page(f.PageParams)
	if err != nil {
		return Page[Intervention]{}, err
	}
	var q sqlQuery
	q.where("school_id = " + q.arg(schoolID))
	if f.StudentID != "" {
		q.where("student_id = " + q.arg(f.StudentID))
	}
	if f.AssignedTo != "" {
		q.where("assigned_to = " + q.arg(f.AssignedTo))
	}
	if f.Status != "" {
		st, err := domain.InterventionStatusFromString("status", f.Status)
		if err != nil {
			return Page[Intervention]{}, err
		}
		q.where("status = " + q.arg(string(st)))
	}
	return queryPage(ctx, db, p, `SELECT `+interventionColumns+` FROM rm_at_risk.interventions`, &q,
		func(r pgx.Rows) (Intervention, error) { return scanIntervention(r) },
		func(iv Intervention) []string { return []string{cursorTime(iv.OpenedAt), iv.InterventionID} })
}
