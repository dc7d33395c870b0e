package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
)

// The relay publishes the event store's global log to Kafka (DESIGN.md
// rule 1): it follows the log from a checkpoint kept in PostgreSQL, sends
// each event to its channel's topic keyed by stream, and moves the
// checkpoint only past events the brokers acknowledged, together with
// every event before them in log order. Delivery is at least once: after
// a failure or a restart the events after the checkpoint are sent again.
//
// Why not Watermill's publisher: it sends one message and waits for its
// acknowledgement before the next, a round trip per event. The relay
// drives sarama's AsyncProducer directly instead, with many messages in
// flight at once, batched per partition. Per-stream order still holds:
// a stream's events share a partition (key = stream ID), the producer
// sends a partition's messages in the order it was given them, and the
// idempotent producer with one request in flight per broker keeps that
// order through retries.

// Defaults of RelayConfig.
const (
	DefaultRelayName          = "kafka-relay"
	DefaultRelayMaxInFlight   = 20000
	DefaultCheckpointInterval = 100 * time.Millisecond
	DefaultLockPollInterval   = time.Second
	DefaultLockTimeout        = 10 * time.Second
	DefaultRetryBackoff       = 250 * time.Millisecond
	DefaultMaxRetryBackoff    = 10 * time.Second
	DefaultStatusInterval     = 2 * time.Second
)

// relayLockNamespace is the first key of the relay's advisory lock (the
// second is the hash of its name), apart from the event store's.
const relayLockNamespace int32 = 1919706465

// relayHandlerName is the dlq_handler of the events the relay cannot route
// (their type is not registered in this build) and sends to the
// dead-letter topic instead; dlq_topic is empty: they were never on one.
const relayHandlerName = "relay"

// BacklogFunc counts the events of the store's log that follow position
// after in log order, as of now.
type BacklogFunc func(ctx context.Context, after eventstore.Position) (uint64, error)

// RelayConfig configures a Relay.
type RelayConfig struct {
	Kafka Config
	// Name identifies the relay's checkpoint and lock (default
	// "kafka-relay"). Relays of one name share the work: one publishes,
	// the others stand by.
	Name string
	// MaxInFlight bounds the events read but not yet acknowledged
	// together with all before them (default 20000).
	MaxInFlight int
	// CheckpointInterval is how often the checkpoint is written while it
	// moves (default 100ms).
	CheckpointInterval time.Duration
	// LockPollInterval is how often a standby relay tries to take the
	// lock, and how often the active one checks it still holds it
	// (default 1s).
	LockPollInterval time.Duration
	// LockTimeout: a lock holder that went silent this long (a frozen or
	// cut-off process) loses its session, and so the lock, to the
	// PostgreSQL server (idle_session_timeout; default 10s).
	LockTimeout time.Duration
	// RetryBackoff is the wait after a failure (broker down, say); it
	// doubles up to MaxRetryBackoff (defaults 250ms and 10s).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// StatusInterval is how often the position and lag gauges are
	// refreshed (default 2s).
	StatusInterval time.Duration
	// Backlog counts the events after a position. Default: a count in the
	// PostgreSQL event store's log in the relay's database. Set it when
	// the store is elsewhere.
	Backlog BacklogFunc
	Logger  *slog.Logger
	// Registerer takes the relay's metrics (default: none exported).
	Registerer prometheus.Registerer
}

func (c *RelayConfig) setDefaults(pool *pgxpool.Pool) {
	c.Kafka.setDefaults()
	if c.Name == "" {
		c.Name = DefaultRelayName
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultRelayMaxInFlight
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.LockPollInterval == 0 {
		c.LockPollInterval = DefaultLockPollInterval
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Backlog == nil && pool != nil {
		c.Backlog = PostgresBacklog(pool)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
}

// Validate reports every problem of the configuration at once.
func (c RelayConfig) Validate() error {
	errs := []error{c.Kafka.Validate()}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("kafka relay: %s must be positive, got %s", name, d))
		}
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("kafka relay: max in flight must be at least 1, got %d", c.MaxInFlight))
	}
	positive("checkpoint interval", c.CheckpointInterval)
	positive("lock poll interval", c.LockPollInterval)
	positive("retry backoff", c.RetryBackoff)
	positive("max retry backoff", c.MaxRetryBackoff)
	positive("status interval", c.StatusInterval)
	if c.LockTimeout <= 2*c.LockPollInterval {
		errs = append(errs, fmt.Errorf("kafka relay: lock timeout (%s) must exceed twice the lock poll interval (%s)", c.LockTimeout, c.LockPollInterval))
	}
	return errors.Join(errs...)
}

