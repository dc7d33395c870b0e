package sagas_test

import (
	"context"
	"errors"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/sagas/sagatest"
)

func TestListWorkflows(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		switch action {
		case "start":
			in.SetKey("subject-" + in.ID())
			switch {
			case strings.HasPrefix(in.ID(), "b"):
				in.SetSchool("school-b")
			case strings.HasPrefix(in.ID(), "p"):
				in.SetSchool("")
			}
			in.Record("started", "started")
		case "done":
			in.Complete("done")
		case "fail":
			return &domain.Error{Kind: domain.KindConflict, Message: "no room"}
		}
		return nil
	}}
	rt := newRuntime(t, pool, clock, s)
	// a1..a5 in rtSchool, b1 in school-b, p1 platform-wide.
	for _, id := range []string{"a1", "a2", "a3", "b1", "a4", "p1", "a5"} {
		rtHandle(t, rt, rtEvent(t, id+":start"))
		clock.Advance(time.Minute)
	}
	rtHandle(t, rt, rtEvent(t, "a2:done"))
	rtHandle(t, rt, rtEvent(t, "a3:fail"))
	wid := func(id string) string { return sagas.WorkflowID("rt_test", id) }
	ids := func(p sagas.WorkflowPage) string {
		var out []string
		for _, w := range p.Items {
			for _, id := range []string{"a1", "a2", "a3", "a4", "a5", "b1", "p1"} {
				if w.ID == wid(id) {
					out = append(out, id)
				}
			}
		}
		return strings.Join(out, ",")
	}
	list := func(f sagas.WorkflowFilter) sagas.WorkflowPage {
		t.Helper()
		p, err := sagas.ListWorkflows(t.Context(), pool, f)
		if err != nil {
			t.Fatalf("ListWorkflows(%+v): %v", f, err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		f    sagas.WorkflowFilter
		want string
	}{
		{"a school's, newest first", sagas.WorkflowFilter{SchoolID: rtSchool}, "a5,a4,a3,a2,a1"},
		{"every school's and platform-wide", sagas.WorkflowFilter{}, "a5,p1,a4,b1,a3,a2,a1"},
		{"another school's", sagas.WorkflowFilter{SchoolID: "school-b"}, "b1"},
		{"by state", sagas.WorkflowFilter{SchoolID: rtSchool, State: "running"}, "a5,a4,a1"},
		{"failed", sagas.WorkflowFilter{State: "failed"}, "a3"},
		{"completed", sagas.WorkflowFilter{State: "completed"}, "a2"},
		{"by type", sagas.WorkflowFilter{Type: "rt_test", SchoolID: "school-b"}, "b1"},
		{"another type", sagas.WorkflowFilter{Type: "teacher_onboarding"}, ""},
		{"by subject (key)", sagas.WorkflowFilter{Subject: "subject-a4"}, "a4"},
		{"by subject (business ID)", sagas.WorkflowFilter{Subject: "a4"}, "a4"},
		{"subject of another school", sagas.WorkflowFilter{SchoolID: rtSchool, Subject: "b1"}, ""},
	} {
		if got := ids(list(c.f)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	// Pages of two, through the cursor.
	var pages []string
	f := sagas.WorkflowFilter{Limit: 2}
	for {
		p := list(f)
		pages = append(pages, ids(p))
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	if got := strings.Join(pages, "|"); got != "a5,p1|a4,b1|a3,a2|a1" {
		t.Errorf("pages = %s", got)
	}

	first := list(sagas.WorkflowFilter{SchoolID: rtSchool, Limit: 1}).Items[0]
	if first.Type != "rt_test" || first.BusinessID != "a5" || first.Subject != "subject-a5" || first.SchoolID != rtSchool ||
		first.State != sagas.StateRunning || first.Step != "started" || !first.StartedAt.Equal(sagatest.Start.Add(6*time.Minute)) {
		t.Errorf("summary = %+v", first)
	}

	for _, c := range []struct {
		f     sagas.WorkflowFilter
		field string
	}{
		{sagas.WorkflowFilter{State: "stuck"}, "state"},
		{sagas.WorkflowFilter{Limit: 501}, "limit"},
		{sagas.WorkflowFilter{Limit: -1}, "limit"},
		{sagas.WorkflowFilter{Cursor: "not-a-cursor"}, "cursor"},
	} {
		_, err := sagas.ListWorkflows(t.Context(), pool, c.f)
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != c.field {
			t.Errorf("ListWorkflows(%+v) = %v, want invalid %s", c.f, err, c.field)
		}
	}
}

func TestGetWorkflow(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	rt := newRuntime(t, pool, &sagatest.Clock{}, &rtSaga{})
	rtHandle(t, rt, rtEvent(t, "w:start"))
	w := rtWorkflow(t, pool, "w")
	if w.ID != sagas.WorkflowID("rt_test", "w") || len(w.Steps) != 1 || w.Deadlines == nil || w.Data != nil {
		t.Errorf("workflow = %+v", w)
	}
	for _, id := range []string{sagas.WorkflowID("rt_test", "other"), "not-a-uuid", ""} {
		_, err := sagas.GetWorkflow(t.Context(), pool, id)
		if !errors.Is(err, sagas.ErrWorkflowNotFound) || domain.KindOf(err) != domain.KindNotFound {
			t.Errorf("GetWorkflow(%q) = %v, want not found", id, err)
		}
	}
}
