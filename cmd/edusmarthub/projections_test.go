package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
	"github.com/edusmarthub/edusmarthub/projections"
)

// TestServeFeedsReadModelsFromKafka runs serve (embedded PostgreSQL and
// Kafka) and checks the read models end to end: commands over HTTP reach
// every projection through the relay and the projections' consumer groups;
// a malformed message on a topic does not stop them; `projections status`
// shows them live and caught up; `projections rebuild --all` while serve
// runs gives the same tables, which then keep taking live events.
func TestServeFeedsReadModelsFromKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Kafka")
	}
	environ := serveEnviron(t)
	srv := startServe(t, environ)
	ctx := context.Background()

	admin := mintToken(t, environ, "--role", "platform_admin")
	school := postCommand(t, srv, admin, "/v1/schools", `{"name": "Hillside Primary", "timezone": "Europe/London"}`)
	principal := mintToken(t, environ, "--role", "school_admin", "--school", school.ID)
	var tokens []projections.StreamVersion
	tokens = append(tokens, school.token())
	for i := range 3 {
		r := postCommand(t, srv, principal, "/v1/schools/"+school.ID+"/teachers", fmt.Sprintf(
			`{"name": "Teacher %d", "email": "t%d@hillside.example", "subjects": ["mathematics"],
			  "preferences": {"preferredTimeSlots": ["morning"], "maxClassesPerDay": 4}}`, i, i))
		tokens = append(tokens, r.token())
	}

	pool := embeddedPool(t, environ)
	views, err := projections.NewRegistry(projections.Config{DB: pool, Store: postgres.New(pool), Lag: projections.PostgresLag(pool)}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := views.WaitApplied(ctx, views.Names(), tokens, time.Minute); err != nil {
		t.Fatalf("the commands did not reach the read models: %v\n%s", err, srv.logs)
	}

	// A message that is not one of our events, on a topic a projection
	// consumes: dead-lettered, and the projections carry on.
	produceGarbage(t, environ["EDUSMARTHUB_KAFKA_EMBEDDED_ADDR"], "edusmarthub.teacher")
	late := postCommand(t, srv, principal, "/v1/schools/"+school.ID+"/teachers",
		`{"name": "Late", "email": "late@hillside.example", "subjects": ["art"], "preferences": {"preferredTimeSlots": ["afternoon"], "maxClassesPerDay": 2}}`)
	if err := views.WaitApplied(ctx, views.Names(), []projections.StreamVersion{late.token()}, time.Minute); err != nil {
		t.Fatalf("after a malformed message: %v", err)
	}

	// Status: every projection live; lag 0 once the last events are in.
	waitUntil(t, time.Minute, func() (bool, string) {
		code, out, errOut := edusmarthub(t, environ, "projections", "status", "--json")
		if code != 0 {
			t.Fatalf("projections status: %s", errOut)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var st projections.Status
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				t.Fatalf("status line %q: %v", line, err)
			}
			if st.State != projections.StateLive || st.Lag != 0 {
				return false, out
			}
		}
		return true, ""
	})
	// Monitoring agrees: the relay and every read model's consumer caught
	// up (consumers commit about once a second), and the malformed message
	// waits as a dead letter.
	waitUntil(t, time.Minute, func() (bool, string) {
		code, body := srv.do(t, http.MethodGet, "/v1/system/monitoring", admin, "")
		if code != http.StatusOK {
			t.Fatalf("GET /v1/system/monitoring = %d %s", code, body)
		}
		var st projections.SystemStatus
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Projections) != len(projections.All()) || st.DeadLetters == nil || *st.DeadLetters == 0 || len(st.Readers) == 0 {
			return false, string(body)
		}
		for _, r := range st.Readers { // the relay
			if r.Lag != 0 {
				return false, string(body)
			}
		}
		for _, p := range st.Projections {
			if p.Lag != 0 {
				return false, string(body)
			}
		}
		return true, ""
	})
	// And /metrics, for alerting: with every metric the deployment's
	// alerts use.
	alerts, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerted := slices.Compact(slices.Sorted(slices.Values(regexp.MustCompile(`edusmarthub_[a-z_]+`).FindAllString(string(alerts), -1))))
	waitUntil(t, time.Minute, func() (bool, string) {
		code, body := srv.do(t, http.MethodGet, "/metrics", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d", code)
		}
		for _, name := range alerted {
			if !bytes.Contains(body, []byte("\n"+name)) {
				return false, "no " + name + " in /metrics, which deploy/prometheus/alerts.yml uses"
			}
		}
		ok := bytes.Contains(body, []byte(`edusmarthub_projection_consumer_lag_messages{projection="teachers"} 0`)) &&
			bytes.Contains(body, []byte("\nedusmarthub_dead_letters_pending ")) &&
			!bytes.Contains(body, []byte("\nedusmarthub_dead_letters_pending 0"))
		return ok, "no lag or dead letters in /metrics"
	})
	code, out, errOut := edusmarthub(t, environ, "projections", "list")
	if code != 0 || !strings.Contains(out, "teachers") || !strings.Contains(out, "live") {
		t.Errorf("projections list = %d\n%s%s", code, out, errOut)
	}

	// Rebuild everything while serve runs: the same tables. The teachers'
	// onboarding workflows append events of their own: let them finish
	// first, so the checksums compare like with like.
	waitWorkflowsFinished(t, pool, 4)
	waitAllApplied(t, pool, views)
	before := allChecksums(t, views)
	code, out, errOut = edusmarthub(t, environ, "projections", "rebuild", "--all", "--quiet")
	if code != 0 {
		t.Fatalf("projections rebuild --all: %s", errOut)
	}
	if !strings.Contains(out, "rebuilt ") {
		t.Errorf("rebuild printed %q", out)
	}
	if after := allChecksums(t, views); !maps.Equal(before, after) {
		t.Errorf("rebuilt tables differ:\nbefore %v\nafter  %v", before, after)
	}
	// Live events go on into the new tables.
	last := postCommand(t, srv, principal, "/v1/schools/"+school.ID+"/teachers",
		`{"name": "After", "email": "after@hillside.example", "subjects": ["art"], "preferences": {"preferredTimeSlots": ["afternoon"], "maxClassesPerDay": 2}}`)
	if err := views.WaitApplied(ctx, views.Names(), []projections.StreamVersion{last.token()}, time.Minute); err != nil {
		t.Fatalf("after the rebuild: %v", err)
	}

	// Replay: the teacher channel again, to a backfill topic, in the
	// relay's format: the same records as on the channel's topic.
	// The onboarding of the last teacher adds to the channel too.
	waitWorkflowsFinished(t, pool, 5)
	teacherEvents := countEvents(t, pool, "teacher.%", 0)
	kafkaAddr := environ["EDUSMARTHUB_KAFKA_EMBEDDED_ADDR"]
	code, out, errOut = edusmarthub(t, environ, "replay", "--channel", "teacher", "--topic", "backfill.teacher")
	if want := fmt.Sprintf("published %d events of channel teacher to backfill.teacher", teacherEvents); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("replay = %d, want %q\n%s%s", code, want, out, errOut)
	}
	relayed := readTopic(t, kafkaAddr, "edusmarthub.teacher", teacherEvents+1) // the events and the garbage
	replayed := readTopic(t, kafkaAddr, "backfill.teacher", teacherEvents)
	for id, rec := range replayed {
		if want, ok := relayed[id]; !ok || rec != want {
			t.Errorf("replayed %s\n  %s\nrelayed\n  %s", id, rec, want)
		}
	}
	// From a position: that event and the ones after it.
	code, out, _ = edusmarthub(t, environ, "replay", "--channel", "teacher", "--from-position", strconv.FormatUint(late.Position, 10), "--dry-run")
	if want := fmt.Sprintf("would publish %d events", countEvents(t, pool, "teacher.%", late.Position)); code != 0 || !strings.Contains(out, want) {
		t.Errorf("replay --from-position %d = %d %s", late.Position, code, out)
	}
	code, out, _ = edusmarthub(t, environ, "replay", "--channel", "teacher", "--since", "2999-01-01", "--dry-run")
	if code != 0 || !strings.Contains(out, "no events") {
		t.Errorf("replay --since the future = %d %s", code, out)
	}

	for _, args := range [][]string{
		{"replay", "--channel", "teacher", "--from-position", "999999"},
		{"projections", "rebuild"},
		{"projections", "rebuild", "teachers", "--all"},
		{"projections", "rebuild", "nope"},
		{"projections", "status", "nope"},
	} {
		if code, _, errOut := edusmarthub(t, environ, args...); code == 0 || errOut == "" {
			t.Errorf("%v succeeded", args)
		}
	}
	srv.shutdown(t)
}

