package storemetrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/eventstore/storemetrics"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestAppendMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := storemetrics.Wrap(postgres.New(pgtest.NewPool(t)), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := func() eventstore.EventData {
		return eventstore.EventData{ID: uuid.New(), Type: "teacher.created.v1", Data: []byte(`{}`),
			Metadata: eventstore.Metadata{SchoolID: "s1"}}
	}
	if _, err := s.Append(ctx, "teacher-1", eventstore.NoStream(), []eventstore.EventData{ev(), ev()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "teacher-1", eventstore.NoStream(), []eventstore.EventData{ev()}); !errors.Is(err, eventstore.ErrVersionConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	want := `
# HELP eventstore_append_conflicts_total Appends refused because the stream was not at the expected version, by stream category.
# TYPE eventstore_append_conflicts_total counter
eventstore_append_conflicts_total{category="teacher"} 1
# HELP eventstore_appended_events_total Events appended, by stream category.
# TYPE eventstore_appended_events_total counter
eventstore_appended_events_total{category="teacher"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"eventstore_append_conflicts_total", "eventstore_appended_events_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "eventstore_append_duration_seconds"); n != 2 {
		t.Fatalf("latency series = %d, want ok and conflict", n)
	}
}

func TestCategory(t *testing.T) {
	for stream, want := range map[string]string{"teacher-1": "teacher", "timetable-a-b": "timetable", "odd": "other", "-x": "other"} {
		if got := storemetrics.Category(stream); got != want {
			t.Errorf("Category(%q) = %q, want %q", stream, got, want)
		}
	}
}
