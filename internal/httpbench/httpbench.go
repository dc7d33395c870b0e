// Package httpbench measures the command API's throughput and latency over
// real HTTP: the service's own server (transport/http over the command
// repository and the PostgreSQL event store with its metrics, the command
// path as cmd/edusmarthub serve wires it, without the background readers
// of the log) listening on loopback in this process, driven by
// closed-loop clients at increasing concurrency. Beside it, in the same
// run and at the same concurrency, the same commands through their
// handlers called directly, so what HTTP adds is visible. cmd/httpbench
// prints the table.
package httpbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/eventstore/storemetrics"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// The commands measured.
const (
	// CreateTeacher: a school admin hires a teacher, each request with an
	// e-mail of its own, so each one creates a new stream.
	CreateTeacher = "CreateTeacher"
	// RecordPerformance: a teacher records a grade for a student of a
	// class they teach (the student, the class and the student's record
	// are read, the record appended to), each with a new assessment ID.
	RecordPerformance = "RecordPerformance"
)

// Limit is the latency bound of the headline figure: the highest
// throughput whose p99 stays under it.
const Limit = 50 * time.Millisecond

// Config is a benchmark run.
type Config struct {
	Commands []string      // default CreateTeacher, RecordPerformance
	Clients  []int         // concurrency levels; default 1, 2, 4, 8, 16, 32
	Duration time.Duration // measured time per side per round; default 1s
	Rounds   int           // rounds per level, alternating which side goes first; default 2
	Warmup   time.Duration // unmeasured time per side before a level's first round; default 250ms, negative: none
	// MaxRequests ends a side's round early once it has sent this many
	// requests; default 5000. With Duration it bounds the run.
	MaxRequests int
	// StudentsPerLevel is how many students RecordPerformance records for
	// at each level, enrolled for that level only, so every level starts
	// from empty records (each request reads the student's whole record)
	// and the levels compare. Each client takes its own share. Default 64;
	// at least the largest level's clients.
	StudentsPerLevel int
	// Logger is the server's (access logs, errors). Default: JSON at info
	// level into io.Discard, formatted as in production, printed nowhere.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if len(c.Commands) == 0 {
		c.Commands = []string{CreateTeacher, RecordPerformance}
	}
	if len(c.Clients) == 0 {
		c.Clients = []int{1, 2, 4, 8, 16, 32}
	}
	if c.Duration <= 0 {
		c.Duration = time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 2
	}
	if c.Warmup == 0 {
		c.Warmup = 250 * time.Millisecond
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = 5000
	}
	if c.StudentsPerLevel <= 0 {
		c.StudentsPerLevel = max(64, slices.Max(c.Clients))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
}

