package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// All lists every read model, in a stable order.
//
// Each projection is self-contained: its Apply writes only its own schema
// and never reads another projection's, so any one of them can be rebuilt
// alone. Where two read models need the same fact (a student's class, say)
// each keeps its own copy.
//
// Apply results do not depend on the order of different streams: a table
// row (or column) is written by the events of one stream only, and
// whatever combines streams (a student's class name, a class average) is
// joined or aggregated when queried. So a student assigned to a class the
// projection has not seen yet simply points at a class that appears later.
// The two rows several streams write converge too: event counters only
// add, and a student's latest risk assessment is the greatest by (time,
// event ID), not the last to arrive.
func All() []Projection {
	return []Projection{
		schoolsProjection{},
		teachersProjection{},
		studentsProjection{},
		timetablesProjection{},
		performanceProjection{},
		attendanceProjection{},
		atRiskProjection{},
		examsProjection{},
		meetingsProjection{},
		inboxProjection{},
		dashboardProjection{},
		monitoringProjection{},
		maintenanceProjection{},
	}
}

// decodeAs decodes a stored event into its domain type E (once per
// rebuild batch for all projections: see decodedBatch). The value may be
// shared with other projections: read it, never modify it.
func decodeAs[E domain.Event](ctx context.Context, e eventstore.RecordedEvent) (E, error) {
	var zero E
	ev, err := decodeEvent(ctx, e)
	if err != nil {
		return zero, fmt.Errorf("%s version %d: %w", e.StreamID, e.Version, err)
	}
	out, ok := ev.(E)
	if !ok {
		return zero, fmt.Errorf("%s version %d: %s decoded as %T, not %T", e.StreamID, e.Version, e.Type, ev, zero)
	}
	return out, nil
}

// tenantOf is the school an event belongs to: its metadata's (mandatory
// in the store), else the body's.
func tenantOf(e eventstore.RecordedEvent, bodySchool string) string {
	if e.Metadata.SchoolID != "" {
		return e.Metadata.SchoolID
	}
	return bodySchool
}

// isoWeek returns the ISO year, week and the week's Monday of a date.
func isoWeek(d time.Time) (year, week int, monday time.Time) {
	year, week = d.ISOWeek()
	offset := (int(d.Weekday()) + 6) % 7 // days since Monday
	y, m, dd := d.Date()
	return year, week, time.Date(y, m, dd-offset, 0, 0, 0, 0, time.UTC)
}

// nullDate is nil for a zero date.
func nullDate(d domain.Date) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time()
	return &t
}

// strs converts a slice of string-like values.
func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
