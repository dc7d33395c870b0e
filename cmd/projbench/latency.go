package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
)

// The latency run: the real service (`edusmarthub serve`, built from this
// checkout, with its embedded Kafka broker, against a database of the
// benchmark's server) takes RecordPerformance commands over HTTP at a
// steady rate (open loop: a command is sent on schedule whatever the
// earlier ones are doing). Each command's latency runs from its HTTP
// response to the moment its stream version shows in the performance
// projection's bookkeeping (rm_performance.applied), which commits in the
// same transaction as the read model's rows; a watcher polls it every
// 2ms for every command in flight (so figures are up to 2ms high).

// latencyProjection is the read model the latency run watches.
const latencyProjection = "performance"

// latencyStudents spreads the commands over streams, as a school's
// teachers do: few commands per stream and second.
const latencyStudents = 200

type latencyResult struct {
	rate       int
	duration   time.Duration
	sent       int64
	failed     int64
	unseen     int64 // responded but not visible by the end
	visible    []time.Duration
	responded  []time.Duration
	actualRate float64
}

func benchLatency(ctx context.Context, srv *server, o options, progress func(string)) (res latencyResult, err error) {
	res.rate, res.duration = o.rate, o.duration
	dir, err := os.MkdirTemp("", "projbench-serve-*")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "edusmarthub")
	progress("building edusmarthub")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/edusmarthub").CombinedOutput(); err != nil {
		return res, fmt.Errorf("go build ./cmd/edusmarthub (run projbench from the repository's root): %w\n%s", err, out)
	}
	dbURL, err := srv.newDatabase(ctx, "projbench_latency")
	if err != nil {
		return res, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	kafkaAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	random := make([]byte, 48)
	_, _ = rand.Read(random)
	secret := []byte(base64.StdEncoding.EncodeToString(random)) // serve uses the variable's bytes as they are
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"EDUSMARTHUB_DATA_DIR="+dir,
		"EDUSMARTHUB_HTTP_ADDR="+httpAddr,
		"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR="+kafkaAddr,
		"EDUSMARTHUB_JWT_SECRET="+string(secret),
		"EDUSMARTHUB_LOG_LEVEL=warn",
		"EDUSMARTHUB_SHUTDOWN_TIMEOUT=5s",
	)
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	cmd.Stdout, cmd.Stderr = sw, sw
	progress("starting edusmarthub serve")
	if err := cmd.Start(); err != nil {
		return res, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err != nil {
			sw.mu.Lock()
			err = fmt.Errorf("%w\nserve's log:\n%s", err, logs.String())
			sw.mu.Unlock()
		}
	}()
	base := "http://" + httpAddr
	if err := waitReady(ctx, base, exited); err != nil {
		return res, err
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 30 * time.Second}
	api := &apiClient{base: base, http: client, secret: secret}
	school, students, err := api.setUp(ctx)
	if err != nil {
		return res, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer pool.Close()
	// The read model is live once it has the students: serve sets the
	// projections up in the background at its start.
	if err := waitStudents(ctx, pool, students); err != nil {
		return res, err
	}
	progress(fmt.Sprintf("school with %d students ready; %s at %d commands/s, then %s measured", len(students), o.warmup, o.rate, o.duration))

	w := newWatcher(pool)
	wctx, stopWatching := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- w.run(wctx) }()

	interval := time.Second / time.Duration(o.rate)
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	end := measureFrom.Add(o.duration)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inFlight = make(chan struct{}, 1000)
		sent     atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
	)
	// Open loop: command i is due at start + i*interval and sent then, or
	// at once if the sender is late; nothing waits for earlier answers.
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.After(end) || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		measured := due.After(measureFrom)
		select {
		case inFlight <- struct{}{}:
		default:
			if measured { // the service fell 1000 commands behind: count it, keep the rate
				sent.Add(1)
				failed.Add(1)
			}
			continue
		}
		student := students[i%len(students)]
		wg.Go(func() {
			defer func() { <-inFlight }()
			sentAt := time.Now()
			r, err := api.recordGrade(ctx, school, student, i)
			respondedAt := time.Now()
			if !measured {
				return
			}
			sent.Add(1)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			mu.Lock()
			res.responded = append(res.responded, respondedAt.Sub(sentAt))
			mu.Unlock()
			w.expect(r.Stream, r.Version, respondedAt)
		})
	}
	wg.Wait()
	res.actualRate = float64(sent.Load()) / o.duration.Seconds()
	// Give the last ones time to show.
	deadline := time.Now().Add(10 * time.Second)
	for w.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopWatching()
	if err := <-watchDone; err != nil && !errors.Is(err, context.Canceled) {
		return res, err
	}
	res.sent, res.failed, res.unseen = sent.Load(), failed.Load(), int64(w.pending())
	res.visible = w.latencies()
	if e, ok := firstErr.Load().(error); ok && res.failed > res.sent/100 {
		return res, fmt.Errorf("%d of %d commands failed, e.g.: %w", res.failed, res.sent, e)
	}
	return res, nil
}