func (c Config) validate() error {
	var errs []error
	for _, cmd := range c.Commands {
		if cmd != CreateTeacher && cmd != RecordPerformance {
			errs = append(errs, fmt.Errorf("unknown command %q (want %s or %s)", cmd, CreateTeacher, RecordPerformance))
		}
	}
	for _, n := range c.Clients {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%d clients", n))
		}
	}
	if slices.Contains(c.Commands, RecordPerformance) && c.StudentsPerLevel < slices.Max(c.Clients) {
		errs = append(errs, fmt.Errorf("%d students per level for up to %d clients: each client needs one at least",
			c.StudentsPerLevel, slices.Max(c.Clients)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("httpbench: %w", err)
	}
	return nil
}

// Side is what one way of issuing the command measured at one level.
type Side struct {
	Requests int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond is the side's throughput.
func (s Side) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Result compares HTTP with direct calls for one command at one level.
type Result struct {
	Command string
	Clients int
	HTTP    Side // over loopback HTTP, through the whole server
	Direct  Side // the command handler called in process
}

// Ratio is HTTP's throughput over the direct calls'.
func (r Result) Ratio() float64 {
	if d := r.Direct.PerSecond(); d > 0 {
		return r.HTTP.PerSecond() / d
	}
	return 0
}

// Best is the level with the highest HTTP throughput among those whose
// HTTP p99 is under limit; false if none is.
func Best(results []Result, command string, limit time.Duration) (Result, bool) {
	var best Result
	found := false
	for _, r := range results {
		if r.Command == command && r.HTTP.P99 < limit && (!found || r.HTTP.PerSecond() > best.HTTP.PerSecond()) {
			best, found = r, true
		}
	}
	return best, found
}

// Run measures each command at each level, HTTP and direct in short
// slices that alternate, so that load from elsewhere on the machine falls
// on both alike. pool must be on a migrated database; it is the server's
// pool, as EDUSMARTHUB_DB_MAX_CONNS sizes it in the service. progress, if
// not nil, gets a line per measurement.
func Run(ctx context.Context, pool *pgxpool.Pool, cfg Config, progress io.Writer) (_ []Result, err error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := start(ctx, pool, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.close()) }()

	var results []Result
	for _, cmd := range cfg.Commands {
		for _, n := range cfg.Clients {
			sides, err := e.workload(ctx, cmd, n)
			if err != nil {
				return nil, fmt.Errorf("httpbench: %s, %d clients: set up: %w", cmd, n, err)
			}
			r, err := measureLevel(ctx, cfg, cmd, n, sides, progress)
			if err != nil {
				return nil, err
			}
			results = append(results, r)
		}
	}
	return results, nil
}

// request issues one command; a client calls it back to back.
type request func(ctx context.Context) error

func measureLevel(ctx context.Context, cfg Config, cmd string, n int, sides map[string][]request, progress io.Writer) (Result, error) {
	if cfg.Warmup > 0 {
		for _, side := range []string{"http", "direct"} {
			if _, _, _, err := measure(ctx, sides[side], cfg.Warmup, cfg.MaxRequests); err != nil {
				return Result{}, fmt.Errorf("httpbench: %s, %d clients, %s warm-up: %w", cmd, n, side, err)
			}
		}
	}
	acc := map[string]*Side{"http": {}, "direct": {}}
	lat := map[string][]time.Duration{}
	for round := range cfg.Rounds {
		order := []string{"http", "direct"}
		if round%2 == 1 {
			order = []string{"direct", "http"}
		}
		for _, side := range order {
			reqs, elapsed, l, err := measure(ctx, sides[side], cfg.Duration, cfg.MaxRequests)
			if err != nil {
				return Result{}, fmt.Errorf("httpbench: %s, %d clients, %s: %w", cmd, n, side, err)
			}
			a := acc[side]
			a.Requests += reqs
			a.Elapsed += elapsed
			lat[side] = append(lat[side], l...)
			if progress != nil {
				fmt.Fprintf(progress, "  %-17s %2d clients  %-6s  round %d  %6.0f req/s  p99 %s\n",
					cmd, n, side, round+1, float64(reqs)/elapsed.Seconds(), ms(percentile(l, 0.99)))
			}
		}
	}
	for side, a := range acc {
		a.P50, a.P99 = percentile(lat[side], 0.50), percentile(lat[side], 0.99)
	}
	return Result{Command: cmd, Clients: n, HTTP: *acc["http"], Direct: *acc["direct"]}, nil
}

// measure runs every client in its own goroutine, back to back, for d or
// until maxRequests have been started, and returns the requests, the
// elapsed time and every request's latency. The first failure ends it.
func measure(ctx context.Context, clients []request, d time.Duration, maxRequests int) (int, time.Duration, []time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu      sync.Mutex
		lat     []time.Duration
		started atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, do := range clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil && started.Add(1) <= int64(maxRequests) {
				t0 := time.Now()
				if err := do(ctx); err != nil {
					cancel(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return 0, 0, nil, err
	}
	return len(lat), elapsed, lat, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// env is the server under test and the school the commands act in.
type env struct {
	cfg     Config
	repo    *commands.Repository
	srv     *http.Server
	served  chan error
	baseURL string
	client  *http.Client
	run     string       // tells this run's e-mails apart
	seq     atomic.Int64 // numbers e-mails
	school  string
	admin   commands.Actor
	teacher commands.Actor
	tokens  map[string]string // actor ID -> bearer token
	// assessedAt is every recorded grade's date: yesterday, never in the
	// future for the domain.
	assessedAt time.Time
}

// start builds the service's HTTP server on pool as cmd/edusmarthub serve
// does (store with metrics, repository, server), serves it on a loopback
// port and sets up a school with an admin and a teacher.
func start(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*env, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store, err := storemetrics.Wrap(postgres.New(pool), reg)
	if err != nil {
		return nil, fmt.Errorf("httpbench: event store metrics: %w", err)
	}
	repo := commands.NewRepository(store, time.Now)
	api, err := httpapi.NewServer(httpapi.Config{JWTSecret: secret, Logger: cfg.Logger, Registerer: reg},
		httpapi.Deps{Store: store, Pool: pool, Commands: repo})
	if err != nil {
		return nil, fmt.Errorf("httpbench: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("httpbench: listen on loopback: %w", err)
	}
	clients := slices.Max(cfg.Clients)
	e := &env{
		cfg:  cfg,
		repo: repo,
		srv: &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)},
		served:  make(chan error, 1),
		baseURL: "http://" + ln.Addr().String(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy:               nil, // loopback, whatever the environment says
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: clients, // one kept-alive connection per client
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		}},
		run:        uuid.NewString()[:8],
		tokens:     map[string]string{},
		assessedAt: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour),
	}
	go func() { e.served <- e.srv.Serve(ln) }()

	if err := e.setUp(ctx, secret); err != nil {
		return nil, errors.Join(fmt.Errorf("httpbench: set up: %w", err), e.close())
	}
	return e, nil
}

func (e *env) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	if serr := <-e.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	e.client.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("httpbench: stop the server: %w", err)
	}
	return nil
}

