package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

func keyed(e *env, body, key string) req {
	return req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: body,
		header: map[string]string{"Idempotency-Key": key}}
}

func (e *env) events(stream string) int {
	e.t.Helper()
	recs, err := e.store.ReadStream(context.Background(), stream, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(recs)
}

func (e *env) keyRows() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	id := uuid.NewString()
	first := e.do(keyed(e, thingJSON(id), "key-1"))
	r := result(t, first, http.StatusCreated)
	if first.Header().Get(httpapi.HeaderIdempotentReplayed) != "" {
		t.Error("the first response claims to be a replay")
	}

	again := e.do(keyed(e, thingJSON(id), "key-1"))
	if again.Code != first.Code || again.Body.String() != first.Body.String() {
		t.Fatalf("replay = %d %s, first = %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	for _, h := range []string{"ETag", "Location", "Content-Type"} {
		if again.Header().Get(h) != first.Header().Get(h) {
			t.Errorf("replayed %s = %q, first %q", h, again.Header().Get(h), first.Header().Get(h))
		}
	}
	if again.Header().Get(httpapi.HeaderIdempotentReplayed) != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	if e.runs.get() != 1 || e.events(r.Stream) != 1 {
		t.Errorf("handler ran %d times, %d events stored; want 1 and 1", e.runs.get(), e.events(r.Stream))
	}

	// The key is the caller's own: another caller's same key is another request.
	other := e.token("admin-a2", schoolA, commands.RoleSchoolAdmin)
	w := e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: other, body: thingJSON(uuid.NewString()),
		header: map[string]string{"Idempotency-Key": "key-1"}})
	result(t, w, http.StatusCreated)
	if e.runs.get() != 2 {
		t.Errorf("another caller's request with the same key did not run")
	}

	// Quoted (structured-field) form of the same key is the same key.
	w = e.do(keyed(e, thingJSON(id), `"key-1"`))
	if w.Header().Get(httpapi.HeaderIdempotentReplayed) != "true" {
		t.Errorf("quoted key not recognised: %d %s", w.Code, w.Body)
	}

	metrics := e.do(req{method: http.MethodGet, path: "/metrics"}).Body.String()
	if !strings.Contains(metrics, `commands_total{command="CreateThing",outcome="replayed"} 2`) {
		t.Error("replays are not counted")
	}
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	result(t, e.do(keyed(e, thingJSON(uuid.NewString()), "k")), http.StatusCreated)
	p := problem(t, e.do(keyed(e, thingJSON(uuid.NewString()), "k")), http.StatusUnprocessableEntity)
	if p.Type != httpapi.TypeIdempotencyReuse || len(p.Errors) != 1 || p.Errors[0].Field != "Idempotency-Key" {
		t.Errorf("problem = %+v", p)
	}
	// Same body, another route: also another request.
	w := e.do(req{method: http.MethodPost, path: thingPath(schoolA) + "/" + uuid.NewString() + "/poke", token: e.adminA(),
		header: map[string]string{"Idempotency-Key": "k"}})
	problem(t, w, http.StatusUnprocessableEntity)
	if e.runs.get() != 1 {
		t.Errorf("handler ran %d times, want 1", e.runs.get())
	}
}

func TestIdempotencyConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	body := `{"id":"` + uuid.NewString() + `","fail":"block"}`
	var (
		wg    sync.WaitGroup
		first *httptest.ResponseRecorder
	)
	wg.Go(func() { first = e.do(keyed(e, body, "dup")) })
	<-e.started // the first request is inside the handler

	p := problem(t, e.do(keyed(e, body, "dup")), http.StatusConflict)
	if p.Type != httpapi.TypeIdempotencyPending || !strings.Contains(p.Detail, "in progress") {
		t.Errorf("problem = %+v", p)
	}
	close(e.release)
	wg.Wait()
	result(t, first, http.StatusCreated)

	again := e.do(keyed(e, body, "dup"))
	if again.Header().Get(httpapi.HeaderIdempotentReplayed) != "true" || again.Body.String() != first.Body.String() {
		t.Errorf("after completion: %d %s", again.Code, again.Body)
	}
	if e.runs.get() != 1 {
		t.Errorf("handler ran %d times, want 1", e.runs.get())
	}
}

func TestIdempotencyRacingDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	id := uuid.NewString()
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = e.do(keyed(e, thingJSON(id), "race")).Code })
	}
	wg.Wait()
	if e.runs.get() != 1 {
		t.Errorf("handler ran %d times for one key, want 1 (codes %v)", e.runs.get(), codes)
	}
	for _, c := range codes {
		if c != http.StatusCreated && c != http.StatusConflict {
			t.Errorf("codes = %v, want only 201 and 409", codes)
		}
	}
	if got := e.events("thing-" + id); got != 1 {
		t.Errorf("%d events stored, want 1", got)
	}
}

func TestIdempotencyWhatIsKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})

	// A 4xx answer is the request's answer: kept and replayed.
	invalid := `{"id":"` + uuid.NewString() + `","fail":"invalid"}`
	problem(t, e.do(keyed(e, invalid, "bad")), http.StatusBadRequest)
	w := e.do(keyed(e, invalid, "bad"))
	problem(t, w, http.StatusBadRequest)
	if w.Header().Get(httpapi.HeaderIdempotentReplayed) != "true" {
		t.Error("a stored 400 was not replayed")
	}

	// A 5xx is not: the retry runs again.
	boom := `{"id":"` + uuid.NewString() + `","fail":"boom"}`
	problem(t, e.do(keyed(e, boom, "boom")), http.StatusInternalServerError)
	problem(t, e.do(keyed(e, boom, "boom")), http.StatusInternalServerError)
	// Nor a panic.
	pnc := `{"id":"` + uuid.NewString() + `","fail":"panic"}`
	problem(t, e.do(keyed(e, pnc, "panic")), http.StatusInternalServerError)
	problem(t, e.do(keyed(e, pnc, "panic")), http.StatusInternalServerError)
	// Nor a 409: the caller resolves the conflict and retries.
	conflict := `{"id":"` + uuid.NewString() + `","fail":"concurrent"}`
	problem(t, e.do(keyed(e, conflict, "conflict")), http.StatusConflict)
	problem(t, e.do(keyed(e, conflict, "conflict")), http.StatusConflict)

	if want := 1 + 2 + 2 + 2; e.runs.get() != want {
		t.Errorf("handler ran %d times, want %d", e.runs.get(), want)
	}
	if n := e.keyRows(); n != 1 {
		t.Errorf("%d idempotency rows, want 1 (the 400)", n)
	}
}

// The key fixes the command ID, so even with its record gone a retry
// appends nothing new.
func TestIdempotencyKeyFixesEventIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	id := uuid.NewString()
	first := result(t, e.do(keyed(e, thingJSON(id), "lost")), http.StatusCreated)
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM idempotency_keys`); err != nil {
		t.Fatal(err)
	}
	again := result(t, e.do(keyed(e, thingJSON(id), "lost")), http.StatusCreated)
	if e.runs.get() != 2 {
		t.Fatalf("handler ran %d times, want 2", e.runs.get())
	}
	if again != first || e.events(first.Stream) != 1 {
		t.Errorf("first %+v, again %+v, %d events", first, again, e.events(first.Stream))
	}

	// A create whose new ID the server picks gets the same ID again.
	created := result(t, e.do(keyed(e, `{"name":"no id"}`, "server-id")), http.StatusCreated)
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM idempotency_keys`); err != nil {
		t.Fatal(err)
	}
	if again := result(t, e.do(keyed(e, `{"name":"no id"}`, "server-id")), http.StatusCreated); again != created {
		t.Errorf("retried create: first %+v, again %+v", created, again)
	}
	// Without a key, every create is a new one.
	a := result(t, e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: `{"name":"x"}`}), http.StatusCreated)
	b := result(t, e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: `{"name":"x"}`}), http.StatusCreated)
	if a.ID == b.ID {
		t.Error("two unkeyed creates got the same ID")
	}
}

// A request that died while holding its key (a crash) blocks retries only
// until the lock times out.
func TestIdempotencyAbandonedKeyIsTakenOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	body := `{"id":"` + uuid.NewString() + `","fail":"block"}`
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.do(keyed(e, body, "stuck"))
	}()
	<-e.started
	problem(t, e.do(keyed(e, body, "stuck")), http.StatusConflict)

	e.clock.Advance(httpapi.DefaultIdempotencyLockTimeout + time.Second)
	go func() { <-e.started; close(e.release) }() // the retry blocks too; then let both finish
	w := e.do(keyed(e, body, "stuck"))
	result(t, w, http.StatusCreated)
	<-done
	if e.runs.get() != 2 {
		t.Errorf("handler ran %d times, want 2", e.runs.get())
	}
}

func TestDeleteExpiredIdempotencyKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true})
	result(t, e.do(keyed(e, thingJSON(uuid.NewString()), "old")), http.StatusCreated)
	ctx := context.Background()
	if n, err := e.srv.DeleteExpiredIdempotencyKeys(ctx); err != nil || n != 0 {
		t.Fatalf("fresh key deleted: %d %v", n, err)
	}
	e.clock.Advance(httpapi.IdempotencyRetention + time.Minute)
	result(t, e.do(keyed(e, thingJSON(uuid.NewString()), "new")), http.StatusCreated)
	if n, err := e.srv.DeleteExpiredIdempotencyKeys(ctx); err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want 1", n, err)
	}
	if e.keyRows() != 1 {
		t.Errorf("%d rows left, want 1", e.keyRows())
	}
}

func TestReadyzWithDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	w := e.do(req{method: http.MethodGet, path: "/readyz"})
	if w.Code != http.StatusOK {
		t.Fatalf("readyz: %d %s", w.Code, w.Body)
	}
}

func TestAuditReadPostgres(t *testing.T) {
	t.Parallel()
	testAuditRead(t, newEnv(t, options{db: true, bare: true}))
}
