package kafka

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A read that does not answer does not hold callers past wait; callers
// meanwhile share the one read; its result, once in, is served until
// maxAge has passed.
func TestSampledWaitsBoundedAndShares(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	release := make(chan struct{})
	get := sampled(func(context.Context) (int, error) {
		reads.Add(1)
		<-release
		return 7, nil
	}, time.Hour, 20*time.Millisecond, time.Hour)

	ctx := t.Context()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := get(ctx); err == nil || !strings.Contains(err.Error(), "no answer yet") {
				t.Errorf("while the read hangs: %v, want no answer yet", err)
			}
		})
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads for 4 callers, want 1", n)
	}
	close(release)
	eventuallyIn(t, func() bool { n, err := get(ctx); return err == nil && n == 7 })
	if n, err := get(ctx); n != 7 || err != nil || reads.Load() != 1 {
		t.Errorf("within maxAge: %d, %v after %d reads; want 7 from the one read", n, err, reads.Load())
	}
}

// A failure is served like a result: until maxAge, without reading again.
// With maxAge 0 every call reads.
func TestSampledCachesFailuresForMaxAge(t *testing.T) {
	t.Parallel()
	failing := errors.New("broker down")
	var reads atomic.Int32
	read := func(context.Context) (int, error) { reads.Add(1); return 0, failing }
	cached := sampled(read, time.Hour, time.Second, time.Hour)
	for range 3 {
		if _, err := cached(t.Context()); !errors.Is(err, failing) {
			t.Fatalf("failing read: %v, want its error", err)
		}
	}
	if n := reads.Swap(0); n != 1 {
		t.Errorf("%d reads within maxAge, want 1", n)
	}
	fresh := sampled(read, 0, time.Second, time.Hour)
	for range 3 {
		_, _ = fresh(t.Context())
	}
	if n := reads.Load(); n != 3 {
		t.Errorf("%d reads with maxAge 0 for 3 calls, want 3", n)
	}
}

// Kafka slow, not down: when a fresh read does not come in time, the last
// result is served while it is younger than staleFor.
func TestSampledServesTheLastResultWhileAReadIsSlow(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	slow := make(chan struct{})
	get := sampled(func(context.Context) (int, error) {
		if reads.Add(1) == 1 {
			return 5, nil
		}
		<-slow
		return 6, nil
	}, 0, 20*time.Millisecond, time.Hour)
	defer close(slow)
	// The first read's 5 (maxAge 0: each call asks again, and gets the
	// last result while the second read hangs).
	eventuallyIn(t, func() bool { n, err := get(t.Context()); return err == nil && n == 5 })
	if n, err := get(t.Context()); n != 5 || err != nil || reads.Load() < 2 {
		t.Errorf("while the second read is slow: %d, %v after %d reads; want the last result, 5", n, err, reads.Load())
	}

	// Older than staleFor: an error, not a stale figure.
	stale := sampled(func(context.Context) (int, error) {
		if reads.Add(1) == 3 {
			return 5, nil
		}
		<-slow
		return 6, nil
	}, 0, 20*time.Millisecond, time.Nanosecond)
	// Until the first read is in and the second has started: only then
	// is there a result to be too old.
	eventuallyIn(t, func() bool { _, _ = stale(t.Context()); return reads.Load() >= 4 })
	if _, err := stale(t.Context()); err == nil || !strings.Contains(err.Error(), "no answer yet") {
		t.Errorf("with the last result older than staleFor: %v, want no answer yet", err)
	}
}

// A caller whose context ends stops waiting.
func TestSampledHeedsTheCallersContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	get := sampled(func(context.Context) (int, error) { <-release; return 1, nil }, time.Hour, 10*time.Second, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
}

func eventuallyIn(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
