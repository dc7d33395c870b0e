// Package systemtest runs the whole service in-process for end-to-end
// tests of the workflows: a migrated PostgreSQL database, the PostgreSQL
// event store, the command repository on a test clock, the embedded
// Kafka-protocol broker, the relay, every projection fed from Kafka, the
// saga runtime with its Kafka consumers, and the HTTP API, built with the
// same constructors as `edusmarthub serve` (cmd/edusmarthub/serve.go).
//
// A test package using it runs its tests through pgtest.Main:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	sys := systemtest.Start(t, systemtest.Options{})
//	status, body := sys.Do(t, "POST", "/v1/schools", sys.Token(commands.RolePlatformAdmin, "", ""), `{...}`)
//	w := sys.WaitWorkflow(t, sagas.WorkflowID("teacher_onboarding", teacherID), sagas.StateCompleted)
//
// The clock is shared by the commands, the saga runtime and the HTTP API
// (token expiry, read-only windows); it moves only when the test says
// (sys.Clock.Advance). Deadlines fire when the test calls sys.FireDue,
// unless Options.DeadlineLoop runs the runtime's loop.
package systemtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/migrations"
	"github.com/edusmarthub/edusmarthub/notify"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/sagas/sagatest"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// Options configure a System; the zero value runs every workflow
// (sagas.All) with the default settings.
type Options struct {
	// Sagas returns the workflows to run (default sagas.All).
	Sagas func(sagas.Deps) []sagas.Saga
	// Settings are the workflows' settings (default sagas.DefaultSettings).
	Settings *sagas.Settings
	// Notifier replaces the in-app notifier (sagas.InboxNotifier).
	Notifier sagas.Notifier
	// Directory replaces the read-model directory the workflows query
	// (default internal/directory over the system's read models).
	Directory sagas.Directory
	// SMTP and Webhook, when set, run the notification deliveries of
	// package notify on every message.sent.v1 (handler notify.delivery),
	// as serve does when configured; AdminAddresses are the
	// administrators' addresses (internal/directory.WithAdminAddresses).
	SMTP           *notify.SMTPConfig
	Webhook        *notify.WebhookConfig
	AdminAddresses map[string]notify.Address
	// Start is the clock's start (default sagatest.Start, a Monday 08:00
	// UTC).
	Start time.Time
	// DeadlineLoop runs the runtime's deadline loop (every Tick of real
	// time, by the test clock) as serve does; by default deadlines fire
	// only in FireDue, so a test knows when.
	DeadlineLoop bool
	// Timeout bounds every Wait* (default 60s).
	Timeout time.Duration
	// Partitions per topic (default 3).
	Partitions int
}

// System is the running service.
type System struct {
	// Pool is the database (event store, read models, saga state).
	Pool  *pgxpool.Pool
	Store eventstore.Store
	// Repo is the command side, on Clock.
	Repo  *commands.Repository
	Clock *sagatest.Clock
	// Deps are what the workflows were built with.
	Deps  sagas.Deps
	Kafka kafka.Config
	Views *projections.Registry
	Relay *kafka.Relay
	// API is the HTTP API; URL its base address.
	API *httpapi.Server
	URL string

	opts     Options
	dir      *directory.Directory
	secret   []byte
	logs     *syncBuffer
	logger   *slog.Logger
	reg      *prometheus.Registry
	groups   []group // every consumer group and its topics, for Settle
	mu       sync.Mutex
	saga     *sagaSide
	stopRest []func() // stops the rest, last first
}

// group is a consumer group and the topics it reads.
type group struct {
	name   string
	topics []string
}