// Relay publishes the store's log to Kafka. Run it on every replica: one
// at a time is active.
type Relay struct {
	cfg     RelayConfig
	store   eventstore.Store
	pool    *pgxpool.Pool
	metrics relayMetrics

	running   atomic.Bool
	active    atomic.Bool
	published atomic.Uint64
	mu        sync.Mutex
	track     *tracker // the active session's; nil when standing by
	lastErr   string
	// clusterID is the Kafka cluster the last session published to: a
	// different one later is a new, empty cluster (an embedded broker
	// restarted) that needs the whole log.
	clusterID string
}

type relayMetrics struct {
	position  prometheus.Gauge
	lag       prometheus.Gauge
	active    prometheus.Gauge
	published prometheus.Counter
	failures  prometheus.Counter
}

// NewRelay builds a relay over store, keeping its checkpoint and lock in
// the PostgreSQL database of pool (migrated: the checkpoints table).
func NewRelay(cfg RelayConfig, store eventstore.Store, pool *pgxpool.Pool) (*Relay, error) {
	cfg.setDefaults(pool)
	errs := []error{cfg.Validate()}
	if store == nil {
		errs = append(errs, errors.New("kafka relay: no event store"))
	}
	if pool == nil {
		errs = append(errs, errors.New("kafka relay: no database pool"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	labels := prometheus.Labels{"relay": cfg.Name}
	m := relayMetrics{
		position: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edusmarthub_relay_position", ConstLabels: labels,
			Help: "Store position of the last event published together with every event before it in log order."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edusmarthub_relay_lag_events", ConstLabels: labels,
			Help: "Events of the store's log after the relay's position, as of the last refresh."}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edusmarthub_relay_active", ConstLabels: labels,
			Help: "1 while this replica's relay holds the lock and publishes, 0 while it stands by."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "edusmarthub_relay_published_events_total", ConstLabels: labels,
			Help: "Events acknowledged by the brokers (re-publications after a failure count again)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "edusmarthub_relay_failures_total", ConstLabels: labels,
			Help: "Publishing sessions that ended with an error (broker unreachable, produce failure); each is retried."}),
	}
	for _, c := range []prometheus.Collector{m.position, m.lag, m.active, m.published, m.failures} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("kafka relay: register metrics: %w", err)
		}
	}
	return &Relay{cfg: cfg, store: store, pool: pool, metrics: m}, nil
}

// RelayStatus is a relay's state as seen from this replica.
type RelayStatus struct {
	Name string
	// Active reports whether this replica publishes (holds the lock).
	Active bool
	// Position is the checkpoint: every event up to it in log order has
	// been acknowledged by the brokers. Live when active, else as stored.
	Position eventstore.Position
	// Head is the store's last readable position.
	Head eventstore.Position
	// Lag is the number of events after Position in log order.
	Lag uint64
	// Published counts the events this replica had acknowledged.
	Published uint64
	// LastError is the error that ended the last failed session, if any.
	LastError string
}

// Status reports the relay's position and lag now.
func (r *Relay) Status(ctx context.Context) (RelayStatus, error) {
	st := RelayStatus{Name: r.cfg.Name, Active: r.active.Load(), Published: r.published.Load()}
	r.mu.Lock()
	st.LastError = r.lastErr
	r.mu.Unlock()
	var err error
	if st.Position, err = r.position(ctx); err != nil {
		return st, err
	}
	if st.Head, err = r.store.Head(ctx); err != nil {
		return st, fmt.Errorf("kafka relay: head: %w", err)
	}
	if st.Lag, err = r.cfg.Backlog(ctx, st.Position); err != nil {
		return st, fmt.Errorf("kafka relay: lag: %w", err)
	}
	return st, nil
}

// Published counts the events this replica had acknowledged (cheap: no
// database query, unlike Status).
func (r *Relay) Published() uint64 { return r.published.Load() }

// Active reports whether this replica publishes now.
func (r *Relay) Active() bool { return r.active.Load() }

