package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	secret  = []byte("test-secret-test-secret-test-secret!")
	schoolA = "11111111-1111-4111-8111-111111111111"
	schoolB = "22222222-2222-4222-8222-222222222222"
)

// env is one server under test and what it talks to.
type env struct {
	t       *testing.T
	srv     *httpapi.Server
	h       http.Handler
	store   eventstore.Store
	pool    *pgxpool.Pool
	reg     *prometheus.Registry
	logs    *syncBuffer
	clock   *clock
	runs    *counter // how many times the test command's handler ran
	release chan struct{}
	started chan struct{}
	models  *readModels // with options.readModels
}

type options struct {
	bodyLimit int64
	db        bool // real PostgreSQL (pool and store) instead of fakes
	bare      bool // only the server's own routes, no stand-ins

	heartbeat  time.Duration         // live feed heartbeat (default: the server's)
	maxStreams int                   // live feed streams (default: the server's)
	rywTimeout time.Duration         // read-your-writes bound (default: the server's)
	waiter     httpapi.AppliedWaiter // the projections' wait for ?after=
	readModels bool                  // the read models, fed from the store (implies db)
	storePing  error                 // the store answers Ping with this (a store with a server of its own)

	deadLetters func(context.Context) (int, error)              // monitoring's sources
	consumerLag func(context.Context) (map[string]int64, error) // (default: none)
}

// logLines returns the server's log lines with message msg, decoded.
func (e *env) logLines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var line map[string]any
		if l == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line["msg"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// newEnv builds a server with the stand-in command routes:
//
//	POST /v1/schools/:schoolId/things              create "CreateThing" (school_admin, platform_admin)
//	POST /v1/schools/:schoolId/things/:thingId/poke update "PokeThing" (school_admin, teacher), NoBody
//	POST /v1/tenants                               create "RegisterTenant" (platform_admin)
func newEnv(t *testing.T, o options) *env {
	t.Helper()
	e := &env{
		t: t, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, clock: &clock{now: time.Now()},
		runs: &counter{}, release: make(chan struct{}), started: make(chan struct{}, 10),
	}
	if o.db || o.readModels {
		e.pool = pgtest.NewPool(t)
		e.store = newPostgresStore(t, e.pool)
		if o.readModels {
			e.models = newReadModels(t, e.pool, e.store)
			o.waiter = e.models.reg
		}
	} else {
		// Never connects: pgxpool dials lazily, and nothing here needs it
		// except /readyz, which is then rightly not ready.
		pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e.pool = pool
		e.store = newMemStore()
	}
	if o.storePing != nil {
		e.store = pingingStore{Store: e.store, err: o.storePing}
	}
	srv, err := httpapi.NewServer(httpapi.Config{
		JWTSecret:  secret,
		BodyLimit:  o.bodyLimit,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        e.clock.Now,
		Registerer: e.reg,

		LiveFeedHeartbeat:     o.heartbeat,
		LiveFeedMaxStreams:    o.maxStreams,
		ReadYourWritesTimeout: o.rywTimeout,
	}, httpapi.Deps{Store: e.store, Pool: e.pool, Commands: commands.NewRepository(e.store, e.clock.Now), Projections: o.waiter,
		DeadLetters: o.deadLetters, ConsumerLag: o.consumerLag})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.CloseStreams) // before the pool closes: cleanups run last first
	e.srv, e.h = srv, srv.Handler()
	if o.bare {
		return e
	}
	admins := []commands.Role{commands.RoleSchoolAdmin, commands.RolePlatformAdmin}
	httpapi.AddSchoolCommand(srv, http.MethodPost, "/things", admins, "CreateThing", true, e.createThing)
	httpapi.AddSchoolCommand(srv, http.MethodPost, "/things/:thingId/poke",
		[]commands.Role{commands.RoleSchoolAdmin, commands.RoleTeacher}, "PokeThing", false, e.pokeThing)
	httpapi.AddV1Command(srv, http.MethodPost, "/tenants", []commands.Role{commands.RolePlatformAdmin}, "RegisterTenant", true, e.createThing)
	if errs := httpapi.RouteErrors(srv); len(errs) > 0 {
		t.Fatal(errs)
	}
	return e
}