// Start starts the whole system for t and stops it when t ends.
func Start(t *testing.T, o Options) *System {
	t.Helper()
	if o.Sagas == nil {
		o.Sagas = sagas.All
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Partitions == 0 {
		o.Partitions = 3
	}
	if o.Start.IsZero() {
		o.Start = sagatest.Start
	}
	s := &System{opts: o, Clock: sagatest.NewClock(o.Start), logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	s.logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s.secret = make([]byte, auth.MinSecretLen)
	_, _ = rand.Read(s.secret)

	ctx := context.Background()
	s.Pool = newPool(t)
	// Registered after the pool's cleanup, so it runs before it.
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("system logs (last 64 KiB):\n%s", s.logs.tail(64<<10))
		}
	})
	s.Store = postgres.New(s.Pool)

	// Kafka: the embedded broker and the relay, as startKafka does.
	klog := s.logger.With("component", "kafka")
	b, err := kafka.StartEmbeddedBroker(ctx, "127.0.0.1:0", o.Partitions, klog)
	if err != nil {
		t.Fatalf("systemtest: %v", err)
	}
	s.onStop(b.Close)
	s.Kafka = kafka.Config{Brokers: []string{b.Addr()}, Partitions: int32(o.Partitions), ReplicationFactor: 1}
	s.Relay, err = kafka.NewRelay(kafka.RelayConfig{Kafka: s.Kafka, Logger: klog, Registerer: s.reg}, s.Store, s.Pool)
	if err != nil {
		t.Fatalf("systemtest: relay: %v", err)
	}
	s.background(func(ctx context.Context) { _ = s.Relay.Run(ctx) })

	// The read models, as newProjectionRegistry and startProjections do.
	plog := s.logger.With("component", "projections")
	s.Views, err = projections.NewRegistry(projections.Config{
		DB: s.Pool, Store: s.Store, Logger: plog, Registerer: s.reg, Lag: projections.PostgresLag(s.Pool),
	}, projections.All()...)
	if err != nil {
		t.Fatalf("systemtest: projections: %v", err)
	}
	if err := s.Views.Setup(ctx); err != nil {
		t.Fatalf("systemtest: projections setup: %v", err)
	}
	// Stops run last first: the consumers stop before the registry closes,
	// so no apply is in flight when it does.
	s.onStop(s.Views.Close)
	s.runRouter(t, plog, kafka.ProjectionHandlers(s.Views)...)

	s.Repo = commands.NewRepository(s.Store, s.Clock.Now)
	s.API, err = httpapi.NewServer(httpapi.Config{
		JWTSecret:  s.secret,
		Logger:     s.logger.With("component", "http"),
		Registerer: s.reg,
		Now:        s.Clock.Now,
	}, httpapi.Deps{Store: s.Store, Pool: s.Pool, Commands: s.Repo, Projections: s.Views})
	if err != nil {
		t.Fatalf("systemtest: http: %v", err)
	}
	hs := httptest.NewServer(s.API.Handler())
	s.onStop(func() { s.API.CloseStreams(); hs.Close() })
	s.URL = hs.URL

	s.dir = directory.New(s.Pool, directory.WithAdminAddresses(o.AdminAddresses))
	s.Deps = sagas.Deps{Repo: s.Repo, Notifier: o.Notifier, Directory: o.Directory, Settings: sagas.DefaultSettings()}
	if s.Deps.Directory == nil {
		s.Deps.Directory = s.dir
	}
	if s.Deps.Notifier == nil {
		s.Deps.Notifier = sagas.NewInboxNotifier(s.Repo)
	}
	if o.Settings != nil {
		s.Deps.Settings = *o.Settings
	}
	s.startSagas(t)
	return s
}

// poolSize is serve's default (EDUSMARTHUB_DB_MAX_CONNS): the runtime,
// the projections and the commands share the pool as they do there.
const poolSize = 20

// newPool is a pool of poolSize on a fresh, migrated database.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("systemtest: %v", err)
	}
	pc.MaxConns = poolSize
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatalf("systemtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close) // after the system stops: cleanups run last first
	if err := migrations.Apply(ctx, pool); err != nil {
		t.Fatalf("systemtest: %v", err)
	}
	return pool
}

// onStop adds fn to what stop runs (in reverse order).
func (s *System) onStop(fn func()) { s.stopRest = append(s.stopRest, fn) }

