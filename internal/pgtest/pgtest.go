// Package pgtest gives tests real PostgreSQL databases: one throwaway
// cluster per test binary, started on first use from the installed
// binaries, and a fresh database per test.
//
// A package that uses it runs its tests through Main, so the cluster is
// stopped and its directory removed at the end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// With EDUSMARTHUB_TEST_DATABASE_URL set (a connection string as a role
// allowed to create databases), tests use that server instead of starting
// one; each test's database is created there and dropped after the test.
// EDUSMARTHUB_PG_BIN_DIR, when set, is where initdb and postgres are
// (default: pgcluster.DefaultBinDir), as for `make run`.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
	"github.com/edusmarthub/edusmarthub/migrations"
)

// EnvDatabaseURL names the variable that points tests at an existing
// server instead of a throwaway cluster.
const EnvDatabaseURL = "EDUSMARTHUB_TEST_DATABASE_URL"

// EnvBinDir names the variable with the PostgreSQL binaries' directory.
const EnvBinDir = "EDUSMARTHUB_PG_BIN_DIR"

type server struct {
	adminURL string             // a database to run CREATE/DROP DATABASE from
	cluster  *pgcluster.Cluster // nil for an external server
	dir      string             // the throwaway cluster's directory
}

var (
	once      sync.Once
	shared    *server
	sharedErr error
)

func getServer(t testing.TB) *server {
	t.Helper()
	once.Do(func() { shared, sharedErr = startServer() })
	if sharedErr != nil {
		t.Fatalf("pgtest: %v", sharedErr)
	}
	return shared
}

func startServer() (*server, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return &server{adminURL: u}, nil
	}
	dir, err := os.MkdirTemp("", "edusmarthub-pgtest-*")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Another process may take the free port before the server binds it:
	// try a few.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := pgcluster.FreePort()
		if err != nil {
			return nil, err
		}
		dataDir := filepath.Join(dir, fmt.Sprintf("data%d", attempt))
		c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dataDir, Port: port, BinDir: os.Getenv(EnvBinDir), Throwaway: true})
		if err == nil {
			return &server{adminURL: c.ConnString("postgres"), cluster: c, dir: dir}, nil
		}
		lastErr = err
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// Main runs the tests, then stops the throwaway cluster (if one was
// started) and removes its directory, and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := shared.cluster.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop cluster: %v\n", err)
			code = max(code, 1)
		}
		cancel()
		if err := os.RemoveAll(shared.dir); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: remove %s: %v\n", shared.dir, err)
		}
	}
	os.Exit(code)
}

// NewDatabase creates an empty database for this test and returns its
// connection string. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	s := getServer(t)
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgcluster.CreateDatabase(ctx, s.adminURL, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pgcluster.DropDatabase(ctx, s.adminURL, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	u, err := withDatabase(s.adminURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// NewPool creates a database for this test, applies the migrations and
// returns a pool on it, closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the database's drop: cleanups run last-in first-out
	if err := migrations.Apply(ctx, pool); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return pool
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName is unique and recognisable: the test's name, shortened,
// with a random suffix (other test binaries may share an external server).
func databaseName(testName string) string {
	base := unsafeChars.ReplaceAllString(strings.ToLower(testName), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	var b [5]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
}

// withDatabase returns connString with its database replaced by name, for
// both URL and keyword/value connection strings.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDatabaseURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value: a later dbname wins.
	return connString + " dbname='" + name + "'", nil
}
