package httpapi_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
)

// newPostgresStore is the real store over pool.
func newPostgresStore(t *testing.T, pool *pgxpool.Pool) eventstore.Store {
	t.Helper()
	return postgres.New(pool)
}