func serveEnviron(t *testing.T) map[string]string {
	t.Helper()
	port := func() string {
		p, err := pgcluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(p)
	}
	return map[string]string{
		"EDUSMARTHUB_DATA_DIR":            t.TempDir(),
		"EDUSMARTHUB_EMBEDDED_PG_PORT":    port(),
		"EDUSMARTHUB_HTTP_ADDR":           "127.0.0.1:" + port(),
		"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR": "127.0.0.1:" + port(),
		"EDUSMARTHUB_LOG_FORMAT":          "json",
		"EDUSMARTHUB_SHUTDOWN_TIMEOUT":    "5s",
	}
}

func mintToken(t *testing.T, environ map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := edusmarthub(t, environ, append([]string{"token"}, args...)...)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	return strings.TrimSpace(out)
}

type commandResult struct {
	ID, Stream        string
	Version, Position uint64
}

func (r commandResult) token() projections.StreamVersion {
	return projections.StreamVersion{Stream: r.Stream, Version: r.Version}
}

func postCommand(t *testing.T, srv *server, token, path, body string) commandResult {
	t.Helper()
	code, resp := srv.do(t, http.MethodPost, path, token, body)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, code, resp)
	}
	var r commandResult
	if err := json.Unmarshal(resp, &r); err != nil || r.Stream == "" {
		t.Fatalf("POST %s answered %s (%v)", path, resp, err)
	}
	return r
}

