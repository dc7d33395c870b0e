package migrations_test

import (
	"context"
	"io/fs"
	"regexp"
	"testing"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestApplyIsIdempotentAndStatusReportsIt(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t) // applied once
	ctx := context.Background()
	if err := migrations.Apply(ctx, pool); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	st, err := migrations.Status(ctx, pool)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations")
	}
	for _, s := range st {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Errorf("%s not applied: %+v", s.Path, s)
		}
	}
	if st[0].Version != 1 || st[0].Path != "00001_event_store.sql" {
		t.Errorf("first migration = %+v", st[0])
	}
}

func TestFilesAreNamedByVersion(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(migrations.FS(), "*")
	if err != nil {
		t.Fatal(err)
	}
	valid := regexp.MustCompile(`^\d{5}_[a-z0-9_]+\.sql$`)
	for _, n := range names {
		if !valid.MatchString(n) {
			t.Errorf("%s is not NNNNN_name.sql", n)
		}
	}
}

func TestApplyRejectsNilPool(t *testing.T) {
	t.Parallel()
	if err := migrations.Apply(context.Background(), nil); err == nil {
		t.Fatal("Apply(nil) succeeded")
	}
}
