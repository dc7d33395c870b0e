package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
)

// syncBuffer collects a server's logs while it writes them.
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

// server is `edusmarthub serve` running in-process.
type server struct {
	base string
	logs *syncBuffer
	stop context.CancelFunc
	done chan int
}

// startServe runs serve with environ and waits until /readyz answers 200.
func startServe(t *testing.T, environ map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{
		base: "http://" + environ["EDUSMARTHUB_HTTP_ADDR"],
		logs: &syncBuffer{},
		stop: cancel,
		done: make(chan int, 1),
	}
	go func() { s.done <- run(ctx, []string{"serve"}, environ, io.Discard, s.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			t.Error("serve did not stop within a minute of its context ending")
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case code := <-s.done:
			t.Fatalf("serve exited with %d before it was ready:\n%s", code, s.logs)
		default:
		}
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("serve not ready after 2 minutes:\n%s", s.logs)
	return nil
}

// shutdown sends the equivalent of SIGTERM and waits for a clean exit.
func (s *server) shutdown(t *testing.T) {
	t.Helper()
	s.stop()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("serve exited with %d after shutdown:\n%s", code, s.logs)
		}
		s.done <- code // for the cleanup
	case <-time.After(time.Minute):
		t.Fatalf("serve did not shut down within a minute:\n%s", s.logs)
	}
}

func (s *server) do(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestServeEmbeddedLifecycle is `make run` end to end: with no database
// configured serve starts its own cluster, migrates, serves the health,
// metrics and API routes with tokens from `edusmarthub token`, shuts down
// cleanly, and a second start finds the data the first one wrote.
func TestServeEmbeddedLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	pgPort, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	kafkaPort, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	kafkaAddr := "127.0.0.1:" + strconv.Itoa(kafkaPort)
	environ := map[string]string{
		"EDUSMARTHUB_DATA_DIR":            t.TempDir(),
		"EDUSMARTHUB_EMBEDDED_PG_PORT":    strconv.Itoa(pgPort),
		"EDUSMARTHUB_HTTP_ADDR":           "127.0.0.1:" + strconv.Itoa(httpPort),
		"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR": kafkaAddr,
		"EDUSMARTHUB_LOG_FORMAT":          "json",
		"EDUSMARTHUB_SHUTDOWN_TIMEOUT":    "5s",
	}

	srv := startServe(t, environ)
	if code, body := srv.do(t, http.MethodGet, "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, metrics := srv.do(t, http.MethodGet, "/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "http_request_duration_seconds"} {
		if !bytes.Contains(metrics, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if code, _ := srv.do(t, http.MethodGet, "/openapi.json", "", ""); code != http.StatusOK {
		t.Errorf("/openapi.json = %d", code)
	}
	if code, body := srv.do(t, http.MethodGet, "/asyncapi.json", "", ""); code != http.StatusOK || !bytes.Contains(body, []byte(`"edusmarthub.school"`)) {
		t.Errorf("/asyncapi.json = %d, or it lacks the school topic", code)
	}

	// A token minted by the token command is accepted by the server: they
	// share the development secret in the data folder.
	exit, out, errOut := edusmarthub(t, environ, "token", "--role", "platform_admin")
	if exit != 0 {
		t.Fatalf("token: %s", errOut)
	}
	admin := strings.TrimSpace(out)
	if code, body := srv.do(t, http.MethodGet, "/v1/schools/"+school+"/streams/school-"+school+"/events", "", ""); code != http.StatusUnauthorized {
		t.Errorf("audit read without a token = %d %s, want 401", code, body)
	}

	code, body := srv.do(t, http.MethodPost, "/v1/schools", admin, `{"name": "Hillside Primary", "timezone": "Europe/London"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/schools = %d %s", code, body)
	}
	var created struct {
		ID, Stream string
		Version    uint64
	}
	if err := json.Unmarshal(body, &created); err != nil || created.ID == "" || created.Version != 1 {
		t.Fatalf("POST /v1/schools answered %s (%v)", body, err)
	}
	eventsPath := fmt.Sprintf("/v1/schools/%s/streams/%s/events", created.ID, created.Stream)
	// The relay publishes the event to the embedded broker, where any
	// Kafka client reads it.
	waitForKafkaEvent(t, kafkaAddr, "edusmarthub.school", created.Stream)
	if code, body := srv.do(t, http.MethodGet, eventsPath, admin, ""); code != http.StatusOK {
		t.Fatalf("audit read = %d %s", code, body)
	}
	srv.shutdown(t)
	logs := srv.logs.String()
	for _, want := range []string{`"msg":"serving HTTP"`, `"msg":"shutting down"`, `"msg":"stopping embedded PostgreSQL"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("first run's logs lack %s", want)
		}
	}

	// Second start: same data folder, the cluster resumes, nothing is
	// pending, and the school is still there.
	srv = startServe(t, environ)
	if !strings.Contains(srv.logs.String(), `"pending":0`) {
		t.Errorf("second start applied migrations again:\n%s", srv.logs)
	}
	code, body = srv.do(t, http.MethodGet, eventsPath, admin, "")
	if code != http.StatusOK {
		t.Fatalf("audit read after restart = %d %s", code, body)
	}
	// The embedded broker kept its messages in memory only: the new one
	// started empty, and the relay published the log to it again.
	waitForKafkaEvent(t, kafkaAddr, "edusmarthub.school", created.Stream)
	var page struct {
		Events []struct{ Type string }
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Events) != 1 {
		t.Fatalf("after restart the school's stream reads %s (%v), want its one event", body, err)
	}
	srv.shutdown(t)
}

// waitForKafkaEvent reads topic from the start with a plain franz-go
// client until a message keyed by stream arrives (30s at most).
func waitForKafkaEvent(t *testing.T, addr, topic, stream string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no message of stream %s on %s within 30s", stream, topic)
		}
		found := false
		fetches.EachRecord(func(r *kgo.Record) { found = found || string(r.Key) == stream })
		if found {
			return
		}
	}
}
