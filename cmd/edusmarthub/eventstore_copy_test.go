package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/kurrentfake"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/migrations"
)

// testDatabases gives each name a fresh, migrated database of the test
// harness's throwaway cluster.
func testDatabases(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range names {
		url := pgtest.NewDatabase(t)
		if err := migrations.Apply(context.Background(), pgPool(t, url)); err != nil {
			t.Fatal(err)
		}
		out[name] = url
	}
	return out
}

func pgPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// seed writes a log with interleaved streams, multi-event appends and
// metadata with and without its optional fields.
func seed(t *testing.T, s eventstore.Store) int {
	t.Helper()
	ctx := context.Background()
	streams := []string{"school-" + uuid.NewString(), "teacher-" + uuid.NewString(), "student-" + uuid.NewString()}
	versions := map[string]uint64{}
	n := 0
	for round := range 9 {
		stream := streams[round%len(streams)]
		evs := make([]eventstore.EventData, 1+round%3)
		for i := range evs {
			n++
			meta := eventstore.Metadata{SchoolID: "school-1", ActorID: fmt.Sprintf("user-%d", n)}
			if n%2 == 0 {
				meta.ActorRole, meta.CorrelationID, meta.CausationID, meta.RequestID = "teacher", uuid.NewString(), uuid.NewString(), "req"
			}
			evs[i] = eventstore.EventData{
				ID:       uuid.New(),
				Type:     fmt.Sprintf("copy.test%d.v1", n%4),
				Data:     fmt.Appendf(nil, `{"n": %d, "text": "caf\u00e9 \"quoted\" \\ ünïcode", "list": [1, 2.5, null, true]}`, n),
				Metadata: meta,
			}
		}
		res, err := s.Append(ctx, stream, eventstore.Exact(versions[stream]), evs)
		if err != nil {
			t.Fatal(err)
		}
		versions[stream] = res.Version
	}
	return n
}

func readLog(t *testing.T, s eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	all, err := s.ReadAll(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// sameStores compares two stores event by event: global order, IDs,
// streams, versions, types, data (byte for byte) and metadata, and each
// stream read on its own.
func sameStores(t *testing.T, what string, a, b eventstore.Store) {
	t.Helper()
	la, lb := readLog(t, a), readLog(t, b)
	if len(la) != len(lb) {
		t.Fatalf("%s: %d events vs %d", what, len(la), len(lb))
	}
	streams := map[string]bool{}
	for i := range la {
		x, y := la[i], lb[i]
		if x.ID != y.ID || x.StreamID != y.StreamID || x.Version != y.Version || x.Type != y.Type ||
			!bytes.Equal(x.Data, y.Data) || x.Metadata != y.Metadata {
			t.Fatalf("%s: event %d differs:\n%+v\n%+v", what, i, x, y)
		}
		streams[x.StreamID] = true
	}
	for stream := range streams {
		sa, err := a.ReadStream(context.Background(), stream, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.ReadStream(context.Background(), stream, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ia, ib []uuid.UUID
		for _, e := range sa {
			ia = append(ia, e.ID)
		}
		for _, e := range sb {
			ib = append(ib, e.ID)
		}
		if !reflect.DeepEqual(ia, ib) {
			t.Fatalf("%s: stream %s holds %v vs %v", what, stream, ia, ib)
		}
	}
}

// TestEventstoreCopyRoundTrip copies PostgreSQL -> KurrentDB (the protocol
// test double) in two runs, the first stopped by --limit, then KurrentDB
// -> another PostgreSQL database, and compares the stores after each.
func TestEventstoreCopyRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	t.Parallel()
	dbs := testDatabases(t, "source", "back")
	kdb, err := kurrentfake.Start(kurrentfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kdb.Close)

	src := postgres.New(pgPool(t, dbs["source"]))
	n := seed(t, src)
	environ := func(db string) map[string]string {
		return map[string]string{
			"DATABASE_URL":          dbs[db],
			"KURRENTDB_URL":         kdb.URL(),
			"EDUSMARTHUB_DATA_DIR":  t.TempDir(),
			"EDUSMARTHUB_LOG_LEVEL": "warn",
		}
	}
	copyRun := func(db string, args ...string) string {
		t.Helper()
		code, out, errOut := edusmarthub(t, environ(db), append([]string{"eventstore", "copy"}, args...)...)
		if code != 0 {
			t.Fatalf("copy %v exited %d: %s", args, code, errOut)
		}
		return out
	}

	out := copyRun("source", "--from", "postgres", "--to", "kurrentdb", "--limit", "7", "--batch", "3")
	if !strings.HasPrefix(out, "copied 7 events") {
		t.Fatalf("first run: %q", out)
	}
	target, err := kurrentdb.Open(kdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if got := len(readLog(t, target)); got != 7 {
		t.Fatalf("after the first run the target holds %d events, want 7", got)
	}
	out = copyRun("source", "--from", "postgres", "--to", "kurrentdb", "--batch", "4")
	if want := fmt.Sprintf("copied %d events", n-7); !strings.HasPrefix(out, want) {
		t.Fatalf("second run: %q, want %q...", out, want)
	}
	sameStores(t, "postgres -> kurrentdb", src, target)
	if out := copyRun("source", "--from", "postgres", "--to", "kurrentdb"); !strings.HasPrefix(out, "copied 0 events") {
		t.Fatalf("a run with nothing left: %q", out)
	}
	// A run that ignores its checkpoint copies everything again, and the
	// target stores it once: appends carry the source's IDs and versions.
	copyRun("source", "--from", "postgres", "--to", "kurrentdb", "--restart", "--quiet")
	sameStores(t, "postgres -> kurrentdb, copied twice", src, target)

	copyRun("back", "--from", "kurrentdb", "--to", "postgres")
	back := postgres.New(pgPool(t, dbs["back"]))
	sameStores(t, "kurrentdb -> postgres", target, back)
	sameStores(t, "postgres -> kurrentdb -> postgres", src, back)
}

func TestEventstoreCopyFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--from", "postgres", "--to", "postgres"}, "both postgres"},
		{[]string{"--from", "mysql", "--to", "kurrentdb"}, `--from "mysql"`},
		{[]string{"--from", "postgres"}, `--to ""`},
		{[]string{"--from", "postgres", "--to", "kurrentdb", "--batch", "0"}, "--batch 0"},
	}
	for _, tt := range tests {
		code, _, errOut := edusmarthub(t, map[string]string{"EDUSMARTHUB_DATA_DIR": t.TempDir()}, append([]string{"eventstore", "copy"}, tt.args...)...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("copy %v = %d, %q; want an error naming %q", tt.args, code, errOut, tt.want)
		}
	}
	code, _, errOut := edusmarthub(t, map[string]string{"EDUSMARTHUB_DATA_DIR": t.TempDir()}, "eventstore", "copy", "--from", "postgres", "--to", "kurrentdb")
	if code == 0 || !strings.Contains(errOut, "KURRENTDB_URL") {
		t.Errorf("copy without KURRENTDB_URL = %d, %q", code, errOut)
	}
}

// The KurrentDB test double is for tests and benchmarks only: the binary
// must not link it.
func TestBinaryDoesNotLinkTheKurrentDBTestDouble(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(out), "internal/kurrentfake") {
		t.Fatal("cmd/edusmarthub depends on internal/kurrentfake")
	}
}
