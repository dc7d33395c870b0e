package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// sseMessage is one message of an event stream: its fields, and the
// comment lines that came before it.
type sseMessage struct {
	id, event, data string
	hasID           bool
	comments        []string
}

// sseClient reads an event stream in the background.
type sseClient struct {
	t    *testing.T
	resp *http.Response
	msgs chan sseMessage
	done chan struct{} // closed when the stream ends
}

// liveServer serves e's handler over real HTTP, with a short ReadTimeout:
// a stream must outlive it.
func liveServer(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(e.h)
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(e.srv.CloseStreams) // runs first: ts.Close waits for the streams
	return ts
}

func livePath(school string, query string) string {
	p := "/v1/schools/" + school + "/events/stream"
	if query != "" {
		p += "?" + query
	}
	return p
}

// openStream opens path with token; header adds headers. It fails the test
// unless the answer is 200 text/event-stream.
func openStream(t *testing.T, ts *httptest.Server, path, token string, header map[string]string) *sseClient {
	t.Helper()
	resp := rawStream(t, ts, path, token, header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	c := &sseClient{t: t, resp: resp, msgs: make(chan sseMessage, 1000), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func rawStream(t *testing.T, ts *httptest.Server, path, token string, header map[string]string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (c *sseClient) read() {
	defer close(c.done)
	defer close(c.msgs)
	br := bufio.NewReader(c.resp.Body)
	var m sseMessage
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			c.msgs <- m
			m = sseMessage{}
		case strings.HasPrefix(line, ":"):
			m.comments = append(m.comments, strings.TrimSpace(line[1:]))
		default:
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				m.id, m.hasID = v, true
			case "event":
				m.event = v
			case "data":
				m.data = v
			}
		}
	}
}

func (c *sseClient) close() { c.resp.Body.Close() }

// next returns the next message with an event, skipping comments and
// id-only messages.
func (c *sseClient) next() sseMessage {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatal("the stream ended")
			}
			if m.event != "" {
				return m
			}
		case <-timeout:
			c.t.Fatal("no event within 10s")
		}
	}
}

// quiet checks that no event arrives for a while.
func (c *sseClient) quiet(d time.Duration) {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return
			}
			if m.event != "" {
				c.t.Fatalf("unexpected event %s %s: %s", m.id, m.event, m.data)
			}
		case <-timeout:
			return
		}
	}
}