// embeddedPool connects to the database of serve's embedded cluster.
func embeddedPool(t *testing.T, environ map[string]string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), fmt.Sprintf("postgres://%s@127.0.0.1:%s/%s?sslmode=disable",
		pgcluster.Superuser, environ["EDUSMARTHUB_EMBEDDED_PG_PORT"], embeddedDatabase))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func produceGarbage(t *testing.T, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &kgo.Record{Topic: topic, Key: []byte("teacher-garbage"), Value: []byte("not json"),
		Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte("edusmarthub.teacher.created.v1")}}}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readTopic reads n records of a topic from its start and returns them
// by event ID (ce_id), each as its key, value and sorted headers.
func readTopic(t *testing.T, addr, topic string, n int) map[string]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]string{}
	for seen := 0; seen < n; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d records on %s within 30s", seen, n, topic)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			seen++
			var hs []string
			id := ""
			for _, h := range r.Headers {
				hs = append(hs, h.Key+"="+string(h.Value))
				if h.Key == "ce_id" {
					id = string(h.Value)
				}
			}
			slices.Sort(hs)
			out[id] = fmt.Sprintf("key=%s value=%s headers=%v", r.Key, r.Value, hs)
		})
	}
	return out
}

func allChecksums(t *testing.T, views *projections.Registry) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range views.Names() {
		sums, err := views.Checksums(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		for table, sum := range sums {
			out[n+"."+table] = sum
		}
	}
	return out
}