// position is the live checkpoint when active, else the stored one.
func (r *Relay) position(ctx context.Context) (eventstore.Position, error) {
	r.mu.Lock()
	t := r.track
	r.mu.Unlock()
	if t != nil {
		return t.committed(), nil
	}
	var pos int64
	err := r.pool.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = $1`, r.cfg.Name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("kafka relay: read checkpoint: %w", err)
	}
	return uint64(pos), nil
}

// Run publishes while it holds the relay's lock, and waits for the lock
// while another replica holds it, until ctx is done; it then returns nil.
// Failures (broker or database unreachable) are logged and retried with
// backoff; they never end Run.
func (r *Relay) Run(ctx context.Context) error {
	if r.running.Swap(true) {
		return errors.New("kafka relay: Run called twice")
	}
	defer r.running.Store(false)
	var wg sync.WaitGroup
	wg.Go(func() { r.refreshStatus(ctx) })
	defer wg.Wait()

	log := r.cfg.Logger.With("relay", r.cfg.Name)
	retry := newBackoff(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff)
	for {
		start := time.Now()
		err := r.lead(ctx, log)
		if ctx.Err() != nil {
			return nil
		}
		r.setLastError(err)
		wait := retry.after(start)
		log.Warn("kafka relay: lost its database session; reconnecting", "err", err, "retryIn", wait.String())
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// errLockLost ends a session whose lock connection failed: another
// replica may hold the lock by now, so this one must stop publishing.
var errLockLost = errors.New("kafka relay: lost the lock (its database session failed)")

// lead connects a session of its own for the lock, waits until it holds
// the lock, then publishes until ctx ends or the session fails. The lock
// is a session advisory lock: PostgreSQL releases it when the session
// ends, whether this process stopped, crashed or went silent for
// LockTimeout.
func (r *Relay) lead(ctx context.Context, log *slog.Logger) error {
	cc := r.pool.Config().ConnConfig.Copy()
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = "edusmarthub relay " + r.cfg.Name
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A holder that stops talking (frozen, cut off) loses the session and
	// so the lock: it pings at every LockPollInterval, well within it.
	// Older servers lack the setting; their TCP keepalives do the same,
	// more slowly.
	timeout := strconv.FormatInt(r.cfg.LockTimeout.Milliseconds(), 10)
	if _, err := conn.Exec(ctx, `SELECT set_config('idle_session_timeout', $1, false)`, timeout); err != nil {
		log.Info("kafka relay: idle_session_timeout not supported; a frozen lock holder is noticed by TCP keepalive only", "err", err)
	}

	waiting := false
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, relayLockNamespace, r.cfg.Name).Scan(&got); err != nil {
			return fmt.Errorf("try lock: %w", err)
		}
		if got {
			break
		}
		if !waiting {
			log.Info("kafka relay: another replica publishes; standing by")
			waiting = true
		}
		if !sleep(ctx, r.cfg.LockPollInterval) {
			return ctx.Err()
		}
	}
	log.Info("kafka relay: took the lock; publishing")
	r.active.Store(true)
	r.metrics.active.Set(1)
	defer func() {
		r.active.Store(false)
		r.metrics.active.Set(0)
	}()

	retry := newBackoff(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff)
	for {
		start := time.Now()
		err := r.session(ctx, conn, log)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errLockLost):
			r.metrics.failures.Inc()
			return err
		}
		r.metrics.failures.Inc()
		r.setLastError(err)
		wait := retry.after(start)
		log.Warn("kafka relay: publishing failed; retrying from the checkpoint", "err", err, "retryIn", wait.String())
		// Keep the lock's session talking while we wait.
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			if !sleep(ctx, min(r.cfg.LockPollInterval, time.Until(deadline))) {
				return ctx.Err()
			}
			if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
				return fmt.Errorf("%w: %w", errLockLost, err)
			}
		}
	}
}

func (r *Relay) setLastError(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	r.lastErr = err.Error()
	r.mu.Unlock()
}

const (
	readCheckpointSQL  = `SELECT position FROM checkpoints WHERE name = $1`
	writeCheckpointSQL = `INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at`
)

// session publishes from the checkpoint until ctx ends or something
// fails. Only the lock's connection (conn) writes the checkpoint: once
// that session is gone, so is this replica's say.
func (r *Relay) session(ctx context.Context, conn *pgx.Conn, log *slog.Logger) (err error) {
	var stored int64
	switch err := conn.QueryRow(ctx, readCheckpointSQL, r.cfg.Name).Scan(&stored); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("%w: read checkpoint: %w", errLockLost, err)
	}
	from := uint64(stored)

	sc, err := r.cfg.Kafka.ProducerSaramaConfig()
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(r.cfg.Kafka.Brokers, sc)
	if err != nil {
		return fmt.Errorf("connect to kafka: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	// Not admin.Close(): it would close the client the producer uses.
	if err := ensureTopics(ctx, admin, r.cfg.Kafka, log); err != nil {
		return err
	}
	if from, err = r.checkBroker(ctx, client, conn, from, log); err != nil {
		return err
	}

	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	t := newTracker(r.cfg.MaxInFlight, from)
	r.mu.Lock()
	r.track = t
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.track = nil
		r.mu.Unlock()
	}()
	r.metrics.position.Set(float64(from))

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Acknowledgements: successes move the checkpoint; the first error
	// ends the session (its events, and all after them, are sent again by
	// the next one from the checkpoint).
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		successes, errs := producer.Successes(), producer.Errors()
		for successes != nil || errs != nil {
			select {
			case m, ok := <-successes:
				if !ok {
					successes = nil
					continue
				}
				t.ack(m.Metadata.(uint64))
				r.published.Add(1)
				r.metrics.published.Inc()
			case pe, ok := <-errs:
				if !ok {
					errs = nil
					continue
				}
				cancel(fmt.Errorf("kafka produce to %s: %w", pe.Msg.Topic, pe.Err))
			}
		}
	}()

	// The checkpoint keeper: writes the checkpoint when it moved, and
	// otherwise pings, so the lock's session stays alive and a lost one
	// is noticed within LockPollInterval.
	keeperDone := make(chan struct{})
	stopKeeper := make(chan struct{})
	written := from
	go func() {
		defer close(keeperDone)
		tick := time.NewTicker(r.cfg.CheckpointInterval)
		defer tick.Stop()
		lastContact := time.Now()
		for {
			select {
			case <-stopKeeper:
				return
			case <-tick.C:
			}
			pos := t.committed()
			// Not ctx: on shutdown the final checkpoint is still written.
			ectx, done := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LockTimeout)
			var err error
			switch {
			case pos != written:
				_, err = conn.Exec(ectx, writeCheckpointSQL, r.cfg.Name, int64(pos))
				if err == nil {
					written = pos
					r.metrics.position.Set(float64(pos))
				}
			case time.Since(lastContact) >= r.cfg.LockPollInterval:
				_, err = conn.Exec(ectx, "SELECT 1")
			default:
				done()
				continue
			}
			done()
			if err != nil {
				log.Warn("kafka relay: the lock's session failed; stopping publication", "err", err)
				cancel(fmt.Errorf("%w: %w", errLockLost, err))
				return
			}
			lastContact = time.Now()
		}
	}()

	// The reader follows the log and hands each event to the encoder,
	// which registers it, encodes it and gives it to the producer once a
	// slot is free (MaxInFlight bounds memory and the replay after a
	// failure). Two goroutines so that the store's next read overlaps the
	// encoding of the last batch.
	dlq := r.cfg.Kafka.DLQTopic()
	events := make(chan eventstore.RecordedEvent, 2048)
	encoded := make(chan struct{})
	go func() {
		defer close(encoded)
		for e := range events {
			seq, err := t.add(sctx, e.Position)
			if err != nil {
				return // the session is ending
			}
			msg, err := r.cfg.Kafka.ProducerMessage(e)
			if err != nil {
				// Never skip: an event this build cannot route goes to
				// the dead-letter topic, for operators to see.
				log.Error("kafka relay: event of an unknown type; sent to the dead-letter topic", "position", e.Position, "type", e.Type, "err", err)
				msg = producerMessage(dlq, e)
				msg.Headers = append(msg.Headers,
					sarama.RecordHeader{Key: []byte(HeaderDLQError), Value: []byte(err.Error())},
					sarama.RecordHeader{Key: []byte(HeaderDLQHandler), Value: []byte(relayHandlerName)},
					sarama.RecordHeader{Key: []byte(HeaderDLQTime), Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))})
			}
			msg.Metadata = seq
			select {
			case producer.Input() <- msg:
			case <-sctx.Done():
				return
			}
		}
	}()
	readErr := r.store.SubscribeAll(sctx, from, func(ctx context.Context, e eventstore.RecordedEvent) error {
		select {
		case events <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})

	// Wind down: no more input, let the producer deliver what it holds
	// (bounded: a dead broker could keep it retrying for long), then
	// write the final checkpoint. Events read but not yet given to the
	// producer are not in the tracker: the checkpoint stays before them.
	failed := context.Cause(sctx) != nil && ctx.Err() == nil // a produce error or a lost lock
	cancel(readErr)
	close(events)
	<-encoded
	producer.AsyncClose()
	wait := drainTimeout
	if failed {
		// Everything unacknowledged is sent again by the next session:
		// waiting would only delay it.
		wait = failedDrainTimeout
	}
	select {
	case <-acked:
	case <-time.After(wait):
		log.Warn("kafka relay: the producer did not drain in time; its unacknowledged events will be sent again")
		t.freeze()
	}
	close(stopKeeper)
	<-keeperDone
	cause := context.Cause(sctx)
	if errors.Is(cause, errLockLost) {
		return cause
	}
	if pos := t.committed(); pos != written {
		wctx, done := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LockTimeout)
		_, err := conn.Exec(wctx, writeCheckpointSQL, r.cfg.Name, int64(pos))
		done()
		if err != nil {
			return fmt.Errorf("%w: write checkpoint: %w", errLockLost, err)
		}
		r.metrics.position.Set(float64(pos))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return cause
}

// drainTimeout bounds the wait for a closing producer's last
// acknowledgements.
const drainTimeout = 5 * time.Second

// failedDrainTimeout is the wait after a failure, when what is still in
// flight is likely to fail too.
const failedDrainTimeout = 500 * time.Millisecond

// checkBroker decides where to start: from the checkpoint, unless the
// cluster cannot hold what the checkpoint says was published: it is not
// the cluster of the previous session, or none of our topics has ever
// held a message. That is a new cluster (the embedded broker keeps
// messages in memory, so every restart of it is one): the whole log is
// published again, and the checkpoint reset first so a crash meanwhile
// resumes the re-publication, not the old position.
func (r *Relay) checkBroker(ctx context.Context, client sarama.Client, conn *pgx.Conn, from uint64, log *slog.Logger) (uint64, error) {
	id, err := clusterID(client)
	if err != nil {
		return 0, err
	}
	previous := r.clusterID
	r.clusterID = id
	if from == 0 {
		return 0, nil
	}
	reason := ""
	if previous != "" && previous != id {
		reason = "the kafka cluster changed (" + previous + " -> " + id + ")"
	} else {
		empty, err := topicsEmpty(client, r.cfg.Kafka)
		if err != nil {
			return 0, err
		}
		if empty {
			reason = "the kafka topics are empty"
		}
	}
	if reason == "" {
		return from, nil
	}
	log.Warn("kafka relay: "+reason+"; publishing the whole log again", "checkpoint", from)
	if _, err := conn.Exec(ctx, writeCheckpointSQL, r.cfg.Name, 0); err != nil {
		return 0, fmt.Errorf("%w: reset checkpoint: %w", errLockLost, err)
	}
	return 0, nil
}

func clusterID(client sarama.Client) (string, error) {
	b, err := client.Controller()
	if err != nil {
		return "", fmt.Errorf("kafka controller: %w", err)
	}
	md, err := b.GetMetadata(sarama.NewMetadataRequest(client.Config().Version, []string{}))
	if err != nil {
		return "", fmt.Errorf("kafka metadata: %w", err)
	}
	if md.ClusterID == nil {
		return "", nil
	}
	return *md.ClusterID, nil
}

// topicsEmpty reports whether no channel topic has ever held a message
// (every partition's next offset is 0; retention deletes messages but
// never moves offsets back).
func topicsEmpty(client sarama.Client, cfg Config) (bool, error) {
	topics := cfg.Topics()
	for _, topic := range topics[:len(topics)-1] { // not the DLQ
		parts, err := client.Partitions(topic)
		if err != nil {
			return false, fmt.Errorf("kafka partitions of %s: %w", topic, err)
		}
		for _, p := range parts {
			off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return false, fmt.Errorf("kafka offset of %s/%d: %w", topic, p, err)
			}
			if off > 0 {
				return false, nil
			}
		}
	}
	return true, nil
}

// refreshStatus keeps the position and lag gauges current on every
// replica, the standby ones included.
func (r *Relay) refreshStatus(ctx context.Context) {
	tick := time.NewTicker(r.cfg.StatusInterval)
	defer tick.Stop()
	for {
		pos, err := r.position(ctx)
		if err == nil {
			r.metrics.position.Set(float64(pos))
			var lag uint64
			if lag, err = r.cfg.Backlog(ctx, pos); err == nil {
				r.metrics.lag.Set(float64(lag))
			}
		}
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Debug("kafka relay: status refresh failed", "relay", r.cfg.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PostgresBacklog counts, in the PostgreSQL event store's table, the
// events after position after that a reader can see now
// (postgres.Backlog): in proportion to the lag, not the log.
func PostgresBacklog(pool *pgxpool.Pool) BacklogFunc {
	return func(ctx context.Context, after eventstore.Position) (uint64, error) {
		return postgres.Backlog(ctx, pool, after)
	}
}

// StoreBacklog counts through the store port: it reads the events after
// position after, a batch at a time. Exact for any store, but it reads
// the events' data: use it where no cheaper count exists (KurrentDB).
func StoreBacklog(store eventstore.Store) BacklogFunc {
	return func(ctx context.Context, after eventstore.Position) (uint64, error) {
		const batch = 1000
		var n uint64
		for {
			evs, err := store.ReadAll(ctx, after, batch)
			if err != nil {
				return 0, fmt.Errorf("count events after position %d: %w", after, err)
			}
			n += uint64(len(evs))
			if len(evs) < batch {
				return n, nil
			}
			after = evs[len(evs)-1].Position
		}
	}
}

// tracker follows a session's events from read to acknowledged, in log
// order, and yields the checkpoint: the position of the last event that
// was acknowledged together with every event before it. Acknowledgements
// come per partition, so out of log order; and positions are not
// monotonic in log order (see eventstore/postgres), so the checkpoint is
// found by log-order index (seq), never by comparing positions.
type tracker struct {
	mu     sync.Mutex
	pos    []uint64 // ring of the events in flight, by seq
	done   []bool
	head   int    // ring index of the oldest event in flight
	n      int    // events in flight
	base   uint64 // seq of the oldest event in flight
	commit uint64 // the checkpoint
	frozen bool
	slots  chan struct{} // one per event in flight
}

func newTracker(size int, from uint64) *tracker {
	return &tracker{pos: make([]uint64, size), done: make([]bool, size), commit: from, slots: make(chan struct{}, size)}
}

// add registers the next event of the log, waiting for a free slot.
func (t *tracker) add(ctx context.Context, position uint64) (uint64, error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i := (t.head + t.n) % len(t.pos)
	t.pos[i], t.done[i] = position, false
	seq := t.base + uint64(t.n)
	t.n++
	return seq, nil
}

// ack marks an event acknowledged and moves the checkpoint past the
// acknowledged run at the front.
func (t *tracker) ack(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.frozen || seq < t.base || seq >= t.base+uint64(t.n) {
		return
	}
	t.done[(t.head+int(seq-t.base))%len(t.pos)] = true
	for t.n > 0 && t.done[t.head] {
		t.commit = t.pos[t.head]
		t.head = (t.head + 1) % len(t.pos)
		t.n--
		t.base++
		<-t.slots
	}
}

// freeze ignores later acknowledgements (of an abandoned producer).
func (t *tracker) freeze() {
	t.mu.Lock()
	t.frozen = true
	t.mu.Unlock()
}

func (t *tracker) committed() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.commit
}

// backoff is the wait before retrying after a failure: it doubles after
// every failure up to max, and starts over after an attempt that had been
// working a while (longer than four times max) when it failed.
type backoff struct{ initial, max, wait time.Duration }

func newBackoff(initial, max time.Duration) *backoff { return &backoff{initial, max, initial} }

// after returns the wait after a failed attempt that started at start.
func (b *backoff) after(start time.Time) time.Duration {
	if time.Since(start) > 4*b.max {
		b.wait = b.initial
	}
	d := b.wait
	b.wait = min(2*b.wait, b.max)
	return d
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
