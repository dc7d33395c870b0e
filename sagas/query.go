package sagas

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The status of workflows, as the HTTP API shows it. The functions do not
// know the caller: which school a caller may see is the HTTP layer's
// decision (it filters by school, or compares a workflow's SchoolID).

// Querier is what the query functions read through: *pgxpool.Pool,
// *pgx.Conn and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Workflow is one instance's status with its whole history.
type Workflow struct {
	WorkflowSummary
	// Data is the saga's own state (what it keeps between steps).
	Data      json.RawMessage  `json:"data,omitempty"`
	Steps     []StepRecord     `json:"steps"`
	Deadlines []DeadlineStatus `json:"deadlines"`
}

// WorkflowSummary is an instance as lists show it.
type WorkflowSummary struct {
	ID         string `json:"id"`         // public ID (WorkflowID)
	Type       string `json:"type"`       // the saga's name
	BusinessID string `json:"businessId"` // the instance's ID within its saga (a teacher's ID...)
	// Subject is what events find the instance by while it runs (its
	// key), e.g. "student-<id>"; empty when it has none.
	Subject    string     `json:"subject,omitempty"`
	SchoolID   string     `json:"schoolId,omitempty"` // empty for platform-wide workflows
	State      State      `json:"state"`
	Step       string     `json:"step"`
	Reason     string     `json:"reason,omitempty"`
	StartedAt  time.Time  `json:"startedAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// DeadlineState is where a deadline is.
type DeadlineState string

const (
	DeadlinePending   DeadlineState = "pending"
	DeadlineFired     DeadlineState = "fired"
	DeadlineCancelled DeadlineState = "cancelled" // cancelled, or the instance finished first
)

// DeadlineStatus is a timer an instance set.
type DeadlineStatus struct {
	Name        string        `json:"name"`
	DueAt       time.Time     `json:"dueAt"`
	State       DeadlineState `json:"state"`
	FiredAt     *time.Time    `json:"firedAt,omitempty"`
	CancelledAt *time.Time    `json:"cancelledAt,omitempty"`
	// Attempts and LastError tell of failed attempts to handle it (it is
	// tried again later).
	Attempts  int    `json:"attempts,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// ErrWorkflowNotFound is matched (errors.Is) by the error of GetWorkflow
// for an ID no workflow has. The error is a *domain.Error of kind not
// found, so the HTTP layer maps it like the command side's.
var ErrWorkflowNotFound = errors.New("sagas: workflow not found")

func workflowNotFound(id string) error {
	return &domain.Error{Kind: domain.KindNotFound, Message: fmt.Sprintf("workflow %s not found", id), Err: ErrWorkflowNotFound}
}

const summaryColumns = `i.workflow_id::text, i.saga, i.id, COALESCE(i.key, ''), i.school_id, i.state, i.step, i.reason,
	i.started_at, i.updated_at, i.finished_at`

func scanSummary(row pgx.Row, extra ...any) (WorkflowSummary, error) {
	var w WorkflowSummary
	var state string
	err := row.Scan(append([]any{&w.ID, &w.Type, &w.BusinessID, &w.Subject, &w.SchoolID, &state, &w.Step, &w.Reason,
		&w.StartedAt, &w.UpdatedAt, &w.FinishedAt}, extra...)...)
	w.State = State(state)
	w.StartedAt, w.UpdatedAt = w.StartedAt.UTC(), w.UpdatedAt.UTC()
	w.FinishedAt = utcPtr(w.FinishedAt)
	return w, err
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// GetWorkflow returns the workflow with public ID id, with its steps and
// deadlines.
func GetWorkflow(ctx context.Context, db Querier, id string) (Workflow, error) {
	wid, err := uuid.Parse(id)
	if err != nil {
		return Workflow{}, workflowNotFound(id)
	}
	var w Workflow
	var data []byte
	w.WorkflowSummary, err = scanSummary(db.QueryRow(ctx, `SELECT `+summaryColumns+`, i.data
		FROM saga_instances i WHERE i.workflow_id = $1`, wid), &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Workflow{}, workflowNotFound(id)
	}
	if err != nil {
		return Workflow{}, fmt.Errorf("sagas: workflow %s: %w", id, err)
	}
	w.Data = data
	rows, err := db.Query(ctx, `SELECT seq, step, reason, at, event_id, trigger, command_id, stream, version
		FROM saga_steps WHERE saga = $1 AND instance_id = $2 ORDER BY seq`, w.Type, w.BusinessID)
	if err != nil {
		return Workflow{}, fmt.Errorf("sagas: workflow %s: steps: %w", id, err)
	}
	w.Steps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (StepRecord, error) {
		var s StepRecord
		var v int64
		err := r.Scan(&s.Seq, &s.Step, &s.Reason, &s.At, &s.EventID, &s.Trigger, &s.Command, &s.Stream, &v)
		s.At, s.Version = s.At.UTC(), uint64(v)
		return s, err
	})
	if err != nil {
		return Workflow{}, fmt.Errorf("sagas: workflow %s: steps: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT name, due_at, fired_at, cancelled_at, attempts, last_error
		FROM saga_deadlines WHERE saga = $1 AND instance_id = $2 ORDER BY due_at, id`, w.Type, w.BusinessID)
	if err != nil {
		return Workflow{}, fmt.Errorf("sagas: workflow %s: deadlines: %w", id, err)
	}
	w.Deadlines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadlineStatus, error) {
		var d DeadlineStatus
		err := r.Scan(&d.Name, &d.DueAt, &d.FiredAt, &d.CancelledAt, &d.Attempts, &d.LastError)
		d.DueAt, d.FiredAt, d.CancelledAt = d.DueAt.UTC(), utcPtr(d.FiredAt), utcPtr(d.CancelledAt)
		switch {
		case d.FiredAt != nil:
			d.State = DeadlineFired
		case d.CancelledAt != nil:
			d.State = DeadlineCancelled
		default:
			d.State = DeadlinePending
		}
		return d, err
	})
	if err != nil {
		return Workflow{}, fmt.Errorf("sagas: workflow %s: deadlines: %w", id, err)
	}
	if w.Steps == nil {
		w.Steps = []StepRecord{}
	}
	if w.Deadlines == nil {
		w.Deadlines = []DeadlineStatus{}
	}
	return w, nil
}

// WorkflowFilter selects workflows for ListWorkflows; empty fields do not
// filter.
type WorkflowFilter struct {
	// SchoolID keeps one school's workflows; empty: every school's and
	// the platform-wide ones (for platform admins only).
	SchoolID string
	Type     string // a saga's name
	State    string // running, completed, failed
	// Subject keeps the workflows with this key or business ID.
	Subject string
	// Cursor is the NextCursor of the previous page ("" for the first);
	// Limit the page size (0: 50, at most 500).
	Cursor string
	Limit  int
}

// WorkflowPage is one page of workflows, most recently started first.
// NextCursor is empty on the last page.
type WorkflowPage struct {
	Items      []WorkflowSummary `json:"items"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// Page sizes of ListWorkflows.
const (
	DefaultWorkflowPageLimit = 50
	MaxWorkflowPageLimit     = 500
)

// ListWorkflows pages through workflows, most recently started first.
// Invalid filters are domain errors of kind invalid naming the field.
func ListWorkflows(ctx context.Context, db Querier, f WorkflowFilter) (WorkflowPage, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultWorkflowPageLimit
	case limit < 0 || limit > MaxWorkflowPageLimit:
		return WorkflowPage{}, domain.Invalid("limit", "must be between 1 and %d, got %d", MaxWorkflowPageLimit, limit)
	}
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.SchoolID != "" {
		conds = append(conds, "i.school_id = "+arg(f.SchoolID))
	}
	if f.Type != "" {
		conds = append(conds, "i.saga = "+arg(f.Type))
	}
	if f.State != "" {
		switch s := State(f.State); s {
		case StateRunning, StateCompleted, StateFailed:
			conds = append(conds, "i.state = "+arg(f.State))
		default:
			return WorkflowPage{}, domain.Invalid("state", "must be running, completed or failed, got %q", f.State)
		}
	}
	if f.Subject != "" {
		p := arg(f.Subject)
		conds = append(conds, "(i.key = "+p+" OR i.id = "+p+")")
	}
	if f.Cursor != "" {
		c, err := decodeWorkflowCursor(f.Cursor)
		if err != nil {
			return WorkflowPage{}, err
		}
		conds = append(conds, "(i.started_at, i.workflow_id) < ("+arg(c.StartedAt)+"::timestamptz, "+arg(c.ID)+"::uuid)")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := db.Query(ctx, `SELECT `+summaryColumns+` FROM saga_instances i`+where+
		` ORDER BY i.started_at DESC, i.workflow_id DESC LIMIT `+arg(limit+1), args...)
	if err != nil {
		return WorkflowPage{}, fmt.Errorf("sagas: list workflows: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkflowSummary, error) { return scanSummary(r) })
	if err != nil {
		return WorkflowPage{}, fmt.Errorf("sagas: list workflows: %w", err)
	}
	p := WorkflowPage{Items: items}
	if p.Items == nil {
		p.Items = []WorkflowSummary{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		last := p.Items[limit-1]
		p.NextCursor = encodeWorkflowCursor(workflowCursor{StartedAt: last.StartedAt.Format(time.RFC3339Nano), ID: last.ID})
	}
	return p, nil
}

// workflowCursor is the sort key of the last row of a page, opaque to
// clients (base64url JSON).
type workflowCursor struct {
	StartedAt string `json:"s"`
	ID        string `json:"w"`
}

func encodeWorkflowCursor(c workflowCursor) string {
	b, _ := json.Marshal(c) // strings only: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeWorkflowCursor(s string) (workflowCursor, error) {
	var c workflowCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil {
		_, err = time.Parse(time.RFC3339Nano, c.StartedAt)
	}
	if err == nil {
		_, err = uuid.Parse(c.ID)
	}
	if err != nil {
		return c, domain.Invalid("cursor", "is not a cursor of the workflow list")
	}
	return c, nil
}