// background runs fn until the system stops.
func (s *System) background(fn func(ctx context.Context)) { s.onStop(goUntilStopped(fn)) }

// goUntilStopped runs fn in a goroutine; the returned stop cancels its
// context and waits for it to return.
func goUntilStopped(fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx) }()
	return func() { cancel(); <-done }
}

func (s *System) stop() {
	s.stopSagas()
	for i := len(s.stopRest) - 1; i >= 0; i-- {
		s.stopRest[i]()
	}
	s.stopRest = nil
}

// runRouter starts a Kafka router of handlers until the system stops, and
// waits for its subscriptions to start.
func (s *System) runRouter(t *testing.T, log *slog.Logger, handlers ...kafka.Handler) {
	t.Helper()
	stop := s.startRouter(t, log, handlers...)
	s.onStop(stop)
}

// startRouter starts a router and returns what stops it (and waits for
// its in-flight handlers).
func (s *System) startRouter(t *testing.T, log *slog.Logger, handlers ...kafka.Handler) func() {
	t.Helper()
	r, err := kafka.NewRouterWithConfig(kafka.RouterConfig{Kafka: s.Kafka, Logger: log, Registerer: s.reg}, handlers...)
	if err != nil {
		t.Fatalf("systemtest: router: %v", err)
	}
	s.mu.Lock()
	for _, h := range handlers {
		g := group{name: kafka.ConsumerGroup(s.Kafka, h.Name)}
		for _, ch := range h.Channels {
			g.topics = append(g.topics, s.Kafka.Topic(ch))
		}
		if !slices.ContainsFunc(s.groups, func(x group) bool { return x.name == g.name }) {
			s.groups = append(s.groups, g)
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case err := <-done:
		cancel()
		t.Fatalf("systemtest: router stopped at start: %v", err)
	case <-time.After(s.opts.Timeout):
		cancel()
		t.Fatalf("systemtest: router did not start in %s", s.opts.Timeout)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				s.logger.Error("router stopped with an error", "err", err)
			}
		})
	}
}

// sagaSide is the saga runtime and its consumers, which RestartSagas
// replaces.
type sagaSide struct {
	rt         *sagas.Runtime
	dispatcher *notify.Dispatcher
	stop       func()
}

func (s *System) startSagas(t *testing.T) {
	t.Helper()
	log := s.logger.With("component", "sagas")
	rt, err := sagas.NewRuntime(sagas.Config{Pool: s.Pool, Clock: s.Clock, Logger: log, Registerer: s.reg}, s.opts.Sagas(s.Deps)...)
	if err != nil {
		t.Fatalf("systemtest: sagas: %v", err)
	}
	side := &sagaSide{rt: rt}
	hs := kafka.SagaHandlers(rt)
	if s.opts.SMTP != nil || s.opts.Webhook != nil {
		side.dispatcher, err = notify.NewDispatcher(notify.DispatcherConfig{
			Pool: s.Pool, Addresses: s.dir, SMTP: s.opts.SMTP, Webhook: s.opts.Webhook,
			Logger: s.logger.With("component", "notify"), Registerer: s.reg, Clock: s.Clock,
		})
		if err != nil {
			t.Fatalf("systemtest: notify: %v", err)
		}
		hs = append(hs, kafka.NotifyHandler(side.dispatcher))
	}
	var stops []func()
	if len(hs) > 0 {
		stops = append(stops, s.startRouter(t, log, hs...))
	}
	if s.opts.DeadlineLoop {
		stops = append(stops, goUntilStopped(func(ctx context.Context) { _ = rt.RunDeadlines(ctx) }))
	}
	side.stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	s.mu.Lock()
	s.saga = side
	s.mu.Unlock()
}

// Runtime is the saga runtime running now.
func (s *System) Runtime() *sagas.Runtime {
	if side := s.sagaSide(); side != nil {
		return side.rt
	}
	return nil
}

// Dispatcher is the notification deliveries' dispatcher running now (nil
// without Options.SMTP or Options.Webhook): RetryDue makes due retries.
func (s *System) Dispatcher() *notify.Dispatcher {
	if side := s.sagaSide(); side != nil {
		return side.dispatcher
	}
	return nil
}

