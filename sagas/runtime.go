package sagas

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Clock is what the runtime reads the time from: SystemClock in serve, a
// settable one in tests (sagas/sagatest.Clock). The commands repository
// the sagas use should read the same clock.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// Config configures a Runtime.
type Config struct {
	// Pool holds the saga tables (required).
	Pool *pgxpool.Pool
	// Clock is the time instances see and deadlines are due by (default
	// SystemClock).
	Clock Clock
	// Logger gets deadline failures (default: none).
	Logger *slog.Logger
	// Registerer, when set, gets the runtime's metrics.
	Registerer prometheus.Registerer
	// Tick is how often RunDeadlines looks for due deadlines (default 1s).
	Tick time.Duration
	// Concurrency bounds the events and deadlines handled at once
	// (default: half the pool's connections, at least 1). Each holds a
	// connection for its transaction while the saga issues commands and
	// reads through the same pool, so the other half keeps a handling
	// from ever waiting on itself.
	Concurrency int
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.Concurrency == 0 && c.Pool != nil {
		c.Concurrency = max(1, int(c.Pool.Config().MaxConns)/2)
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Pool == nil {
		errs = append(errs, errors.New("sagas: Config.Pool is required"))
	}
	if c.Tick < 0 {
		errs = append(errs, fmt.Errorf("sagas: Config.Tick must be positive, not %s", c.Tick))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("sagas: Config.Concurrency must be positive, not %d", c.Concurrency))
	}
	return errors.Join(errs...)
}

// ErrUnknownSaga is matched by the error of Handle for a saga the runtime
// does not run: permanent.
var ErrUnknownSaga = errors.New("sagas: unknown saga")

// ErrInvalidEvent is matched by the error of Handle for an event that can
// never be handled (its body does not decode): permanent, the caller
// should dead-letter it.
var ErrInvalidEvent = errors.New("sagas: invalid event")

// Deadline retries: a saga whose Deadline fails with an error that is no
// domain error (the database, a read) is tried again after a backoff that
// doubles, up to maxDeadlineAttempts; then the instance fails with the
// error as the reason, so nothing waits forever unexplained.
const (
	maxDeadlineAttempts = 8
	deadlineBackoff     = 10 * time.Second
	maxDeadlineBackoff  = time.Hour
)

// Runtime runs sagas: it hands them events (Handle) and due deadlines
// (FireDue), and persists their instances, in one transaction per event
// or deadline. Safe for concurrent use, also by several processes on one
// database.
type Runtime struct {
	cfg     Config
	sagas   []Saga
	byName  map[string]Saga
	names   []string
	slots   chan struct{}
	metrics *runtimeMetrics
}