// thingBody is the stand-in command's body; fail picks an error to return.
type thingBody struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Count int8     `json:"count"`
	Tags  []string `json:"tags"`
	Prefs struct {
		MaxClassesPerDay uint8 `json:"maxClassesPerDay"`
	} `json:"preferences"`
	Fail string `json:"fail"`
}

func (e *env) createThing(c *gin.Context, m commands.Meta, b thingBody) (commands.Result, error) {
	e.runs.add()
	if b.ID == "" { // like a real create: the ID follows from the command
		b.ID = httpapi.NewAggregateID(m)
	}
	id, err := httpapi.UUIDField("id", b.ID)
	if err != nil {
		return commands.Result{}, err
	}
	switch b.Fail {
	case "invalid":
		return commands.Result{}, domain.Invalid("name", "must not be empty")
	case "notfound":
		return commands.Result{}, &domain.Error{Kind: domain.KindNotFound, Field: "classId", Message: "no such class"}
	case "conflict":
		return commands.Result{}, &domain.Error{Kind: domain.KindConflict, Message: "class is full"}
	case "forbidden":
		return commands.Result{}, &domain.Error{Kind: domain.KindForbidden, Message: "not your student"}
	case "concurrent":
		return commands.Result{}, fmt.Errorf("%w after 5 attempts", commands.ErrConcurrentUpdate)
	case "boom":
		return commands.Result{}, errors.New("pq: password authentication failed for user admin")
	case "panic":
		panic("handler exploded")
	case "block":
		e.started <- struct{}{}
		<-e.release
	}
	return appendThing(c, e.store, m, "thing-"+id.String(), "thing.created.v1", b)
}

func (e *env) pokeThing(c *gin.Context, m commands.Meta, _ httpapi.NoBody) (commands.Result, error) {
	e.runs.add()
	return appendThing(c, e.store, m, "thing-"+c.Param("thingId"), "thing.poked.v1", map[string]string{"by": m.Actor.ID})
}

// appendThing appends one event the way commands.Update does: event ID from
// the command ID, If-Match as the expected version.
func appendThing(ctx context.Context, store eventstore.Store, m commands.Meta, stream, typ string, body any) (commands.Result, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return commands.Result{}, err
	}
	expected := eventstore.Any()
	if m.ExpectedVersion != nil {
		expected = eventstore.Exact(*m.ExpectedVersion)
	}
	school := m.SchoolID
	if school == "" {
		school = "platform"
	}
	res, err := store.Append(ctx, stream, expected, []eventstore.EventData{{
		ID: commands.EventID(m.CommandID, stream, 0), Type: typ, Data: data,
		Metadata: eventstore.Metadata{SchoolID: school, ActorID: m.Actor.ID, ActorRole: m.Actor.PrimaryRole(),
			CorrelationID: m.CorrelationID, CausationID: m.CausationID, RequestID: m.RequestID},
	}})
	if err != nil {
		return commands.Result{}, err
	}
	return commands.Result{ID: strings.TrimPrefix(stream, "thing-"), Stream: stream, Version: res.Version, Position: res.Position}, nil
}

