// Command sagabench measures the data-flow workflows end to end and
// prints a table: -records performance records (RecordPerformance
// commands) go through the student_performance workflow, a fifth of them
// (-high) at high risk, which starts an ai_intervention_workflow for each
// struggling student; everything travels the production path: the
// PostgreSQL event store, the Kafka relay, the embedded Kafka-protocol
// broker, the sagas' consumer groups, the saga runtime and the commands
// the workflows issue, with every projection live (the workflows read
// attendance from the read models through internal/directory).
//
// The school: -records / -subjects students in classes of -class-size,
// each assessed once in each of -subjects subjects, round after round (a
// student's grades are a round apart). A -high share of the students
// struggle (grades 20–29, attendance 50% over the last week): each of
// their records is high risk (score ≥ 0.62); the others (grades 70–89,
// always present) are low.
//
// Reported, per workflow: records (or instances) per second from the
// first command to the last final state, and the latency of each from
// its command to its final state: student_performance completed (risk
// assessed, teachers and guardians told), ai_intervention_workflow
// waiting for its first follow-up (intervention opened, teacher and
// guardians told) — measured from the command of the record whose risk
// assessment started it, so it includes the first workflow and a second
// trip through the relay and Kafka. A state counts when the runtime's
// transaction committed. With -rate 0 (the default) -writers issue the
// commands as fast as they can, so the latencies include the queue the
// sagas build up; a -rate below the throughput shows them unloaded.
//
// The baseline, measured first in the same run (-baseline, on by
// default): the same commands, on a second school of the same shape,
// through the same system — store, relay, Kafka, every projection — with
// no saga consuming, each record timed from its command to its commit in
// the performance read model. The sagas' consumer groups then start at
// the end of their topics, so they see only the second run's records.
// Each row also shows the CPU time the benchmark's own process (writers,
// relay, broker, consumers, sagas; not PostgreSQL) spent per record.
//
// It starts a throwaway PostgreSQL cluster unless DATABASE_URL names a
// server (where it creates, and afterwards drops, a database of its own),
// and an embedded broker unless EDUSMARTHUB_KAFKA_BROKERS names brokers.
//
//	go run ./cmd/sagabench [-records 10000] [-subjects 5] [-high 0.2] [-writers 8] [-rate 0] [-partitions 12] [-baseline=true]
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/benchdb"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/migrations"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sagabench:", err)
		os.Exit(1)
	}
}

type options struct {
	records, subjects, writers, rate, partitions, classSize int
	high                                                    float64
	timeout                                                 time.Duration
	quiet, baseline                                         bool
	cpuProfile                                              string
}

