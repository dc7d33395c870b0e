package kafka_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// Broker outage: the broker goes away while commands keep coming over
// HTTP (and appends straight to the store), and a new one starts on the
// same address later. The command path never waits for Kafka (there is no
// dual write): every command is accepted throughout. The embedded broker
// keeps messages in memory, so the new one starts empty; the relay sees a
// different cluster and publishes the whole log again. What is provable,
// and checked: a consumer reading the new broker from the start receives
// every event the store holds, each stream appliable in order (the first
// broker's messages died with it; a consumer that had read them sees them
// again, as at-least-once allows).
func TestRelayBrokerOutageLosesNothingAndCommandsGoOn(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	b1 := relayBroker(t, "127.0.0.1:0")
	addr := b1.Addr()
	kcfg := relayKafkaConfig(addr)
	startRelay(t, kcfg, store, pool)

	secret := []byte("relay-test-secret-relay-test-secret!")
	api, err := httpapi.NewServer(httpapi.Config{JWTSecret: secret, Logger: relayLogger(), Registerer: prometheus.NewRegistry()},
		httpapi.Deps{Store: store, Pool: pool, Commands: commands.NewRepository(store, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	token, err := auth.Issue(secret, auth.Claims{Subject: "ops", Roles: []commands.Role{commands.RolePlatformAdmin}}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// Commands over HTTP, one after the other, until told to stop; each
	// must be accepted (201) within a second, outage or not.
	var (
		stop     = make(chan struct{})
		accepted atomic.Int64
		slowest  atomic.Int64
		failures = make(chan string, 100)
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf("School %d", i)
			start := time.Now()
			code, err := postSchoolErr(srv.URL, token, body)
			took := time.Since(start)
			if err != nil {
				failures <- err.Error()
				return
			}
			if code != http.StatusCreated {
				failures <- fmt.Sprintf("POST /v1/schools #%d: %d", i, code)
				return
			}
			accepted.Add(1)
			if ms := took.Milliseconds(); ms > slowest.Load() {
				slowest.Store(ms)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	// And appends to many streams, several events each, alongside.
	var want map[string]int
	wg.Go(func() { want = appendConcurrently(t, t.Context(), store, "teacher-o", 60, 10, 2) })

	time.Sleep(500 * time.Millisecond)
	b1.Close()
	// While no broker runs: commands are accepted as ever. (A command that
	// waited for Kafka would hang here; the client's timeout is only a
	// guard against that, not a speed check.)
	for i := range 10 {
		code := postSchool(t, srv.URL, token, fmt.Sprintf("Outage school %d", i))
		if code != http.StatusCreated {
			t.Errorf("POST /v1/schools during the outage = %d", code)
		}
		accepted.Add(1)
	}
	time.Sleep(time.Second) // more of the outage, with the background commands going on
	b2 := relayBroker(t, addr)
	if b2.Addr() != addr {
		t.Fatalf("the new broker listens on %s, not %s", b2.Addr(), addr)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	t.Logf("commands accepted: %d; slowest %dms", accepted.Load(), slowest.Load())

	// Everything the store holds, per stream: one event per accepted
	// command and the direct appends, readable once every older
	// transaction of the cluster (other tests' too) has ended.
	total := int(accepted.Load())
	for _, n := range want {
		total += n
	}
	var all []eventstore.RecordedEvent
	waitFor(t, 10*time.Second, "every event readable", func() bool {
		var err error
		all, err = store.ReadAll(t.Context(), 0, 0)
		return err == nil && len(all) == total
	})
	streams := map[string]int{}
	ids := map[uuid.UUID]eventstore.RecordedEvent{}
	for _, e := range all {
		streams[e.StreamID] = max(streams[e.StreamID], int(e.Version))
		ids[e.ID] = e
	}
	for s, n := range want {
		if streams[s] != n {
			t.Fatalf("the store has %d events of %s, want %d", streams[s], s, n)
		}
	}
	got := consumeAll(t, addr, kcfg, time.Minute, hasAll(streams))
	got.checkAppliesInOrder(t, streams)
	for id := range ids {
		if got.ids[id] == 0 {
			t.Errorf("event %s never arrived on the new broker", id)
		}
	}
	// The events the command handlers wrote are valid against their
	// published JSON Schemas.
	for _, e := range got.events {
		if err := validateEvent(t, e.Type, e.Data); err != nil {
			t.Errorf("event %s: %v", e.Type, err)
		}
	}
}

// commandClient's timeout only turns a hung command into a failure.
var commandClient = &http.Client{Timeout: 30 * time.Second}

func postSchoolErr(base, token, name string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/schools",
		strings.NewReader(fmt.Sprintf(`{"name": %q, "timezone": "Europe/London"}`, name)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	resp, err := commandClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func postSchool(t *testing.T, base, token, name string) int {
	t.Helper()
	code, err := postSchoolErr(base, token, name)
	if err != nil {
		t.Fatalf("POST /v1/schools: %v", err)
	}
	return code
}