// token issues a token valid now.
func (e *env) token(sub string, school string, roles ...commands.Role) string {
	e.t.Helper()
	tok, err := auth.Issue(secret, auth.Claims{Subject: sub, Roles: roles, SchoolID: school}, time.Hour, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) adminA() string { return e.token("admin-a", schoolA, commands.RoleSchoolAdmin) }

// req is a request to send.
type req struct {
	method, path string
	body         string
	token        string
	header       map[string]string
}

// get sends GET path as school A's admin and checks the answer against
// openapi.json.
func (e *env) get(path string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.getAs(e.adminA(), path, want)
}

// getAs sends GET path with token, and checks the answer against
// openapi.json, and the request too unless it is meant to be bad (want
// 400).
func (e *env) getAs(token, path string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(req{method: http.MethodGet, path: path, token: token})
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer x")
	if want != http.StatusBadRequest {
		checkRequest(e.t, r)
	}
	if w.Code != want {
		e.t.Fatalf("GET %s: %d, want %d: %s", path, w.Code, want, w.Body)
	}
	checkResponse(e.t, r, w)
	return w
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

func thingPath(school string) string { return "/v1/schools/" + school + "/things" }

func thingJSON(id string) string { return fmt.Sprintf(`{"id":%q,"name":"a thing"}`, id) }

// problem decodes a problem response, checking its media type and status.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int) httpapi.Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q; body %s", ct, httpapi.ProblemContentType, w.Body)
	}
	var p httpapi.Problem
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem: %+v", p)
	}
	// A replayed problem is the first response, with the first request's ID.
	if p.RequestID != w.Header().Get(httpapi.HeaderRequestID) && w.Header().Get(httpapi.HeaderIdempotentReplayed) == "" {
		t.Errorf("problem requestId %q, header %q", p.RequestID, w.Header().Get(httpapi.HeaderRequestID))
	}
	return p
}

func result(t *testing.T, w *httptest.ResponseRecorder, status int) commands.Result {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	var r commands.Result
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("result body %s: %v", w.Body, err)
	}
	return r
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// memStore is an in-memory eventstore.Store for the tests that need no
// database: expected versions and idempotent event IDs, nothing more.
type memStore struct {
	mu      sync.Mutex
	streams map[string][]eventstore.RecordedEvent
	byID    map[uuid.UUID]eventstore.RecordedEvent
	pos     uint64
}

func newMemStore() *memStore {
	return &memStore{streams: map[string][]eventstore.RecordedEvent{}, byID: map[uuid.UUID]eventstore.RecordedEvent{}}
}

func (s *memStore) Append(_ context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.byID[events[0].ID]; ok {
		recs := s.streams[prev.StreamID]
		last := recs[min(int(prev.Version)+len(events)-2, len(recs)-1)]
		return eventstore.AppendResult{Version: last.Version, Position: last.Position}, nil
	}
	cur := uint64(len(s.streams[stream]))
	if v, ok := expected.Version(); ok && v != cur {
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: cur}
	}
	for _, e := range events {
		s.pos++
		cur++
		rec := eventstore.RecordedEvent{ID: e.ID, StreamID: stream, Version: cur, Position: s.pos, Type: e.Type,
			Data: e.Data, Metadata: e.Metadata, RecordedAt: time.Now()}
		s.streams[stream] = append(s.streams[stream], rec)
		s.byID[e.ID] = rec
	}
	return eventstore.AppendResult{Version: cur, Position: s.pos}, nil
}

func (s *memStore) ReadStream(_ context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[stream]
	if after >= uint64(len(recs)) {
		return nil, nil
	}
	recs = recs[after:]
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return slices.Clone(recs), nil
}

func (s *memStore) ReadAll(context.Context, eventstore.Position, int) ([]eventstore.RecordedEvent, error) {
	return nil, errors.New("memStore: ReadAll not supported")
}

func (s *memStore) SubscribeAll(context.Context, eventstore.Position, func(context.Context, eventstore.RecordedEvent) error) error {
	return errors.New("memStore: SubscribeAll not supported")
}

func (s *memStore) Head(context.Context) (eventstore.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos, nil
}

// pingingStore is a store with a server of its own, as KurrentDB is, that
// answers Ping with err.
type pingingStore struct {
	eventstore.Store
	err error
}

func (s pingingStore) Ping(context.Context) error { return s.err }
