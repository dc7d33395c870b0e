package projections

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// School is a registered school.
type School struct {
	SchoolID     string    `json:"schoolId"`
	Name         string    `json:"name"`
	Timezone     string    `json:"timezone"`
	RegisteredAt time.Time `json:"registeredAt"`
}

// GetSchool returns one school.
func GetSchool(ctx context.Context, db Querier, schoolID string) (School, error) {
	if err := requireSchool(schoolID); err != nil {
		return School{}, err
	}
	var s School
	err := db.QueryRow(ctx, `SELECT school_id, name, timezone, registered_at FROM rm_schools.schools WHERE school_id = $1`,
		schoolID).Scan(&s.SchoolID, &s.Name, &s.Timezone, &s.RegisteredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return School{}, notFound("school %s not found", schoolID)
	}
	return s, err
}

// ListSchools lists every school by name. It is the one query across
// tenants: for platform admins only (the HTTP layer's check).
func ListSchools(ctx context.Context, db Querier, page PageParams) (Page[School], error) {
	p, err := keyset{list: "schools", cols: []sortKey{{"name", "text"}, {"school_id", "text"}}}.page(page)
	if err != nil {
		return Page[School]{}, err
	}
	var q sqlQuery
	return queryPage(ctx, db, p, `SELECT school_id, name, timezone, registered_at FROM rm_schools.schools`, &q,
		func(r pgx.Rows) (School, error) {
			var s School
			err := r.Scan(&s.SchoolID, &s.Name, &s.Timezone, &s.RegisteredAt)
			return s, err
		},
		func(s School) []string { return []string{s.Name, s.SchoolID} })
}
