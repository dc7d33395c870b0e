package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Monitoring's figures from Kafka (PendingDeadLetters, ProjectionLags)
// are read in the background and waited for at most sampleWait, so that a
// monitoring request or a scrape answers within seconds even when Kafka
// does not: sarama's calls do not heed contexts.
const (
	sampleWait = 3 * time.Second
	// sampleStaleFor is how old a result may be and still be served when
	// a fresh read does not come within sampleWait (Kafka slow, not
	// down).
	sampleStaleFor = time.Minute
	// sampleReadTimeout bounds what in a read heeds its context.
	sampleReadTimeout = time.Minute
)

// monitoringTimeouts shortens sc's network timeouts and retries, for the
// clients that read monitoring's figures: sarama's defaults would let a
// broker that takes connections and never answers hold a read for
// minutes.
func monitoringTimeouts(sc *sarama.Config) {
	const step = 5 * time.Second
	sc.Net.DialTimeout, sc.Net.ReadTimeout, sc.Net.WriteTimeout = step, step, step
	sc.Metadata.Timeout, sc.Metadata.Retry.Max = 2*step, 1
	sc.Admin.Timeout, sc.Admin.Retry.Max = step, 1
}

// sampled returns read behind a cache. A result younger than maxAge is
// served as it is (a failure too). Otherwise the caller waits for a read
// at most wait: one runs at a time, in the background, shared by the
// callers. If it does not come in time, the last result is served if it
// is younger than staleFor, and else an error saying the read is still
// running.
func sampled[T any](read func(context.Context) (T, error), maxAge, wait, staleFor time.Duration) func(context.Context) (T, error) {
	var (
		mu      sync.Mutex
		val     T
		err     error
		at      time.Time     // when val and err were read; zero: never
		running chan struct{} // closed when the running read ends; nil: none
		started time.Time     // when the running read started
	)
	last := func() (T, error) {
		mu.Lock()
		defer mu.Unlock()
		return val, err
	}
	return func(ctx context.Context) (T, error) {
		mu.Lock()
		if !at.IsZero() && time.Since(at) < maxAge {
			defer mu.Unlock()
			return val, err
		}
		if running == nil {
			done := make(chan struct{})
			running, started = done, time.Now()
			go func() {
				rctx, cancel := context.WithTimeout(context.Background(), sampleReadTimeout)
				v, e := read(rctx)
				cancel()
				mu.Lock()
				val, err, at, running = v, e, time.Now(), nil
				mu.Unlock()
				close(done)
			}()
		}
		done, since := running, started
		mu.Unlock()
		t := time.NewTimer(wait)
		defer t.Stop()
		var zero T
		select {
		case <-done:
			return last()
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-t.C:
		}
		select {
		case <-done: // came in as the wait ended
			return last()
		default:
		}
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < staleFor {
			return val, err
		}
		return zero, fmt.Errorf("kafka: no answer yet, after %s", time.Since(since).Round(time.Second))
	}
}