// meta is a command's metadata as the HTTP layer makes it: fresh IDs.
func (e *env) meta(a commands.Actor) commands.Meta {
	id := uuid.NewString()
	return commands.Meta{CommandID: id, SchoolID: e.school, Actor: a, CorrelationID: uuid.NewString(),
		CausationID: id, RequestID: uuid.NewString()}
}

func (e *env) setUp(ctx context.Context, secret []byte) error {
	platform := commands.Actor{ID: "httpbench-platform", Roles: []commands.Role{commands.RolePlatformAdmin}}
	e.school = uuid.NewString()
	if _, err := commands.NewRegisterSchoolHandler(e.repo).Handle(ctx, e.meta(platform), commands.RegisterSchool{
		SchoolID: e.school, Name: "Benchmark School " + e.run, Timezone: "Europe/London"}); err != nil {
		return fmt.Errorf("register the school: %w", err)
	}
	e.admin = commands.Actor{ID: "httpbench-admin", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: e.school}
	res, err := commands.NewCreateTeacherHandler(e.repo).Handle(ctx, e.meta(e.admin), e.newTeacher())
	if err != nil {
		return fmt.Errorf("create the teacher: %w", err)
	}
	e.teacher = commands.Actor{ID: res.ID, Roles: []commands.Role{commands.RoleTeacher}, SchoolID: e.school}
	for _, a := range []commands.Actor{e.admin, e.teacher} {
		// Valid for far longer than any run.
		tok, err := auth.Issue(secret, auth.Claims{Subject: a.ID, Roles: a.Roles, SchoolID: a.SchoolID}, 24*time.Hour, time.Now())
		if err != nil {
			return err
		}
		e.tokens[a.ID] = tok
	}
	return nil
}

// newTeacher is a CreateTeacher with an e-mail no other has.
func (e *env) newTeacher() commands.CreateTeacher {
	n := e.seq.Add(1)
	return commands.CreateTeacher{
		Name:        fmt.Sprintf("Teacher %d", n),
		Email:       fmt.Sprintf("teacher-%s-%d@httpbench.example", e.run, n),
		Subjects:    []string{"mathematics", "physics"},
		Preferences: domain.PreferencesInput{PreferredTimeSlots: []string{"morning"}, MaxClassesPerDay: 4},
	}
}

// workload returns, for each side, one request function per client.
func (e *env) workload(ctx context.Context, cmd string, clients int) (map[string][]request, error) {
	sides := map[string][]request{"http": make([]request, clients), "direct": make([]request, clients)}
	switch cmd {
	case CreateTeacher:
		h := commands.NewCreateTeacherHandler(e.repo)
		path := "/v1/schools/" + e.school + "/teachers"
		for i := range clients {
			sides["direct"][i] = func(ctx context.Context) error {
				_, err := h.Handle(ctx, e.meta(e.admin), e.newTeacher())
				return err
			}
			sides["http"][i] = func(ctx context.Context) error {
				t := e.newTeacher()
				body := fmt.Appendf(nil, `{"name":%q,"email":%q,"subjects":["mathematics","physics"],`+
					`"preferences":{"preferredTimeSlots":["morning"],"maxClassesPerDay":4}}`, t.Name, t.Email)
				return e.post(ctx, path, e.admin, body)
			}
		}
	case RecordPerformance:
		students, err := e.enrol(ctx, e.cfg.StudentsPerLevel)
		if err != nil {
			return nil, err
		}
		h := commands.NewRecordPerformanceHandler(e.repo)
		for i := range clients {
			// Client i records for students i, i+clients, ...: its own
			// share, so no two clients write one record at once.
			var mine []string
			for k := i; k < len(students); k += clients {
				mine = append(mine, students[k])
			}
			// The client's turn, shared by its two sides (which never run
			// at once): one student after another, each grade different.
			turn := 0
			next := func() (string, float64) {
				turn++
				return mine[turn%len(mine)], float64(50 + turn%50)
			}
			sides["direct"][i] = func(ctx context.Context) error {
				student, grade := next()
				_, err := h.Handle(ctx, e.meta(e.teacher), commands.RecordPerformance{StudentID: student,
					AssessmentID: uuid.NewString(), Subject: "mathematics", Grade: grade, AssessmentType: "quiz", AssessedAt: e.assessedAt})
				return err
			}
			sides["http"][i] = func(ctx context.Context) error {
				student, grade := next()
				body := fmt.Appendf(nil, `{"subject":"mathematics","grade":%g,"assessmentType":"quiz","assessedAt":%q}`,
					grade, e.assessedAt.Format(time.RFC3339))
				return e.post(ctx, "/v1/schools/"+e.school+"/students/"+student+"/performance", e.teacher, body)
			}
		}
	}
	return sides, nil
}

