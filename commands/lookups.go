package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Lookups shared by the commands that decide on one aggregate with what
// they know of others (classes of teachers, timetables of both).

// teacherInfos loads the teachers ids names and returns what is known of
// those of schoolID. A missing teacher, or one of another school, is left
// out, so the domain reports it as unknown without revealing which it was.
func teacherInfos(ctx context.Context, repo *Repository, schoolID string, ids []string) (map[string]domain.TeacherInfo, error) {
	out := make(map[string]domain.TeacherInfo, len(ids))
	for _, id := range distinctNonEmpty(ids) {
		t, _, err := Load(ctx, repo, domain.NewTeacher(id))
		if err != nil {
			return nil, err
		}
		if t.RequireInSchool(schoolID) == nil {
			out[id] = t.Info()
		}
	}
	return out, nil
}

// classInfos is teacherInfos for classes.
func classInfos(ctx context.Context, repo *Repository, schoolID string, ids []string) (map[string]domain.ClassInfo, error) {
	out := make(map[string]domain.ClassInfo, len(ids))
	for _, id := range distinctNonEmpty(ids) {
		c, _, err := Load(ctx, repo, domain.NewClass(id))
		if err != nil {
			return nil, err
		}
		if c.RequireInSchool(schoolID) == nil {
			out[id] = c.Info()
		}
	}
	return out, nil
}

// distinctNonEmpty drops empty and repeated IDs, keeping the first
// occurrence's order, so each stream is read once.
func distinctNonEmpty(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// requireVersion checks the caller's If-Match against the target aggregate
// loaded up front. Commands that write other streams before the target's
// call it first, so a stale If-Match changes nothing anywhere.
func requireVersion(m Meta, agg domain.Aggregate) error {
	if m.ExpectedVersion != nil && *m.ExpectedVersion != agg.Version() {
		return &eventstore.ConflictError{Stream: agg.StreamID(), Expected: eventstore.Exact(*m.ExpectedVersion), Actual: agg.Version()}
	}
	return nil
}

// sideWrite is the metadata for a write to a stream other than the
// command's target: the caller's If-Match is about the target only.
func sideWrite(m Meta) Meta {
	m.ExpectedVersion = nil
	return m
}