// sagaSide is the saga side running now; nil while stopped.
func (s *System) sagaSide() *sagaSide {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saga
}

// RestartSagas stops the saga consumers, the runtime and the deliveries
// (the handlings in progress finish or roll back; what was consumed but
// not committed is delivered again) and starts new ones on the same
// database and broker, as a restarted service would.
func (s *System) RestartSagas(t *testing.T) {
	t.Helper()
	s.StopSagas(t)
	s.startSagas(t)
}

// StopSagas stops the saga consumers and runtime, to test what happens
// while they are down; RestartSagas starts them again.
func (s *System) StopSagas(t *testing.T) {
	t.Helper()
	s.stopSagas()
}

func (s *System) stopSagas() {
	s.mu.Lock()
	side := s.saga
	s.saga = nil
	s.mu.Unlock()
	if side != nil {
		side.stop()
	}
}

// FireDue lets the system settle, then fires the deadlines due by the
// clock now and returns how many fired. Settling first matters: a deadline
// of an instance busy with an event (say, the event its own command
// caused) is skipped by that round, as it is in production until the next
// tick.
func (s *System) FireDue(t *testing.T) int {
	t.Helper()
	s.Settle(t)
	rt := s.Runtime()
	if rt == nil {
		t.Fatal("systemtest: FireDue while the sagas are stopped")
	}
	n, err := rt.FireDue(t.Context())
	if err != nil {
		t.Fatalf("systemtest: FireDue: %v", err)
	}
	return n
}

// Token is a bearer token for a caller with role in school (empty for
// platform admins and cross-school services) and subject sub (a fresh
// one when empty). It stays valid however far the test moves the clock.
func (s *System) Token(role commands.Role, school, sub string) string {
	if sub == "" {
		sub = uuid.NewString()
	}
	tok, err := auth.Issue(s.secret, auth.Claims{Subject: sub, Roles: []commands.Role{role}, SchoolID: school},
		100*365*24*time.Hour, s.Clock.Now().Add(-time.Hour))
	if err != nil {
		panic(fmt.Sprintf("systemtest: token: %v", err)) // only a bad role or school: a test's mistake
	}
	return tok
}

// Do sends a request to the API and returns the status and body. body is
// sent as is when a string or []byte, as JSON otherwise, and not at all
// when nil. A command gets a fresh Idempotency-Key unless the test sets
// its own through DoWith.
func (s *System) Do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	return s.DoWith(t, method, path, token, body, nil)
}