// classSize is the size of the classes students are enrolled in.
const classSize = 30

// enrol enrols n new students in new classes of classSize whose
// mathematics the teacher teaches, and returns their IDs. Classes are
// filled side by side, one goroutine each: a class's roster is one
// stream, so its students go one at a time.
func (e *env) enrol(ctx context.Context, n int) ([]string, error) {
	students := make([]string, n)
	for i := range students {
		students[i] = uuid.NewString()
	}
	enrolH := commands.NewEnrollStudentHandler(e.repo)
	classH := commands.NewCreateClassHandler(e.repo)
	assignH := commands.NewAssignStudentToClassHandler(e.repo)
	var wg sync.WaitGroup
	errs := make(chan error, (n+classSize-1)/classSize)
	for from := 0; from < n; from += classSize {
		group := students[from:min(from+classSize, n)]
		wg.Go(func() {
			class := uuid.NewString()
			_, err := classH.Handle(ctx, e.meta(e.admin), commands.CreateClass{ClassID: class, Name: "Class " + class[:8],
				GradeLevel: 5, Capacity: classSize, Subjects: []domain.ClassSubjectInput{{Subject: "mathematics", TeacherID: e.teacher.ID}}})
			if err != nil {
				errs <- fmt.Errorf("create a class: %w", err)
				return
			}
			for _, s := range group {
				if _, err := enrolH.Handle(ctx, e.meta(e.admin), commands.EnrollStudent{StudentID: s, Name: "Student " + s[:8],
					DateOfBirth: "2015-05-01", GradeLevel: 5, Guardians: []commands.EnrollStudentGuardian{
						{Name: "Guardian " + s[:8], Email: "guardian-" + s + "@httpbench.example", Relationship: "parent"}}}); err != nil {
					errs <- fmt.Errorf("enrol a student: %w", err)
					return
				}
				if _, err := assignH.Handle(ctx, e.meta(e.admin), commands.AssignStudentToClass{StudentID: s, ClassID: class}); err != nil {
					errs <- fmt.Errorf("assign a student to a class: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return students, errors.Join(all...)
}

// post sends a command as actor and expects 201 Created.
func (e *env) post(ctx context.Context, path string, actor commands.Actor, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[actor.ID])
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body) // all of it, so the connection is reused
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// Print writes the results as a table under header, then the headline
// figure of each command.
func Print(w io.Writer, header string, results []Result) error {
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\tclients\thttp req/s\tp50\tp99\tdirect req/s\tp50\tp99\thttp/direct\t")
	var cmds []string
	for _, r := range results {
		if !slices.Contains(cmds, r.Command) {
			cmds = append(cmds, r.Command)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t%.2f\t\n", r.Command, r.Clients,
			r.HTTP.PerSecond(), ms(r.HTTP.P50), ms(r.HTTP.P99),
			r.Direct.PerSecond(), ms(r.Direct.P50), ms(r.Direct.P99), r.Ratio())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, cmd := range cmds {
		var err error
		if b, ok := Best(results, cmd, Limit); ok {
			_, err = fmt.Fprintf(w, "%s: %.0f requests/s at p99 < %s (%d clients, p99 %s)\n",
				cmd, b.HTTP.PerSecond(), Limit, b.Clients, ms(b.HTTP.P99))
		} else {
			_, err = fmt.Fprintf(w, "%s: no level kept p99 under %s\n", cmd, Limit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
