package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Monitoring's figures from Kafka (PendingDeadLetters, ProjectionLags)
// are read in the background and waited for at most sampleWait, so that a
// monitoring request answers within seconds even when Kafka does not: a
// broker that accepts connections and never answers would hold a sarama
// call for minutes, whatever the request's context says.
const (
	sampleWait        = 3 * time.Second
	sampleReadTimeout = time.Minute // bounds what heeds a context
)

// sampled returns read behind a cache: one read at a time runs in the
// background, and its result, a failure included, is served for maxAge.
// A caller with nothing fresh to take waits for the running read at most
// wait, then hears that it is still running.
func sampled[T any](read func(context.Context) (T, error), maxAge, wait time.Duration) func(context.Context) (T, error) {
	var (
		mu      sync.Mutex
		val     T
		err     error
		at      time.Time     // when val and err were read; zero: never
		running chan struct{} // closed when the running read ends; nil: none
	)
	return func(ctx context.Context) (T, error) {
		mu.Lock()
		if !at.IsZero() && time.Since(at) < maxAge {
			defer mu.Unlock()
			return val, err
		}
		if running == nil {
			done := make(chan struct{})
			running = done
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
		done := running
		mu.Unlock()
		t := time.NewTimer(wait)
		defer t.Stop()
		var zero T
		select {
		case <-done:
			mu.Lock()
			defer mu.Unlock()
			return val, err
		case <-t.C:
			return zero, fmt.Errorf("kafka: no answer within %s; still trying", wait)
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}