func printLatency(w io.Writer, r latencyResult, o options) {
	fmt.Fprintf(w, "\nCommand-to-visible latency: RecordPerformance over HTTP at %d commands/s for %s (%.0f/s sent, %d failed, %d not visible within 10s), %d students;\n"+
		"from the HTTP response to the %s read model's commit (polled every 2ms); serve with embedded Kafka\n",
		r.rate, r.duration, r.actualRate, r.failed, r.unseen, latencyStudents, latencyProjection)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tsamples\tp50\tp90\tp99\tmax\t")
	row := func(name string, d []time.Duration) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", name, len(d), msText(pct(d, 0.50)), msText(pct(d, 0.90)), msText(pct(d, 0.99)), msText(pct(d, 1)))
	}
	row("response to visible", r.visible)
	row("HTTP command (for scale)", r.responded)
	_ = tw.Flush()
	fmt.Fprintf(w, "goal: p99 <= 100ms: %s\n", map[bool]string{true: "met", false: "missed"}[pct(r.visible, 0.99) <= 100*time.Millisecond && len(r.visible) > 0])
}

func waitStudents(ctx context.Context, pool *pgxpool.Pool, students []string) error {
	streams := make([]string, len(students))
	for i, s := range students {
		streams[i] = "student-" + s
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM rm_`+latencyProjection+`.applied WHERE stream_id = ANY($1)`, streams).Scan(&n)
		if err == nil && n == len(streams) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s read model did not get the students within 2 minutes (%d of %d; %v)", latencyProjection, n, len(streams), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func msText(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(ctx context.Context, base string, exited <-chan error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("serve exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("serve not ready after 2 minutes")
}

// syncWriter serialises writes to w (serve's stdout and stderr).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// apiClient talks to serve.
type apiClient struct {
	base           string
	http           *http.Client
	secret         []byte
	admin, teacher string
}

type cmdResult struct {
	ID      string `json:"id"`
	Stream  string `json:"stream"`
	Version uint64 `json:"version"`
}

func (a *apiClient) token(c auth.Claims) (string, error) {
	return auth.Issue(a.secret, c, 2*time.Hour, time.Now())
}

func (a *apiClient) post(ctx context.Context, token, path string, body any) (cmdResult, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return cmdResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		return cmdResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return cmdResult{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return cmdResult{}, err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return cmdResult{}, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, out)
	}
	var r cmdResult
	if err := json.Unmarshal(out, &r); err != nil {
		return cmdResult{}, fmt.Errorf("POST %s: %w", path, err)
	}
	return r, nil
}

// setUp registers a school with students and returns their IDs.
func (a *apiClient) setUp(ctx context.Context) (string, []string, error) {
	platform, err := a.token(auth.Claims{Subject: "projbench", Roles: []commands.Role{commands.RolePlatformAdmin}})
	if err != nil {
		return "", nil, err
	}
	s, err := a.post(ctx, platform, "/v1/schools", map[string]any{"name": "Benchmark School", "timezone": "Europe/London"})
	if err != nil {
		return "", nil, err
	}
	a.admin, err = a.token(auth.Claims{Subject: "projbench-admin", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: s.ID})
	if err != nil {
		return "", nil, err
	}
	var students []string
	for i := range latencyStudents {
		r, err := a.post(ctx, a.admin, "/v1/schools/"+s.ID+"/students", map[string]any{
			"name": "Student " + strconv.Itoa(i), "dateOfBirth": "2015-03-04", "gradeLevel": 5,
			"guardians": []map[string]string{{"name": "Parent " + strconv.Itoa(i), "email": fmt.Sprintf("parent%d@example.com", i), "relationship": "mother"}},
		})
		if err != nil {
			return "", nil, err
		}
		students = append(students, r.ID)
	}
	return s.ID, students, nil
}

var benchSubjects = []string{"mathematics", "english", "science", "history"}

func (a *apiClient) recordGrade(ctx context.Context, school, student string, i int) (cmdResult, error) {
	return a.post(ctx, a.admin, "/v1/schools/"+school+"/students/"+student+"/performance", map[string]any{
		"subject": benchSubjects[i%len(benchSubjects)], "grade": 40 + i%60, "assessmentType": "quiz",
		"assessedAt": time.Now().UTC().Format(time.RFC3339),
	})
}

// watcher polls the projection's bookkeeping for the commands it expects.
type watcher struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	want map[string][]expectation // by stream
	got  []time.Duration
}

type expectation struct {
	version     uint64
	respondedAt time.Time
}

func newWatcher(pool *pgxpool.Pool) *watcher {
	return &watcher{pool: pool, want: map[string][]expectation{}}
}

func (w *watcher) expect(stream string, version uint64, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want[stream] = append(w.want[stream], expectation{version, at})
}

func (w *watcher) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, es := range w.want {
		n += len(es)
	}
	return n
}

func (w *watcher) latencies() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

func (w *watcher) run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		w.mu.Lock()
		streams := make([]string, 0, len(w.want))
		for s := range w.want {
			streams = append(streams, s)
		}
		w.mu.Unlock()
		if len(streams) == 0 {
			continue
		}
		rows, err := w.pool.Query(ctx, `SELECT stream_id, version FROM rm_`+latencyProjection+`.applied WHERE stream_id = ANY($1)`, streams)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // not set up yet
		}
		seenAt := time.Now()
		applied := map[string]uint64{}
		for rows.Next() {
			var s string
			var v int64
			if err := rows.Scan(&s, &v); err != nil {
				rows.Close()
				return err
			}
			applied[s] = uint64(v)
		}
		rows.Close()
		w.mu.Lock()
		for s, v := range applied {
			es := w.want[s]
			kept := es[:0]
			for _, e := range es {
				if e.version <= v {
					w.got = append(w.got, seenAt.Sub(e.respondedAt))
				} else {
					kept = append(kept, e)
				}
			}
			if len(kept) == 0 {
				delete(w.want, s)
			} else {
				w.want[s] = kept
			}
		}
		w.mu.Unlock()
	}
}
