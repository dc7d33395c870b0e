package kafka

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A read that does not answer does not hold the caller past wait; its
// result, once in, is served (a failure too) until maxAge has passed, and
// callers meanwhile share the one read.
func TestSampledWaitsBoundedAndShares(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	release := make(chan struct{})
	failing := errors.New("broker down")
	get := sampled(func(context.Context) (int, error) {
		n := reads.Add(1)
		if n == 1 {
			<-release // the first read hangs until released
			return 7, nil
		}
		return 0, failing
	}, time.Hour, 20*time.Millisecond)

	ctx := t.Context()
	for range 3 {
		if _, err := get(ctx); err == nil || !strings.Contains(err.Error(), "no answer within") {
			t.Fatalf("while the read hangs: %v, want no answer yet", err)
		}
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := get(ctx)
		if err == nil {
			if n != 7 {
				t.Fatalf("got %d, want 7", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the released read never came in: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	if n, err := get(ctx); n != 7 || err != nil || reads.Load() != 1 {
		t.Errorf("within maxAge: %d, %v after %d reads; want 7 from the one read", n, err, reads.Load())
	}

	// maxAge 0: every call reads, and a failure is reported as it is.
	fresh := sampled(func(context.Context) (int, error) { reads.Add(1); return 0, failing }, 0, time.Second)
	if _, err := fresh(ctx); !errors.Is(err, failing) {
		t.Errorf("failing read: %v, want its error", err)
	}
}