// liveEventJSON is the data of a live message.
type liveEventJSON struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Channel  string          `json:"channel"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Position uint64          `json:"position"`
	Time     time.Time       `json:"time"`
	Data     json.RawMessage `json:"data"`
	Metadata map[string]any  `json:"metadata"`
}

func decodeLive(t *testing.T, m sseMessage) liveEventJSON {
	t.Helper()
	var ev liveEventJSON
	dec := json.NewDecoder(strings.NewReader(m.data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("data %q: %v", m.data, err)
	}
	if m.id != strconv.FormatUint(ev.Position, 10) || m.event != ev.Type {
		t.Fatalf("message id %q event %q, data position %d type %s", m.id, m.event, ev.Position, ev.Type)
	}
	return ev
}

// appended is an event put in the store by a test.
type appended struct {
	stream   string
	position uint64
}

// appendEvent appends one event of type typ with data to a fresh stream of
// school (or to stream, if given).
func appendEvent(t *testing.T, e *env, school, typ string, data any, stream string) appended {
	t.Helper()
	if stream == "" {
		stream = "feedtest-" + uuid.NewString()
	}
	body, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Append(context.Background(), stream, eventstore.Any(), []eventstore.EventData{{
		ID: uuid.New(), Type: typ, Data: body,
		Metadata: eventstore.Metadata{SchoolID: school, ActorID: "someone", ActorRole: "school_admin",
			CorrelationID: "corr-1", RequestID: "req-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return appended{stream: stream, position: res.Position}
}

func (c *sseClient) expect(want ...appended) {
	c.t.Helper()
	for _, w := range want {
		m := c.next()
		ev := decodeLive(c.t, m)
		if ev.Position != w.position || ev.Stream != w.stream {
			c.t.Fatalf("got %s at %d, want %s at %d", ev.Stream, ev.Position, w.stream, w.position)
		}
	}
}

func TestLiveFeedShowsTheSchoolsEventsAsTheyHappen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	ts := liveServer(t, e)
	c := openStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	time.Sleep(500 * time.Millisecond) // past the server's ReadTimeout: the stream lives on

	a1 := appendEvent(t, e, schoolA, "teacher.created.v1", map[string]string{"teacherId": "t1"}, "")
	appendEvent(t, e, schoolB, "teacher.created.v1", map[string]string{"teacherId": "t2"}, "")
	a2 := appendEvent(t, e, schoolA, "message.sent.v1", map[string]any{"messageId": "m1"}, "")

	m := c.next()
	ev := decodeLive(t, m)
	if ev.Stream != a1.stream || ev.Position != a1.position || ev.Version != 1 || ev.Channel != "teacher" ||
		ev.Metadata["schoolId"] != schoolA || ev.Metadata["correlationId"] != "corr-1" || string(ev.Data) != `{"teacherId":"t1"}` {
		t.Errorf("first event: %+v", ev)
	}
	if _, ok := ev.Metadata["requestId"]; ok {
		t.Errorf("metadata shows the request ID: %v", ev.Metadata)
	}
	c.expect(a2) // and not school B's in between
	c.quiet(300 * time.Millisecond)
}

func TestLiveFeedResumesAfterLastEventID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	ts := liveServer(t, e)
	admin := e.adminA()

	// Before anyone listens: the hub starts later, so resuming from here
	// reads the store first and then joins the hub.
	var early []appended
	for i := range 5 {
		early = append(early, appendEvent(t, e, schoolA, "teacher.created.v1", map[string]int{"n": i}, ""))
		appendEvent(t, e, schoolB, "teacher.created.v1", map[string]int{"n": i}, "")
	}
	from := strconv.FormatUint(early[1].position, 10)
	c := openStream(t, ts, livePath(schoolA, ""), admin, map[string]string{httpapi.HeaderLastEventID: from})
	c.expect(early[2:]...)
	live := appendEvent(t, e, schoolA, "teacher.created.v1", map[string]int{"n": 99}, "")
	c.expect(live)
	c.quiet(200 * time.Millisecond)
	c.close()

	// While away: more events. Resuming from the last one seen (in the
	// hub's memory now) gives exactly those.
	var missed []appended
	for i := range 3 {
		missed = append(missed, appendEvent(t, e, schoolA, "teacher.created.v1", map[string]int{"n": 100 + i}, ""))
		appendEvent(t, e, schoolB, "teacher.created.v1", map[string]int{"n": i}, "")
	}
	last := strconv.FormatUint(live.position, 10)
	c2 := openStream(t, ts, livePath(schoolA, ""), admin, map[string]string{httpapi.HeaderLastEventID: last})
	c2.expect(missed...)
	c2.quiet(200 * time.Millisecond)

	// ?lastEventId= does the same on a first connection; the header wins.
	c3 := openStream(t, ts, livePath(schoolA, "lastEventId="+last), admin, nil)
	c3.expect(missed...)
	c4 := openStream(t, ts, livePath(schoolA, "lastEventId=1"), admin,
		map[string]string{httpapi.HeaderLastEventID: strconv.FormatUint(missed[1].position, 10)})
	c4.expect(missed[2])
	c4.quiet(200 * time.Millisecond)

	// From the very start of the log.
	c5 := openStream(t, ts, livePath(schoolA, ""), admin, map[string]string{httpapi.HeaderLastEventID: "0"})
	c5.expect(append(append(early, live), missed...)...)
}

func TestLiveFeedFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	ts := liveServer(t, e)
	guardian, teacher, otherGuardian := uuid.NewString(), uuid.NewString(), uuid.NewString()

	comm := openStream(t, ts, livePath(schoolA, "channel=communication,performance&channel=attendance"), e.adminA(), nil)
	g := openStream(t, ts, livePath(schoolA, ""), e.token(guardian, schoolA, commands.RoleGuardian), nil)
	tc := openStream(t, ts, livePath(schoolA, ""), e.token(teacher, schoolA, commands.RoleTeacher), nil)
	platform := openStream(t, ts, livePath(schoolA, "channel=teacher"), e.token("root", "", commands.RolePlatformAdmin), nil)

	created := appendEvent(t, e, schoolA, "teacher.created.v1", map[string]string{"teacherId": teacher}, "teacher-"+teacher)
	toGuardian := appendEvent(t, e, schoolA, "message.sent.v1", map[string]any{"from": "admin-a",
		"recipients": []map[string]string{{"kind": "guardian", "id": guardian}}}, "")
	toOther := appendEvent(t, e, schoolA, "message.sent.v1", map[string]any{"from": "admin-a",
		"recipients": []map[string]string{{"kind": "guardian", "id": otherGuardian}}}, "")
	meeting := appendEvent(t, e, schoolA, "meeting.requested.v1", map[string]string{"teacherId": teacher, "guardianId": guardian}, "")
	// Another school's message to the same guardian ID: never shown.
	appendEvent(t, e, schoolB, "message.sent.v1", map[string]any{"from": "x",
		"recipients": []map[string]string{{"kind": "guardian", "id": guardian}}}, "")
	graded := appendEvent(t, e, schoolA, "performance.recorded.v1", map[string]string{"studentId": "s"}, "")

	comm.expect(toGuardian, toOther, meeting, graded)
	g.expect(toGuardian, meeting)
	tc.expect(created, meeting)
	platform.expect(created)
	for _, c := range []*sseClient{comm, g, tc, platform} {
		c.quiet(200 * time.Millisecond)
	}
}

func TestLiveFeedRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true, maxStreams: 1})
	ts := liveServer(t, e)
	appendEvent(t, e, schoolA, "teacher.created.v1", map[string]string{}, "")
	for _, tt := range []struct {
		name   string
		path   string
		token  string
		header map[string]string
		status int
		field  string
	}{
		{"other school", livePath(schoolB, ""), e.adminA(), nil, http.StatusForbidden, ""},
		{"service role", livePath(schoolA, ""), e.token("saga", schoolA, commands.RoleService), nil, http.StatusForbidden, ""},
		{"no token", livePath(schoolA, ""), "", nil, http.StatusUnauthorized, ""},
		{"unknown channel", livePath(schoolA, "channel=gossip"), e.adminA(), nil, http.StatusBadRequest, "channel"},
		{"empty channel", livePath(schoolA, "channel="), e.adminA(), nil, http.StatusBadRequest, "channel"},
		{"bad Last-Event-ID", livePath(schoolA, ""), e.adminA(), map[string]string{httpapi.HeaderLastEventID: "x"}, http.StatusBadRequest, httpapi.HeaderLastEventID},
		{"unknown position", livePath(schoolA, ""), e.adminA(), map[string]string{httpapi.HeaderLastEventID: "999999"}, http.StatusBadRequest, httpapi.HeaderLastEventID},
		{"bad lastEventId", livePath(schoolA, "lastEventId=-3"), e.adminA(), nil, http.StatusBadRequest, "lastEventId"},
		{"unknown parameter", livePath(schoolA, "chanel=performance"), e.adminA(), nil, http.StatusBadRequest, "chanel"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawStream(t, ts, tt.path, tt.token, tt.header)
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			var p httpapi.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("problem %+v does not name %s", p, tt.field)
			}
		})
	}

	// One stream at most: the second waits its turn.
	c := openStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	resp := rawStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second stream: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// "Retry later" by design is not a failure: a warning, no error line.
	var refused []map[string]any
	for _, l := range e.logLines(t, "http request") {
		if l["status"] == float64(http.StatusServiceUnavailable) {
			refused = append(refused, l)
		}
	}
	if len(refused) != 1 || refused[0]["level"] != "WARN" || len(e.logLines(t, "request failed")) != 0 {
		t.Errorf("logged the full feed's 503 as %v and %d failures; want one warning, no failure", refused, len(e.logLines(t, "request failed")))
	}
	c.close()
	<-c.done
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := rawStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot was not freed: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLiveFeedHeartbeatsCarryThePositionReached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true, heartbeat: 50 * time.Millisecond})
	ts := liveServer(t, e)
	c := openStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	b := appendEvent(t, e, schoolB, "teacher.created.v1", map[string]string{}, "")
	// Only heartbeats, one of them moving Last-Event-ID past school B's event.
	timeout := time.After(10 * time.Second)
	beats, moved := 0, false
	for beats < 3 || !moved {
		select {
		case m := <-c.msgs:
			if m.event != "" {
				t.Fatalf("unexpected event %+v", m)
			}
			if len(m.comments) > 0 && m.comments[len(m.comments)-1] == "heartbeat" {
				beats++
			}
			if m.hasID {
				if m.id != strconv.FormatUint(b.position, 10) {
					t.Fatalf("id-only message %q, want %d", m.id, b.position)
				}
				moved = true
			}
		case <-timeout:
			t.Fatalf("%d heartbeats, moved=%v", beats, moved)
		}
	}
}

func TestLiveFeedEndsOnShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	ts := liveServer(t, e)
	c := openStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	a := appendEvent(t, e, schoolA, "teacher.created.v1", map[string]string{}, "")
	c.expect(a)
	e.srv.CloseStreams()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end")
	}
	resp := rawStream(t, ts, livePath(schoolA, ""), e.adminA(), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after CloseStreams: %d, want 503", resp.StatusCode)
	}
}

// TestLiveFeedManyClients: every client gets every event of its school,
// in log order, with one shared subscription.
func TestLiveFeedManyClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	ts := liveServer(t, e)
	var cs []*sseClient
	for i := range 6 {
		school := schoolA
		if i%2 == 1 {
			school = schoolB
		}
		cs = append(cs, openStream(t, ts, livePath(school, ""), e.token(fmt.Sprint("admin-", i), school, commands.RoleSchoolAdmin), nil))
	}
	var a, b []appended
	for i := range 30 {
		a = append(a, appendEvent(t, e, schoolA, "teacher.created.v1", map[string]int{"n": i}, ""))
		b = append(b, appendEvent(t, e, schoolB, "teacher.created.v1", map[string]int{"n": i}, ""))
	}
	for i, c := range cs {
		if i%2 == 0 {
			c.expect(a...)
		} else {
			c.expect(b...)
		}
	}
}