func run() (err error) {
	var o options
	flag.IntVar(&o.records, "records", 10_000, "performance records to send through student_performance")
	flag.IntVar(&o.subjects, "subjects", 5, "subjects per student (records per student), 1 to 8")
	flag.Float64Var(&o.high, "high", 0.2, "share of the students (so of the records) at high risk")
	flag.IntVar(&o.writers, "writers", 8, "concurrent command writers")
	flag.IntVar(&o.rate, "rate", 0, "records per second to send (0: as fast as the writers go)")
	flag.IntVar(&o.partitions, "partitions", kafka.DefaultPartitions, "partitions of each topic")
	flag.IntVar(&o.classSize, "class-size", 25, "students per class")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up waiting for the workflows after this long")
	flag.BoolVar(&o.quiet, "quiet", false, "print only the table")
	flag.BoolVar(&o.baseline, "baseline", true, "first measure the baseline: the same records through the same system with the sagas off, "+
		"to the performance read model (on a second school of the same shape)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the sagas' part (after the baseline) to this file")
	flag.Parse()
	if o.subjects < 1 || o.subjects > len(benchSubjects) || o.records < o.subjects || o.high < 0 || o.high > 1 ||
		o.writers < 1 || o.rate < 0 || o.partitions < 1 || o.classSize < 1 || o.classSize > domain.MaxClassCapacity {
		return fmt.Errorf("-subjects must be 1..%d, -records at least -subjects, -high in [0,1], -class-size 1..%d, "+
			"-writers and -partitions positive, -rate not negative", len(benchSubjects), domain.MaxClassCapacity)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress io.Writer = os.Stderr
	if o.quiet {
		progress = io.Discard
	}

	db, err := benchdb.Open(ctx, os.Getenv("DATABASE_URL"), "sagabench", false)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	pcfg, err := db.PoolConfig(64)
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Apply(ctx, pool); err != nil {
		return err
	}
	store := postgres.New(pool)
	repo := commands.NewRepository(store, nil)
	log := slog.New(slog.DiscardHandler)

	kcfg := kafka.Config{Partitions: int32(o.partitions), ReplicationFactor: 1}
	brokerDesc := "embedded broker (kfake, in-process, in memory)"
	if b := os.Getenv("EDUSMARTHUB_KAFKA_BROKERS"); b != "" {
		for s := range strings.SplitSeq(b, ",") {
			kcfg.Brokers = append(kcfg.Brokers, strings.TrimSpace(s))
		}
		kcfg.ReplicationFactor = 0
		kcfg.TopicPrefix = "sagabench-" + uuid.NewString()[:8]
		brokerDesc = "brokers " + b + ", topics " + kcfg.TopicPrefix + ".*"
	} else {
		b, err := kafka.StartEmbeddedBroker(ctx, "127.0.0.1:0", o.partitions, nil)
		if err != nil {
			return err
		}
		defer b.Close()
		kcfg.Brokers = []string{b.Addr()}
	}

	// The rest of the service, wired as serve wires it: the relay, every
	// projection on its own consumer group, the two workflows on theirs.
	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopBg(); bg.Wait() }()
	relay, err := kafka.NewRelay(kafka.RelayConfig{Kafka: kcfg, Logger: log}, store, pool)
	if err != nil {
		return err
	}
	bg.Go(func() { _ = relay.Run(bgCtx) })
	views, err := projections.NewRegistry(projections.Config{DB: pool, Store: store, Logger: log, Lag: projections.PostgresLag(pool)},
		projections.All()...)
	if err != nil {
		return err
	}
	if err := views.Setup(ctx); err != nil {
		return err
	}
	defer views.Close()
	tr := newTracker()
	if err := startRouter(ctx, bgCtx, &bg, kcfg, log, projectionHandlers(views, tr)); err != nil {
		return err
	}

	schools := 1
	if o.baseline {
		schools = 2 // one for the baseline, one for the workflows
	}
	fmt.Fprintf(progress, "setting up %d school(s): %d students in %d subjects each...\n", schools, o.records/o.subjects, o.subjects)
	var sc, base *school
	if sc, err = setup(ctx, repo, o); err != nil {
		return err
	}
	lines := sc.attendanceLines
	if o.baseline {
		if base, err = setup(ctx, repo, o); err != nil {
			return err
		}
		lines += base.attendanceLines
	}
	fmt.Fprintln(progress, "waiting for the read models (attendance)...")
	if err := waitFor(ctx, time.Now().Add(o.timeout), func() (bool, error) {
		var n int
		err := pool.QueryRow(ctx, `SELECT coalesce(sum(cardinality(students)), 0) FROM rm_attendance.registers`).Scan(&n)
		return n >= lines, err
	}); err != nil {
		return fmt.Errorf("attendance read model: %w", err)
	}

	// The baseline: the same commands through the same system, no saga
	// running, each record timed to its commit in the performance read
	// model. The sagas' consumer groups then start after its records, so
	// they see only their own school's. Each phase starts once every read
	// model has caught up with what came before.
	var baseline *result
	if o.baseline {
		fmt.Fprintln(progress, "waiting for every read model to catch up...")
		if err := caughtUp(ctx, views, time.Now().Add(o.timeout)); err != nil {
			return err
		}
		fmt.Fprintf(progress, "baseline, sagas off: sending %d performance records (%d writers, %s)...\n", o.records, o.writers, rateWords(o.rate))
		cpu0 := processCPU()
		bsent, err := send(ctx, repo, base, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "waiting for the performance read model to show them...\n")
		if err := waitFor(ctx, time.Now().Add(o.timeout), func() (bool, error) { return tr.count(baselineKey) >= o.records, nil }); err != nil {
			return fmt.Errorf("baseline: %d of %d records in the read model: %w", tr.count(baselineKey), o.records, err)
		}
		r := measureRecords(baselineKey, bsent, tr)
		r.cpu = processCPU() - cpu0
		baseline = &r
		if err := skipToEnd(ctx, kcfg, sagaGroups()); err != nil {
			return err
		}
	}
	fmt.Fprintln(progress, "waiting for every read model to catch up...")
	if err := caughtUp(ctx, views, time.Now().Add(o.timeout)); err != nil {
		return err
	}

	deps := sagas.Deps{Repo: repo, Notifier: sagas.NewInboxNotifier(repo), Directory: directory.New(pool), Settings: sagas.DefaultSettings()}
	rt, err := sagas.NewRuntime(sagas.Config{Pool: pool, Logger: log},
		sagas.NewStudentPerformance(deps), sagas.NewInterventionWorkflow(deps))
	if err != nil {
		return err
	}
	if err := startRouter(ctx, bgCtx, &bg, kcfg, log, sagaHandlers(rt, tr)); err != nil {
		return err
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(progress, "sagas on: sending %d performance records (%d writers, %s)...\n", o.records, o.writers, rateWords(o.rate))
	cpu0 := processCPU()
	sent, err := send(ctx, repo, sc, o)
	if err != nil {
		return err
	}
	wantIV := len(sc.struggling)
	fmt.Fprintf(progress, "waiting for %d student_performance and %d ai_intervention_workflow instances...\n", o.records, wantIV)
	deadline := time.Now().Add(o.timeout)
	if err := waitFor(ctx, deadline, func() (bool, error) { return tr.count(sagas.StudentPerformanceSaga) >= o.records, nil }); err != nil {
		return fmt.Errorf("student_performance: %d of %d: %w", tr.count(sagas.StudentPerformanceSaga), o.records, err)
	}
	var ivIDs []string
	if err := waitFor(ctx, deadline, func() (bool, error) {
		ivIDs, err = instanceIDs(ctx, pool, sagas.InterventionWorkflowSaga)
		return len(ivIDs) >= wantIV && tr.has(sagas.InterventionWorkflowSaga, ivIDs), err
	}); err != nil {
		return fmt.Errorf("ai_intervention_workflow: %d of %d: %w", len(ivIDs), wantIV, err)
	}

	res := measure(sent, tr, ivIDs)
	res[0].cpu = processCPU() - cpu0
	checks, err := check(ctx, pool, o, sc)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("Saga throughput: %d performance records through student_performance (%d students × %d subjects, "+
		"%d struggling: %d records at high risk), each high-risk student's first starting ai_intervention_workflow.\n"+
		"Command (RecordPerformance) -> PostgreSQL store -> relay -> Kafka -> saga consumer groups -> runtime (committed final state); "+
		"every projection live.\n%s, %d partitions per topic; PostgreSQL: %s; %d writers, %s; %d CPUs, GOMAXPROCS=%d",
		o.records, len(sc.students), o.subjects, len(sc.struggling), len(sc.struggling)*o.subjects,
		brokerDesc, o.partitions, db.Where, o.writers, rateWords(o.rate), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Println()
	printTable(os.Stdout, header, baseline, res, checks)
	return nil
}

func rateWords(rate int) string {
	if rate == 0 {
		return "as fast as they go"
	}
	return fmt.Sprintf("%d records/s", rate)
}

// benchSubjects are the subjects a class is taught, in order.
var benchSubjects = []string{"mathematics", "english", "physics", "history", "art", "biology", "chemistry", "geography"}

type school struct {
	id         string
	students   []string
	struggling []string
	isHigh     map[string]bool
	// attendanceLines is how many register lines the setup recorded.
	attendanceLines int
}

func admin(schoolID string) commands.Meta {
	return commands.Meta{SchoolID: schoolID, Actor: commands.Actor{ID: "bench-admin", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: schoolID}}
}

// setup registers the school, its teachers, classes and students, and a
// week of attendance.
func setup(ctx context.Context, repo *commands.Repository, o options) (*school, error) {
	sc := &school{id: uuid.NewString(), isHigh: map[string]bool{}}
	if _, err := commands.NewRegisterSchoolHandler(repo).Handle(ctx, commands.Meta{Actor: commands.Actor{ID: "bench",
		Roles: []commands.Role{commands.RolePlatformAdmin}}}, commands.RegisterSchool{SchoolID: sc.id, Name: "Benchmark High", Timezone: "UTC"}); err != nil {
		return nil, err
	}
	m := admin(sc.id)
	nStudents := o.records / o.subjects
	nClasses := (nStudents + o.classSize - 1) / o.classSize
	subjects := benchSubjects[:o.subjects]
	// One teacher per subject for every 10 classes.
	teachers := map[string]string{} // subject/group -> teacher
	for g := 0; g*10 < nClasses; g++ {
		for _, s := range subjects {
			res, err := commands.NewCreateTeacherHandler(repo).Handle(ctx, m, commands.CreateTeacher{
				Name: fmt.Sprintf("Teacher %s %d", s, g), Email: fmt.Sprintf("%s.%d@bench.example", s, g), Subjects: []string{s},
				Preferences: domain.PreferencesInput{MaxClassesPerDay: 8},
			})
			if err != nil {
				return nil, fmt.Errorf("teacher: %w", err)
			}
			teachers[fmt.Sprintf("%s/%d", s, g)] = res.ID
		}
	}
	classes := make([]string, nClasses)
	for c := range classes {
		classes[c] = uuid.NewString()
		var cs []domain.ClassSubjectInput
		for _, s := range subjects {
			cs = append(cs, domain.ClassSubjectInput{Subject: s, TeacherID: teachers[fmt.Sprintf("%s/%d", s, c/10)]})
		}
		if _, err := commands.NewCreateClassHandler(repo).Handle(ctx, m, commands.CreateClass{
			ClassID: classes[c], Name: fmt.Sprintf("5-%d", c+1), GradeLevel: 5, Capacity: o.classSize, Subjects: cs}); err != nil {
			return nil, fmt.Errorf("class: %w", err)
		}
	}
	sc.students = make([]string, nStudents)
	for i, high := range strugglers(nStudents, o.high) {
		sc.students[i] = uuid.NewString()
		if high {
			sc.struggling = append(sc.struggling, sc.students[i])
			sc.isHigh[sc.students[i]] = true
		}
	}
	// A class's students one after the other (they all change its
	// roster), the classes side by side.
	err := parallel(ctx, 8, nClasses, func(c int) error {
		for i := c * o.classSize; i < min((c+1)*o.classSize, nStudents); i++ {
			id := sc.students[i]
			if _, err := commands.NewEnrollStudentHandler(repo).Handle(ctx, m, commands.EnrollStudent{
				StudentID: id, Name: fmt.Sprintf("Student %d", i+1), DateOfBirth: "2015-03-04", GradeLevel: 5,
				Guardians: []commands.EnrollStudentGuardian{{Name: fmt.Sprintf("Guardian %d", i+1),
					Email: fmt.Sprintf("guardian.%d@home.example", i+1), Relationship: "parent"}},
			}); err != nil {
				return fmt.Errorf("enroll: %w", err)
			}
			if _, err := commands.NewAssignStudentToClassHandler(repo).Handle(ctx, m, commands.AssignStudentToClass{
				StudentID: id, ClassID: classes[c]}); err != nil {
				return fmt.Errorf("assign: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A week's registers, period 1: the struggling absent every other day.
	today := domain.DateOf(time.Now())
	err = parallel(ctx, 8, nClasses, func(c int) error {
		for day := 1; day <= 4; day++ {
			var entries []domain.AttendanceEntryInput
			for i := c * o.classSize; i < min((c+1)*o.classSize, nStudents); i++ {
				status := "present"
				if sc.isHigh[sc.students[i]] && day%2 == 0 {
					status = "absent"
				}
				entries = append(entries, domain.AttendanceEntryInput{StudentID: sc.students[i], Status: status})
			}
			if _, err := commands.NewRecordAttendanceHandler(repo).Handle(ctx, m, commands.RecordAttendance{
				ClassID: classes[c], Date: today.AddDays(-day).String(), Period: 1, Entries: entries}); err != nil {
				return fmt.Errorf("attendance: %w", err)
			}
		}
		return nil
	})
	sc.attendanceLines = 4 * nStudents
	return sc, err
}

// strugglers says which of n students struggle: round(n × share) of
// them, spread evenly (so over the classes).
func strugglers(n int, share float64) []bool {
	out := make([]bool, n)
	k := int(math.Round(float64(n) * share))
	for i := range out {
		out[i] = k > 0 && i*k/n != (i+1)*k/n
	}
	return out
}

// parallel runs fn(0..n-1) on workers goroutines; the first error stops it.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	return paced(ctx, workers, n, 0, func(_ context.Context, i int) error { return fn(i) })
}

type sentLog struct {
	first time.Time
	at    map[string]time.Time // assessment ID -> command start
}

// send records every student's grade in each subject, a round per
// subject, each command timed from its start.
func send(ctx context.Context, repo *commands.Repository, sc *school, o options) (*sentLog, error) {
	n := len(sc.students) * o.subjects
	h := commands.NewRecordPerformanceHandler(repo)
	m := admin(sc.id)
	out := &sentLog{at: make(map[string]time.Time, n)}
	var mu sync.Mutex
	err := paced(ctx, o.writers, n, o.rate, func(ctx context.Context, k int) error {
		round, i := k/len(sc.students), k%len(sc.students)
		student := sc.students[i]
		grade := 70 + float64(k%20)
		if sc.isHigh[student] {
			grade = 20 + float64(k%10)
		}
		id := uuid.NewString()
		cm := m
		cm.CommandID = uuid.NewString()
		start := time.Now()
		if _, err := h.Handle(ctx, cm, commands.RecordPerformance{StudentID: student, AssessmentID: id,
			Subject: benchSubjects[round], Grade: grade, AssessmentType: "quiz", AssessedAt: start}); err != nil {
			return fmt.Errorf("record performance: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		out.at[id] = start
		if out.first.IsZero() || start.Before(out.first) {
			out.first = start
		}
		return nil
	})
	return out, err
}

// paced runs fn(0..n-1), in order, on workers goroutines, at most rate a
// second (0: no limit); the first error stops it.
func paced(ctx context.Context, workers, n, rate int, fn func(ctx context.Context, k int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range jobs {
				if err := fn(ctx, k); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for k := range n {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case jobs <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// tracker records when each saga's handling of an event committed (and,
// for the baseline, the performance projection's), and what the
// measurement needs of the event.
type tracker struct {
	mu   sync.Mutex
	done map[string]map[string]handled // saga (or baselineKey) -> key -> first commit
}

// baselineKey is the tracker's key of the baseline: records committed in
// the performance read model.
const baselineKey = "baseline"

type handled struct {
	at         time.Time
	assessment string // the assessment the event is about
}

func newTracker() *tracker {
	return &tracker{done: map[string]map[string]handled{
		baselineKey:                    {},
		sagas.StudentPerformanceSaga:   {},
		sagas.InterventionWorkflowSaga: {},
	}}
}

// note records a committed handling: student_performance by assessment
// ID, ai_intervention_workflow by risk event ID (an instance's business
// ID when the event started it).
func (tr *tracker) note(saga string, e kafka.Event, at time.Time) {
	rec := e.Recorded()
	ev, err := domain.DecodeEvent(rec.Type, rec.Data)
	if err != nil {
		return
	}
	var key, assessment string
	switch ev := ev.(type) {
	case domain.PerformanceRecorded:
		key, assessment = ev.AssessmentID, ev.AssessmentID
	case domain.RiskAssessed:
		key, assessment = rec.ID.String(), ev.Basis.AssessmentID
	default:
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if _, seen := tr.done[saga][key]; !seen {
		tr.done[saga][key] = handled{at: at, assessment: assessment}
	}
}

func (tr *tracker) count(saga string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.done[saga])
}

func (tr *tracker) has(saga string, keys []string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, k := range keys {
		if _, ok := tr.done[saga][k]; !ok {
			return false
		}
	}
	return true
}

func (tr *tracker) get(saga, key string) (handled, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	h, ok := tr.done[saga][key]
	return h, ok
}

// projectionHandlers are serve's projection handlers, the commit of
// each performance record in the performance read model noted (the
// baseline's end point).
func projectionHandlers(views *projections.Registry, tr *tracker) []kafka.Handler {
	hs := kafka.ProjectionHandlers(views)
	for i, h := range hs {
		if h.Name != kafka.ProjectionHandlerPrefix+"performance" {
			continue
		}
		hs[i].Handle = func(ctx context.Context, e kafka.Event) error {
			err := h.Handle(ctx, e)
			if err == nil {
				tr.note(baselineKey, e, time.Now())
			}
			return err
		}
	}
	return hs
}

// sagaGroups are the topics the saga handlers consume, by consumer group
// name (the handler's).
func sagaGroups() map[string][]domain.Channel {
	all := []sagas.Saga{sagas.NewStudentPerformance(sagas.Deps{}), sagas.NewInterventionWorkflow(sagas.Deps{})}
	out := map[string][]domain.Channel{}
	for _, s := range all {
		out[kafka.SagaHandlerPrefix+s.Name()] = s.Channels()
	}
	return out
}

// skipToEnd commits, for each consumer group (by handler name) not yet
// started, the end of each of its topics' partitions as its position, so
// that it starts after everything published so far (a new group would
// start from the oldest message).
func skipToEnd(ctx context.Context, kcfg kafka.Config, groups map[string][]domain.Channel) (err error) {
	scfg, err := kcfg.ConsumerSaramaConfig()
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(kcfg.Brokers, scfg)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer func() { err = errors.Join(err, client.Close()) }()
	for handler, channels := range groups {
		group := kafka.ConsumerGroup(kcfg, handler)
		req := sarama.NewOffsetCommitRequest(scfg, group)
		for _, ch := range channels {
			topic := kcfg.Topic(ch)
			parts, err := client.Partitions(topic)
			if err != nil {
				return fmt.Errorf("partitions of %s: %w", topic, err)
			}
			for _, p := range parts {
				end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
				if err != nil {
					return fmt.Errorf("end of %s/%d: %w", topic, p, err)
				}
				req.AddBlock(topic, p, end, sarama.ReceiveTime, "")
			}
		}
		coord, err := client.Coordinator(group)
		if err != nil {
			return fmt.Errorf("coordinator of %s: %w", group, err)
		}
		resp, err := coord.CommitOffset(req)
		if err != nil {
			return fmt.Errorf("commit the offsets of %s: %w", group, err)
		}
		for topic, ps := range resp.Errors {
			for p, kerr := range ps {
				if kerr != sarama.ErrNoError {
					return fmt.Errorf("commit the offset of %s on %s/%d: %w", group, topic, p, kerr)
				}
			}
		}
	}
	return ctx.Err()
}

// sagaHandlers are serve's saga handlers, the commit of each handling
// noted.
func sagaHandlers(rt *sagas.Runtime, tr *tracker) []kafka.Handler {
	hs := kafka.SagaHandlers(rt)
	for i, h := range hs {
		name := strings.TrimPrefix(h.Name, kafka.SagaHandlerPrefix)
		hs[i].Handle = func(ctx context.Context, e kafka.Event) error {
			err := h.Handle(ctx, e)
			if err == nil {
				tr.note(name, e, time.Now())
			}
			return err
		}
	}
	return hs
}

// startRouter runs a router of handlers in the background until bgCtx
// ends, and waits for it to start.
func startRouter(ctx, bgCtx context.Context, bg *sync.WaitGroup, kcfg kafka.Config, log *slog.Logger, hs []kafka.Handler) error {
	r, err := kafka.NewRouterWithConfig(kafka.RouterConfig{Kafka: kcfg, Logger: log}, hs...)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	bg.Go(func() { done <- r.Run(bgCtx) })
	select {
	case <-r.Running():
		return nil
	case err := <-done:
		return fmt.Errorf("router stopped at start: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return errors.New("router did not start in a minute")
	}
}

// caughtUp waits until every projection has applied every event of its
// channels in the store (its lag is 0 twice in a row).
func caughtUp(ctx context.Context, views *projections.Registry, deadline time.Time) error {
	zero := 0
	err := waitFor(ctx, deadline, func() (bool, error) {
		st, err := views.Status(ctx)
		if err != nil {
			return false, err
		}
		for _, s := range st {
			if s.Lag != 0 {
				zero = 0
				return false, nil
			}
		}
		zero++
		return zero >= 2, nil
	})
	if err != nil {
		return fmt.Errorf("read models catching up: %w", err)
	}
	return nil
}

// waitFor polls cond until it holds, the deadline passes or ctx ends.
func waitFor(ctx context.Context, deadline time.Time, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// instanceIDs lists the business IDs of a saga's instances.
func instanceIDs(ctx context.Context, pool *pgxpool.Pool, saga string) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM saga_instances WHERE saga = $1`, saga)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

type result struct {
	workflow  string
	instances int
	perSecond float64 // from the first command to the last final state
	latencies []time.Duration
	cpu       time.Duration // of this process, from the first command to the last final state (0: not measured)
	last      time.Time     // the last final state
}

// measureRecords is the result of records whose commits tr noted under
// key, each timed from its command.
func measureRecords(key string, sent *sentLog, tr *tracker) result {
	r := result{workflow: key}
	for id, start := range sent.at {
		if h, ok := tr.get(key, id); ok {
			r.add(start, h.at)
		}
	}
	return r.done(sent.first)
}

// add counts an instance started at start and finished at end.
func (r *result) add(start, end time.Time) {
	r.latencies = append(r.latencies, end.Sub(start))
	if end.After(r.last) {
		r.last = end
	}
}

// done works out the count and rate from first (the first command) and
// sorts the latencies.
func (r result) done(first time.Time) result {
	r.instances = len(r.latencies)
	if d := r.last.Sub(first).Seconds(); d > 0 {
		r.perSecond = float64(r.instances) / d
	}
	slices.Sort(r.latencies)
	return r
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(sent *sentLog, tr *tracker, ivIDs []string) []result {
	sp := measureRecords(sagas.StudentPerformanceSaga, sent, tr)
	iv := result{workflow: sagas.InterventionWorkflowSaga}
	for _, id := range ivIDs {
		h, ok := tr.get(sagas.InterventionWorkflowSaga, id)
		if start, sentOK := sent.at[h.assessment]; ok && sentOK {
			iv.add(start, h.at)
		}
	}
	return []result{sp, iv.done(sent.first)}
}

// pct is the p-quantile of sorted durations (nearest rank).
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// check counts what the workflows did against what they should have: one
// risk assessment per record, one intervention per struggling student,
// the messages of both, no failed instance.
func check(ctx context.Context, pool *pgxpool.Pool, o options, sc *school) (string, error) {
	count := func(typ string) (int, error) {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, typ).Scan(&n)
		return n, err
	}
	high := len(sc.struggling) * o.subjects
	want := map[string]int{
		domain.RiskAssessedType:       len(sc.students) * o.subjects,
		domain.InterventionOpenedType: len(sc.struggling),
		// a high record: its teachers and its guardians; an intervention:
		// its teacher and the guardians.
		domain.MessageSentType: 2*high + 2*len(sc.struggling),
	}
	var parts []string
	ok := true
	for _, typ := range []string{domain.RiskAssessedType, domain.InterventionOpenedType, domain.MessageSentType} {
		n, err := count(typ)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %d (want %d)", typ, n, want[typ]))
		ok = ok && n == want[typ]
	}
	var failed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM saga_instances WHERE state = 'failed'`).Scan(&failed); err != nil {
		return "", err
	}
	parts = append(parts, fmt.Sprintf("failed instances %d", failed))
	verdict := "all as expected"
	if !ok || failed > 0 {
		verdict = "MISMATCH"
	}
	return "checks: " + strings.Join(parts, ", ") + ": " + verdict, nil
}

func printTable(w io.Writer, header string, baseline *result, res []result, checks string) {
	fmt.Fprintln(w, header)
	fmt.Fprintln(w)
	rows := res
	if baseline != nil {
		rows = append([]result{*baseline}, res...)
	}
	label := map[string]string{
		baselineKey:                    "baseline, sagas off: record -> performance read model",
		sagas.StudentPerformanceSaga:   "student_performance: record -> completed",
		sagas.InterventionWorkflowSaga: "ai_intervention_workflow: record -> waiting for follow-up",
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measured\tinstances\tper second\tvs baseline\tp50\tp90\tp99\tmax\tgo CPU/record\t")
	for _, r := range rows {
		vs, cpu := "-", "-"
		if baseline != nil && baseline.perSecond > 0 && r.workflow != sagas.InterventionWorkflowSaga {
			vs = fmt.Sprintf("%.2fx", r.perSecond/baseline.perSecond)
		}
		if r.cpu > 0 && r.instances > 0 {
			cpu = ms(r.cpu / time.Duration(r.instances))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", cmp.Or(label[r.workflow], r.workflow), r.instances, r.perSecond, vs,
			ms(pct(r.latencies, 0.5)), ms(pct(r.latencies, 0.9)), ms(pct(r.latencies, 0.99)), ms(pct(r.latencies, 1)), cpu)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "per second: records (instances) from the first command to the last final state; latencies: from each record's command")
	fmt.Fprintln(w, "to the committed final state (ai_intervention_workflow: from the command of the record whose assessment started it).")
	if baseline != nil {
		fmt.Fprintln(w, "baseline: the same RecordPerformance commands, run first on a second school of the same shape through the same system")
		fmt.Fprintln(w, "(store, relay, Kafka, every projection) with no saga consuming, to the commit in the performance read model;")
		fmt.Fprintln(w, "the sagas' consumer groups then start after its records.")
	}
	fmt.Fprintln(w, "go CPU/record: CPU time of this process (writers, relay, broker, consumers, sagas; not PostgreSQL) over the phase, per record.")
	fmt.Fprintln(w, checks)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
