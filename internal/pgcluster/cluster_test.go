package pgcluster_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
)

// tempDataDir is a data directory under os.TempDir that the test removes.
func tempDataDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "pgcluster-test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	return filepath.Join(parent, "data")
}

func start(t *testing.T, o pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func exec1(t *testing.T, connString, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %s: %v", connString, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t *testing.T, connString, sql string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %s: %v", connString, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestLifecycle starts a cluster, keeps data across a stop and a start,
// and reuses a server that is already running.
func TestLifecycle(t *testing.T) {
	dir := tempDataDir(t)
	o := pgcluster.Options{DataDir: dir, Port: freePort(t), Throwaway: true}
	ctx := context.Background()

	c, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.CreateDatabase(ctx, "app"); err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	if err := c.CreateDatabase(ctx, "app"); err != nil {
		t.Fatalf("CreateDatabase again: %v", err)
	}
	// DropDatabase drops one, and one that is not there is no error.
	if err := c.CreateDatabase(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := pgcluster.DropDatabase(ctx, c.ConnString("postgres"), "gone"); err != nil {
			t.Fatalf("DropDatabase: %v", err)
		}
	}
	if n := queryInt(t, c.ConnString("app"), "SELECT count(*)::int FROM pg_database WHERE datname = 'gone'"); n != 0 {
		t.Errorf("database gone still there after DropDatabase")
	}
	exec1(t, c.ConnString("app"), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	settings := "SELECT (current_setting('fsync') = 'off' AND current_setting('listen_addresses') = '127.0.0.1')::int"
	if got := queryInt(t, c.ConnString("app"), settings); got != 1 {
		t.Errorf("throwaway settings not in force")
	}
	// The server runs with the malloc tuning, and a value of the caller's
	// would win (TestMallocTuningKeepsTheCallersValues).
	if env := postmasterEnv(t, dir); !slices.Contains(env, "MALLOC_TRIM_THRESHOLD_=16777216") || !slices.Contains(env, "MALLOC_MMAP_THRESHOLD_=8388608") {
		t.Errorf("postgres runs without the malloc tuning; its MALLOC_ variables: %q", mallocVars(env))
	}

	// A second Start on the running directory returns the running server,
	// and stopping that handle leaves it running.
	again, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start while running: %v", err)
	}
	if err := again.Stop(ctx); err != nil {
		t.Fatalf("Stop of adopted cluster: %v", err)
	}
	if n := queryInt(t, again.ConnString("app"), "SELECT n FROM kept"); n != 42 {
		t.Fatalf("kept = %d", n)
	}
	// A running server on another port is an error, not a second server.
	other := o
	other.Port = freePort(t)
	if _, err := pgcluster.Start(ctx, other); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Start on another port while running: %v", err)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c2 := start(t, o)
	if n := queryInt(t, c2.ConnString("app"), "SELECT n FROM kept"); n != 42 {
		t.Fatalf("after restart kept = %d", n)
	}
}

// postmasterEnv is the environment of the server running in dataDir.
func postmasterEnv(t *testing.T, dataDir string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's environment from /proc")
	}
	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _, _ := strings.Cut(string(pidFile), "\n")
	environ, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00")
}

// TestMallocTuningKeepsTheCallersValues: an operator's own malloc
// settings reach the server unchanged.
func TestMallocTuningKeepsTheCallersValues(t *testing.T) {
	t.Setenv("MALLOC_TRIM_THRESHOLD_", "131072")
	dir := tempDataDir(t)
	start(t, pgcluster.Options{DataDir: dir, Port: freePort(t), Throwaway: true})
	env := postmasterEnv(t, dir)
	if !slices.Contains(env, "MALLOC_TRIM_THRESHOLD_=131072") || slices.Contains(env, "MALLOC_TRIM_THRESHOLD_=16777216") {
		t.Errorf("the caller's MALLOC_TRIM_THRESHOLD_ did not win: %q", mallocVars(env))
	}
	if !slices.Contains(env, "MALLOC_MMAP_THRESHOLD_=8388608") {
		t.Errorf("the setting the caller left unset is missing: %q", mallocVars(env))
	}
}

func mallocVars(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool { return !strings.HasPrefix(kv, "MALLOC_") })
}

// TestStalePidFile starts over a postmaster.pid whose pid belongs to an
// unrelated live process, as after a crash and pid reuse.
func TestStalePidFile(t *testing.T) {
	dir := tempDataDir(t)
	o := pgcluster.Options{DataDir: dir, Port: freePort(t), Throwaway: true}
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)
	stale := pid + "\n" + dir + "\n1700000000\n" + strconv.Itoa(o.Port) + "\n\n127.0.0.1\n  1234  5678\nready   \n"
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, o)
	if n := queryInt(t, c2.ConnString("postgres"), "SELECT 1"); n != 1 {
		t.Fatal("no answer")
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "stray"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    pgcluster.Options
		want string
	}{
		{"no data dir", pgcluster.Options{Port: 5432}, "no data directory"},
		{"bad port", pgcluster.Options{DataDir: t.TempDir(), Port: 70000}, "not a TCP port"},
		{"missing binaries", pgcluster.Options{DataDir: t.TempDir(), Port: 5432, BinDir: "/nonexistent/bin"}, "/nonexistent/bin/initdb not found: the PostgreSQL 15 server binaries are needed (Debian/Ubuntu package postgresql-15)"},
		{"directory with other files", pgcluster.Options{DataDir: notEmpty, Port: 5432}, "not empty but holds no PostgreSQL cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pgcluster.Start(ctx, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestPortTaken reports the server's own words when it cannot start.
func TestPortTaken(t *testing.T) {
	port := freePort(t)
	start(t, pgcluster.Options{DataDir: tempDataDir(t), Port: port, Throwaway: true})
	_, err := pgcluster.Start(context.Background(), pgcluster.Options{DataDir: tempDataDir(t), Port: port, Throwaway: true})
	if err == nil {
		t.Fatal("second cluster on a taken port started")
	}
	if !strings.Contains(err.Error(), "server log") {
		t.Errorf("error does not carry the server log: %v", err)
	}
	t.Log(err)
}