var validSagaName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// NewRuntime returns a runtime of sagas over cfg.Pool. Names must be
// unique lower-case identifiers.
func NewRuntime(cfg Config, sagas ...Saga) (*Runtime, error) {
	cfg.setDefaults()
	errs := []error{cfg.Validate()}
	r := &Runtime{cfg: cfg, byName: map[string]Saga{}}
	for i, s := range sagas {
		if s == nil {
			errs = append(errs, fmt.Errorf("sagas: saga %d is nil", i))
			continue
		}
		name := s.Name()
		switch {
		case !validSagaName.MatchString(name):
			errs = append(errs, fmt.Errorf("sagas: name %q: want a lower-case identifier ([a-z][a-z0-9_]*)", name))
			continue
		case r.byName[name] != nil:
			errs = append(errs, fmt.Errorf("sagas: saga %q registered twice", name))
			continue
		case len(s.Channels()) == 0:
			errs = append(errs, fmt.Errorf("sagas: saga %q consumes no channel", name))
		}
		r.sagas = append(r.sagas, s)
		r.byName[name] = s
		r.names = append(r.names, name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.slots = make(chan struct{}, cfg.Concurrency)
	m, err := newRuntimeMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// Sagas returns the sagas, in the order given.
func (r *Runtime) Sagas() []Saga { return append([]Saga(nil), r.sagas...) }

// now is the clock's time as stored (see dbTime).
func (r *Runtime) now() time.Time { return dbTime(r.cfg.Clock.Now()) }

func (r *Runtime) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runtime) release() { <-r.slots }

// Handle hands an event to the saga called saga, once: an event it has
// processed before (a redelivery, a retry after a crash) changes nothing.
// It returns after the transaction that records the outcome committed.
//
// A domain error from the saga fails the instance with the error as its
// reason (committed: the event is processed). Any other error rolls
// everything back and is returned, to be retried; so is a database
// failure. ErrUnknownSaga and ErrInvalidEvent are permanent.
func (r *Runtime) Handle(ctx context.Context, saga string, e eventstore.RecordedEvent) error {
	s, ok := r.byName[saga]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownSaga, saga)
	}
	t, err := NewTrigger(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	route, ok := s.Correlate(t)
	if !ok {
		return nil // not its concern: nothing to record
	}
	if route.ID == "" && route.Key == "" {
		return fmt.Errorf("saga %s: event %s (%s) routed to neither an ID nor a key", saga, e.ID, e.Type)
	}
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	start := time.Now()
	outcome, err := r.handle(ctx, s, t, route)
	r.metrics.handled(saga, outcome, time.Since(start))
	if err != nil {
		return fmt.Errorf("saga %s: event %s (%s, %s version %d): %w", saga, e.ID, e.Type, e.StreamID, e.Version, err)
	}
	return nil
}

func (r *Runtime) handle(ctx context.Context, s Saga, t Trigger, route Route) (outcome string, err error) {
	name := s.Name()
	tx, err := r.acquireTx(ctx)
	if err != nil {
		return outcomeError, err
	}
	defer func() { err = tx.end(ctx, err) }()
	now := r.now()
	seen, l, found, err := r.open(ctx, tx, name, t, route, now)
	if err != nil {
		return outcomeError, err
	}
	if seen {
		return outcomeDuplicate, nil // rolled back by end
	}
	var b pgx.Batch
	if !found || l.state.Finished() {
		var id *string
		if found {
			id = &l.in.id
		}
		queueProcessed(&b, name, t, id, outcomeIgnored, now)
		return outcomeIgnored, tx.commit(ctx, &b)
	}

	in := l.in
	in.now = now
	in.trigger = "event:" + t.ID.String()
	in.cause, in.corr = t.ID.String(), t.Metadata.CorrelationID
	if in.corr == "" {
		in.corr = in.cause
	}
	in.event, in.trType = t.ID.String(), t.Type

	outcome = outcomeHandled
	if herr := s.Handle(commands.WithReadCache(ctx), in, t); herr != nil {
		if domain.KindOf(herr) == 0 {
			return outcomeError, herr
		}
		in.Fail("failed", herr.Error())
		outcome = outcomeFailed
	}
	queueWrite(&b, l, now, nil)
	queueProcessed(&b, name, t, &in.id, outcome, now)
	if err := tx.commit(ctx, &b); err != nil {
		return outcomeError, err
	}
	if l.created {
		r.metrics.instance(name, StateRunning)
	}
	if in.state != l.state {
		r.metrics.instance(name, in.state)
	}
	return outcome, nil
}

// open begins the handling's transaction, takes its locks (see store.go)
// and finds the instance the route names: by ID first; then, with a key,
// the running instance that has it (an event that would start a new
// instance joins the one already going); else, when the route may start
// one, a new instance, written at commit. seen reports a redelivery:
// saga processed the event before. The first round trip takes the event's
// lock, the key's and (by ID) the instance's, and reads the processed
// record and the instance; an instance found by key costs one more, to
// lock it and read it again.
func (r *Runtime) open(ctx context.Context, tx *txConn, saga string, t Trigger, route Route, now time.Time) (seen bool, l loaded, found bool, err error) {
	b := beginBatch()
	queueLock(b, lockSagaEvent, saga, t.ID.String())
	queueProcessedBefore(b, saga, t.ID, &seen)
	if route.Key != "" {
		queueLock(b, lockSagaKey, saga, route.Key)
	}
	var res readResult
	if route.ID != "" {
		queueLock(b, lockSagaInstance, saga, route.ID)
		queueReadInstance(b, saga, true, route.ID, &res)
	} else {
		queueReadInstance(b, saga, false, route.Key, &res)
	}
	if err := tx.start(ctx, b); err != nil || seen {
		return seen, l, false, err
	}
	l, found = res.l, res.found
	if !found && route.ID != "" && route.Key != "" {
		if l, found, err = instanceByKey(ctx, tx.conn, saga, route.Key); err != nil {
			return false, l, false, err
		}
	}
	if found && l.in.id != route.ID {
		// Found by key: lock it, and read it again, as a handling of it
		// by ID (an event, a deadline) may have finished it meanwhile.
		// Its key cannot have moved to another instance: that takes the
		// key's lock, which this handling holds.
		var again readResult
		kb := &pgx.Batch{}
		queueLock(kb, lockSagaInstance, saga, l.in.id)
		queueReadInstance(kb, saga, true, l.in.id, &again)
		if err := tx.conn.SendBatch(ctx, kb).Close(); err != nil {
			return false, l, false, err
		}
		l, found = again.l, again.found && again.l.state == StateRunning && again.l.in.key == route.Key
	}
	if !found && route.Start {
		// Nobody else can start it meanwhile: a starter of the same ID
		// or key waits for the lock this handling holds. Started by key
		// alone, it is named by the starting event, so a redelivery
		// starts the same instance.
		id := cmp.Or(route.ID, t.ID.String())
		l, found = newInstance(saga, id, route.Key, t.Metadata.SchoolID, now), true
	}
	if found {
		l.keyLocked = route.Key
	}
	return false, l, found, nil
}

// FireDue fires every deadline due by the clock's time, each once, in a
// transaction of its own, and returns how many fired. A deadline whose
// saga fails with an error that is no domain error is tried again later
// (its error is in the returned one); the others still fire.
func (r *Runtime) FireDue(ctx context.Context) (int, error) {
	if len(r.names) == 0 {
		return 0, nil
	}
	var (
		fired int
		errs  []error
	)
	for {
		if err := ctx.Err(); err != nil {
			return fired, errors.Join(append(errs, err)...)
		}
		ok, more, err := r.fireNext(ctx)
		if err != nil {
			var de *deadlineError
			if !errors.As(err, &de) {
				return fired, errors.Join(append(errs, err)...) // the database: stop here
			}
			r.cfg.Logger.Warn("a saga deadline failed; it will be tried again", "err", err)
			errs = append(errs, err)
		}
		if ok {
			fired++
		}
		if !more {
			return fired, errors.Join(errs...)
		}
	}
}

// deadlineError is a saga's failure to handle a deadline, recorded on
// the deadline for a later attempt.
type deadlineError struct{ err error }

func (e *deadlineError) Error() string { return e.err.Error() }
func (e *deadlineError) Unwrap() error { return e.err }

// fireNext fires the next due deadline. more is false when none was due
// (or every instance with one was busy).
func (r *Runtime) fireNext(ctx context.Context) (fired, more bool, err error) {
	if err := r.acquire(ctx); err != nil {
		return false, false, err
	}
	defer r.release()
	tx, err := r.acquireTx(ctx)
	if err != nil {
		return false, false, err
	}
	defer func() { err = tx.end(ctx, err) }()
	now := r.now()
	var due [][2]string
	b := beginBatch()
	queueDueInstances(b, r.names, now, dueCandidates, &due)
	if err := tx.start(ctx, b); err != nil {
		return false, false, err
	}
	var saga, id string
	for _, c := range due {
		ok, err := tryLockInstance(ctx, tx.conn, c[0], c[1])
		if err != nil {
			return false, false, err
		}
		if ok {
			saga, id = c[0], c[1]
			break
		}
	}
	if id == "" {
		return false, false, nil
	}
	l, found, err := instanceByID(ctx, tx.conn, saga, id)
	if err != nil || !found {
		return false, true, err
	}
	d, ok, err := dueDeadline(ctx, tx.conn, saga, id, now)
	if err != nil || !ok {
		return false, true, err // fired or moved meanwhile: look again
	}
	var wb pgx.Batch
	if l.state.Finished() {
		// Cannot happen through the runtime (finishing cancels), but a
		// timer of a finished instance must not fire.
		wb.Queue(`UPDATE saga_deadlines SET cancelled_at = $2 WHERE id = $1`, d.id, now)
		return false, true, tx.commit(ctx, &wb)
	}
	s := r.byName[saga]
	in := l.in
	in.now = now
	in.trigger = fmt.Sprintf("deadline:%s@%s", d.name, d.due.Format(time.RFC3339Nano))
	in.corr = in.WorkflowID()
	in.trType = "deadline:" + d.name

	start := time.Now()
	outcome := outcomeHandled
	if herr := s.Deadline(commands.WithReadCache(ctx), in, Deadline{Name: d.name, Due: d.due, Payload: d.payload}); herr != nil {
		if domain.KindOf(herr) == 0 {
			r.metrics.deadline(saga, outcomeError, time.Since(start))
			return false, true, r.deferDeadline(ctx, tx, d, herr, now)
		}
		in.Fail("failed", herr.Error())
		outcome = outcomeFailed
	}
	queueWrite(&wb, l, now, &d.id)
	if err := tx.commit(ctx, &wb); err != nil {
		return false, true, err
	}
	r.metrics.deadline(saga, outcome, time.Since(start))
	if in.state != l.state {
		r.metrics.instance(saga, in.state)
	}
	return true, true, nil
}

// dueCandidates is how many instances with due deadlines fireNext
// considers at once, taking the first nobody else holds.
const dueCandidates = 16

// deferDeadline undoes what the saga did for d (a rollback to a savepoint
// would need the saga's work inside it: simpler to start over), records
// the failed attempt in a new transaction on the same connection, and
// after the last attempt fails the instance. It returns a *deadlineError
// when the deadline is to be tried again.
func (r *Runtime) deferDeadline(ctx context.Context, tx *txConn, d pendingDeadline, cause error, now time.Time) error {
	if err := tx.rollback(ctx); err != nil {
		return err
	}
	cause = fmt.Errorf("saga %s instance %s: deadline %s due %s: %w", d.saga, d.instance, d.name, d.due.Format(time.RFC3339), cause)
	var res readResult
	b := beginBatch()
	queueLock(b, lockSagaInstance, d.saga, d.instance)
	queueReadInstance(b, d.saga, true, d.instance, &res)
	if err := tx.start(ctx, b); err != nil || !res.found {
		return err
	}
	var wb pgx.Batch
	attempts := d.attempts + 1
	if attempts < maxDeadlineAttempts {
		backoff := min(deadlineBackoff<<(attempts-1), maxDeadlineBackoff)
		queueDeferDeadline(&wb, d.id, now.Add(backoff), cause)
		if err := tx.commit(ctx, &wb); err != nil {
			return fmt.Errorf("record the failed attempt: %w", err)
		}
		return &deadlineError{cause}
	}
	in := res.l.in
	in.now = now
	in.trType = "deadline:" + d.name
	in.Fail("failed", fmt.Sprintf("deadline %s could not be handled after %d attempts: %v", d.name, attempts, cause))
	queueDeferDeadline(&wb, d.id, now, cause)
	queueWrite(&wb, res.l, now, &d.id)
	if err := tx.commit(ctx, &wb); err != nil {
		return fmt.Errorf("record the failed attempt: %w", err)
	}
	r.metrics.instance(d.saga, StateFailed)
	return nil
}

// RunDeadlines fires due deadlines every Tick until ctx is done; failures
// are logged and tried again at a later tick. It returns nil when ctx
// ends.
func (r *Runtime) RunDeadlines(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := r.FireDue(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Error("firing saga deadlines failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// txConn is the transaction of one handling (of an event or a deadline)
// on a connection of its own, whose BEGIN travels in one round trip with
// the handling's first statements (start) and whose COMMIT with its
// writes (commit): however many statements the runtime runs, a handling
// costs it two round trips, besides the saga's own reads and commands.
// end rolls back whatever is still open and gives the connection back.
type txConn struct{ conn *pgxpool.Conn }

func (r *Runtime) acquireTx(ctx context.Context) (*txConn, error) {
	c, err := r.cfg.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &txConn{conn: c}, nil
}

// beginBatch is a batch that begins a transaction: start sends it.
func beginBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("begin")
	return b
}

// start sends b, which beginBatch made, and reads its results.
func (t *txConn) start(ctx context.Context, b *pgx.Batch) error {
	return t.conn.SendBatch(ctx, b).Close()
}

// commit sends b with the commit at its end. A failed statement of b
// leaves the transaction open and failed, for end to roll back.
func (t *txConn) commit(ctx context.Context, b *pgx.Batch) error {
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return pgx.ErrTxCommitRollback
		}
		return nil
	})
	if err := t.conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends the transaction if one is open.
func (t *txConn) rollback(ctx context.Context) error {
	if t.conn == nil || t.conn.Conn().PgConn().TxStatus() == 'I' {
		return nil
	}
	if _, err := t.conn.Exec(context.WithoutCancel(ctx), "rollback"); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// end rolls back what is still open and releases the connection, keeping
// err and adding a rollback failure to it. A connection left in a
// transaction (a rollback that failed) is closed by the pool, not reused.
func (t *txConn) end(ctx context.Context, err error) error {
	if t.conn == nil {
		return err
	}
	if !t.conn.Conn().IsClosed() {
		err = errors.Join(err, t.rollback(ctx))
	}
	t.conn.Release()
	t.conn = nil
	return err
}

// runtimeMetrics are the runtime's metrics; nil-safe.
type runtimeMetrics struct {
	events    *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
	deadlines *prometheus.CounterVec
	instances *prometheus.CounterVec
}

func newRuntimeMetrics(reg prometheus.Registerer) (*runtimeMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &runtimeMetrics{}
	var err error
	// Registered again by a runtime restarted in the same process (tests):
	// the existing collectors are reused.
	if m.events, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_events_total",
		Help: "Events handed to a saga, by outcome (handled, failed: the instance failed on it, ignored, duplicate, error: rolled back to be retried).",
	}, []string{"saga", "outcome"})); err != nil {
		return nil, err
	}
	if m.seconds, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edusmarthub_saga_handle_seconds",
		Help:    "Time to handle one event or deadline of a saga, from its transaction's start to its commit (the commands it issued included).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"saga"})); err != nil {
		return nil, err
	}
	if m.deadlines, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_deadlines_total",
		Help: "Deadlines fired, by outcome (handled, failed: the instance failed on it, error: to be tried again).",
	}, []string{"saga", "outcome"})); err != nil {
		return nil, err
	}
	if m.instances, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_instances_total",
		Help: "Saga instances that reached a state: running (started), completed, failed. Running now: the running count minus the completed and failed ones (summed over replicas).",
	}, []string{"saga", "state"})); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("sagas: metrics: %w", err)
	}
	return c, nil
}

func (m *runtimeMetrics) handled(saga, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(saga, outcome).Inc()
	if outcome != outcomeDuplicate {
		m.seconds.WithLabelValues(saga).Observe(took.Seconds())
	}
}

func (m *runtimeMetrics) deadline(saga, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.deadlines.WithLabelValues(saga, outcome).Inc()
	m.seconds.WithLabelValues(saga).Observe(took.Seconds())
}

func (m *runtimeMetrics) instance(saga string, s State) {
	if m == nil {
		return
	}
	m.instances.WithLabelValues(saga, string(s)).Inc()
}