// DoWith is Do with extra request headers.
func (s *System) DoWith(t *testing.T, method, path, token string, body any, header http.Header) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("systemtest: %s %s: body: %v", method, path, err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, r)
	if err != nil {
		t.Fatalf("systemtest: %s %s: %v", method, path, err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("systemtest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("systemtest: %s %s: read the response: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// MustDo is Do that fails the test unless the status is want, and
// decodes the JSON answer into out (when not nil).
func (s *System) MustDo(t *testing.T, method, path, token string, body any, want int, out any) []byte {
	t.Helper()
	status, b := s.Do(t, method, path, token, body)
	if status != want {
		t.Fatalf("systemtest: %s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("systemtest: %s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// Meta is the metadata of a command a test runs through the repository
// (no HTTP) for its setup: a fresh command ID, a platform admin.
func (s *System) Meta(school string) commands.Meta {
	return commands.Meta{
		CommandID: uuid.NewString(),
		SchoolID:  school,
		Actor:     commands.Actor{ID: "systemtest", Roles: []commands.Role{commands.RolePlatformAdmin}},
	}
}

// poll calls check every 20ms until it returns true or the timeout ends,
// then fails the test with what describe says.
func (s *System) poll(t *testing.T, what string, check func() (bool, error), describe func() string) {
	t.Helper()
	deadline := time.Now().Add(s.opts.Timeout)
	var lastErr error
	for {
		ok, err := check()
		if ok && err == nil {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			msg := ""
			if describe != nil {
				msg = describe()
			}
			t.Fatalf("systemtest: %s: not after %s (last error: %v) %s", what, s.opts.Timeout, lastErr, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitWorkflow waits until the workflow with public ID id (sagas.WorkflowID)
// is in state, and returns it. A workflow that finishes in another state
// fails the test at once, with its history.
func (s *System) WaitWorkflow(t *testing.T, id string, state sagas.State) sagas.Workflow {
	t.Helper()
	var w sagas.Workflow
	var wrong bool
	s.poll(t, fmt.Sprintf("workflow %s %s", id, state), func() (bool, error) {
		var err error
		w, err = sagas.GetWorkflow(t.Context(), s.Pool, id)
		if err != nil {
			return false, err
		}
		if w.State != state && w.State.Finished() {
			wrong = true
			return true, nil
		}
		return w.State == state, nil
	}, func() string { return "; it is " + Describe(w) })
	if wrong {
		t.Fatalf("systemtest: workflow %s is %s, not %s: %s", id, w.State, state, Describe(w))
	}
	return w
}

// Describe renders a workflow's status and history for a failure message.
func Describe(w sagas.Workflow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s) %s at step %q", w.Type, w.BusinessID, w.ID, w.State, w.Step)
	if w.Reason != "" {
		fmt.Fprintf(&b, ", reason %q", w.Reason)
	}
	for _, st := range w.Steps {
		fmt.Fprintf(&b, "\n  %d %s [%s] %s", st.Seq, st.Step, st.Trigger, st.Reason)
	}
	for _, d := range w.Deadlines {
		fmt.Fprintf(&b, "\n  deadline %s due %s: %s", d.Name, d.DueAt.Format(time.RFC3339), d.State)
	}
	if len(w.Data) > 0 {
		fmt.Fprintf(&b, "\n  data %s", w.Data)
	}
	return b.String()
}

// WaitInbox waits until the inbox of (recipientKind, recipientID) in
// school holds at least n messages, and returns them, newest first.
func (s *System) WaitInbox(t *testing.T, school, recipientKind, recipientID string, n int) []projections.InboxMessage {
	t.Helper()
	var msgs []projections.InboxMessage
	s.poll(t, fmt.Sprintf("%d messages in the inbox of %s %s", n, recipientKind, recipientID), func() (bool, error) {
		p, err := projections.ListInbox(t.Context(), s.Pool, school, projections.Recipient{Kind: recipientKind, ID: recipientID},
			projections.InboxFilter{PageParams: projections.PageParams{Limit: projections.MaxPageLimit}})
		if err != nil {
			return false, err
		}
		msgs = p.Items
		return len(msgs) >= n, nil
	}, func() string {
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, fmt.Sprintf("%q", m.Subject))
		}
		return fmt.Sprintf("; it holds %d: %s", len(msgs), strings.Join(subjects, ", "))
	})
	return msgs
}

// Settle waits until the system is at rest: the relay has published every
// committed event, and every consumer group (projections, sagas) has
// committed every message on its topics, twice in a row with nothing
// appended between. Then what the workflows will do for the events so far
// is done (deadlines aside).
//
// "Every committed event" is not the relay's Head: the relay publishes
// only below the log's horizon, so while an older append (another
// test's, in the same cluster) is open, events committed after it are not
// published yet, and Head (bound the same way) does not count them.
func (s *System) Settle(t *testing.T) {
	t.Helper()
	sc, err := s.Kafka.AdminSaramaConfig()
	if err != nil {
		t.Fatalf("systemtest: %v", err)
	}
	client, err := sarama.NewClient(s.Kafka.Brokers, sc)
	if err != nil {
		t.Fatalf("systemtest: kafka client: %v", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatalf("systemtest: kafka admin: %v", err)
	}
	var lastStored int64
	calm := 0
	var behind string
	s.poll(t, "the system to settle", func() (bool, error) {
		st, err := s.Relay.Status(t.Context())
		if err != nil {
			return false, err
		}
		var unpublished, stored int64
		if err := s.Pool.QueryRow(t.Context(), `
SELECT count(*) FILTER (WHERE c.position IS NULL OR (e.tx_id, e.position) > (c.tx_id, c.position)), count(*)
  FROM events e LEFT JOIN (SELECT tx_id, position FROM events WHERE position = $1) c ON true`,
			int64(st.Position)).Scan(&unpublished, &stored); err != nil {
			return false, err
		}
		if unpublished > 0 {
			calm, behind = 0, fmt.Sprintf("the relay has %d committed events to publish after position %d", unpublished, st.Position)
			return false, nil
		}
		b, err := s.groupsBehind(client, admin)
		if err != nil || b != "" {
			calm, behind = 0, b
			return false, err
		}
		if stored != lastStored {
			calm, lastStored = 0, stored
		}
		calm++
		return calm >= 2, nil
	}, func() string { return "; " + behind })
}

// groupsBehind names a consumer group that has not committed every
// message of its topics, or returns "".
func (s *System) groupsBehind(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
	if err := client.RefreshMetadata(); err != nil {
		return "", err
	}
	s.mu.Lock()
	groups := slices.Clone(s.groups)
	s.mu.Unlock()
	ends := map[string]map[int32]int64{}
	for _, g := range groups {
		parts := map[string][]int32{}
		for _, topic := range g.topics {
			if ends[topic] == nil {
				ps, err := client.Partitions(topic)
				if err != nil {
					return "", err
				}
				ends[topic] = map[int32]int64{}
				for _, p := range ps {
					off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
					if err != nil {
						return "", err
					}
					ends[topic][p] = off
				}
			}
			for p := range ends[topic] {
				parts[topic] = append(parts[topic], p)
			}
		}
		resp, err := admin.ListConsumerGroupOffsets(g.name, parts)
		if err != nil {
			return "", err
		}
		for topic, ps := range parts {
			for _, p := range ps {
				end := ends[topic][p]
				if end == 0 {
					continue
				}
				blk := resp.GetBlock(topic, p)
				if blk == nil || blk.Offset < end {
					committed := int64(-1)
					if blk != nil {
						committed = blk.Offset
					}
					return fmt.Sprintf("group %s has committed %d of %d on %s/%d", g.name, committed, end, topic, p), nil
				}
			}
		}
	}
	return "", nil
}

// Inbox reads an inbox now (no waiting).
func (s *System) Inbox(t *testing.T, school, recipientKind, recipientID string) []projections.InboxMessage {
	t.Helper()
	p, err := projections.ListInbox(t.Context(), s.Pool, school, projections.Recipient{Kind: recipientKind, ID: recipientID},
		projections.InboxFilter{PageParams: projections.PageParams{Limit: projections.MaxPageLimit}})
	if err != nil {
		t.Fatalf("systemtest: inbox: %v", err)
	}
	return p.Items
}

// Workflow reads a workflow's status now.
func (s *System) Workflow(t *testing.T, id string) sagas.Workflow {
	t.Helper()
	w, err := sagas.GetWorkflow(t.Context(), s.Pool, id)
	if err != nil {
		t.Fatalf("systemtest: workflow %s: %v", id, err)
	}
	return w
}

// Events reads a stream from the store.
func (s *System) Events(t *testing.T, stream string) []eventstore.RecordedEvent {
	t.Helper()
	recs, err := s.Store.ReadStream(t.Context(), stream, 0, 0)
	if err != nil {
		t.Fatalf("systemtest: read %s: %v", stream, err)
	}
	return recs
}

// CountEvents counts the stored events of a type (across streams), e.g.
// to check a command was issued once.
func (s *System) CountEvents(t *testing.T, eventType string) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE type = $1`, eventType).Scan(&n); err != nil {
		t.Fatalf("systemtest: count %s: %v", eventType, err)
	}
	return n
}

// syncBuffer collects the system's logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
