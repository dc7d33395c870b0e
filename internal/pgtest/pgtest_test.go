package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsFreshAndSeparate(t *testing.T) {
	t.Parallel()
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("two tests' databases share a connection string: %s", a)
	}
	ctx := context.Background()
	for _, u := range []string{a, b} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connect %s: %v", u, err)
		}
		var tables int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("%s: %d tables in a fresh database", u, tables)
		}
		if err := conn.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewPoolIsMigrated(t *testing.T) {
	t.Parallel()
	pool := NewPool(t)
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatalf("events table: %v", err)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:p@db:5432/postgres?sslmode=disable", "postgres://u:p@db:5432/t_x?sslmode=disable"},
		{"postgresql://u@db/", "postgresql://u@db/t_x"},
		{"host=db user=u dbname=postgres", "host=db user=u dbname=postgres dbname='t_x'"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.in, "t_x")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	n := databaseName("TestFoo/Sub-Case #3 with a very long name that goes on and on")
	if len(n) > 63 {
		t.Errorf("%q longer than 63 bytes", n)
	}
	if !unsafeChars.MatchString("/") || unsafeChars.MatchString(n) {
		t.Errorf("%q has unsafe characters", n)
	}
}