// waitWorkflowsFinished waits until n workflows exist and none is still
// running.
func waitWorkflowsFinished(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	waitUntil(t, time.Minute, func() (bool, string) {
		var all, running int
		if err := pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE state = 'running') FROM saga_instances`).Scan(&all, &running); err != nil {
			t.Fatal(err)
		}
		return all >= n && running == 0, fmt.Sprintf("%d workflows, %d running", all, running)
	})
}

// waitAllApplied waits until every read model has applied every stream
// as stored now: a finished workflow's last events may still be on their
// way through the relay and Kafka.
func waitAllApplied(t *testing.T, pool *pgxpool.Pool, views *projections.Registry) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT stream_id, max(version) FROM events GROUP BY stream_id`)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []projections.StreamVersion
	var tok projections.StreamVersion
	if _, err := pgx.ForEachRow(rows, []any{&tok.Stream, &tok.Version}, func() error { tokens = append(tokens, tok); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := views.WaitApplied(context.Background(), views.Names(), tokens, time.Minute); err != nil {
		t.Fatalf("the read models did not apply the stored events: %v", err)
	}
}

// countEvents counts the stored events of types LIKE pattern from the
// global position from on.
func countEvents(t *testing.T, pool *pgxpool.Pool, pattern string, from uint64) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type LIKE $1 AND position >= $2`, pattern, int64(from)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitUntil(t *testing.T, d time.Duration, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		done, why := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not so after %s:\n%s", d, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRebuildBarShowsARate: nothing is drawn before the first events;
// then the count against the estimate, with the rate and time left since
// the rebuild's start, also once the count has reached an estimate that
// then grows, or that it never reaches; the line ends with the last
// report, at 100%, and a terminal shows each frame whole, without what an
// earlier, longer one left.
func TestRebuildBarShowsARate(t *testing.T) {
	type step struct {
		p    projections.Progress
		want string // the line on screen, up to the bar's percentage
	}
	for name, steps := range map[string][]step{
		"estimate reached, then grown, then not reached": {
			{projections.Progress{Phase: projections.PhaseReplay, Events: 1000, Estimate: 5000, Elapsed: 400 * time.Millisecond},
				"rebuilding teachers: 1000 of 5000 events, 2500/s, 2s left  19%"},
			{projections.Progress{Phase: projections.PhaseReplay, Events: 5000, Estimate: 5000, Elapsed: 2 * time.Second},
				"rebuilding teachers: 5000 of 5000 events, 2500/s  99%"},
			{projections.Progress{Phase: projections.PhaseSwap, Events: 5400, Estimate: 6000, Elapsed: 3 * time.Second},
				"catching up and swapping in: 5400 of 6000 events, 1800/s  89%"},
			// The log's head above the last event: positions of appends
			// rolled back.
			{projections.Progress{Phase: projections.PhaseDone, Events: 6000, Estimate: 6010, Elapsed: 4 * time.Second},
				"rebuilding teachers: 6000 events, 1500/s 100%"},
		},
		"all events in the first report": {
			{projections.Progress{Phase: projections.PhaseReplay, Events: 150, Estimate: 150, Elapsed: 400 * time.Millisecond},
				"rebuilding teachers: 150 of 150 events, 375/s  99%"},
			{projections.Progress{Phase: projections.PhaseIndex, Events: 150, Estimate: 150, Elapsed: 2 * time.Second},
				"building indexes: 150 of 150 events, 75/s  99%"},
			{projections.Progress{Phase: projections.PhaseDone, Events: 150, Estimate: 150, Elapsed: 3 * time.Second},
				"rebuilding teachers: 150 events, 50/s 100%"},
		},
		"done at the first report": {
			{projections.Progress{Phase: projections.PhaseDone, Events: 10, Estimate: 10, Elapsed: 100 * time.Millisecond},
				"rebuilding teachers: 10 events, 100/s 100%"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			bar := newRebuildBar(&out, []string{"teachers"})
			bar.update(projections.Progress{Phase: projections.PhaseReplay, Estimate: 5000, Elapsed: 200 * time.Millisecond})
			if out.Len() != 0 {
				t.Fatalf("drawn before any event: %q", out.String())
			}
			for _, s := range steps {
				bar.update(s.p)
				lines := screen(out.String())
				line := lines[len(lines)-1]
				if s.p.Phase == projections.PhaseDone {
					if line != "" || len(lines) != 2 {
						t.Fatalf("the bar's line is not ended with the last report: %q", lines)
					}
					line = lines[0]
				}
				// The bar itself ends the line: nothing after it.
				if !strings.HasPrefix(line, s.want+" |") || !strings.HasSuffix(line, "|") {
					t.Errorf("after %+v the screen shows %q, want %q, then the bar", s.p, line, s.want)
				}
			}
			n := out.Len()
			bar.exit() // after the last report: nothing more
			if out.Len() != n {
				t.Errorf("exit after the last report wrote %q", out.String()[n:])
			}
		})
	}
	var none *rebuildBar
	none.exit() // --quiet: no bar
}

// screen is what a terminal shows after out: each \r returns to the start
// of the line and what follows overwrites it; each \n starts a new line.
func screen(out string) []string {
	lines := [][]rune{nil}
	col := 0
	for _, r := range out {
		line := &lines[len(lines)-1]
		switch r {
		case '\r':
			col = 0
		case '\n':
			lines, col = append(lines, nil), 0
		default:
			if col < len(*line) {
				(*line)[col] = r
			} else {
				*line = append(*line, r)
			}
			col++
		}
	}
	shown := make([]string, len(lines))
	for i, l := range lines {
		shown[i] = strings.TrimRight(string(l), " ")
	}
	return shown
}
