package main

import (
	"runtime"
	"testing"
)

// serve doubles Go's default once, however many times it starts in a
// process, and leaves GOMAXPROCS alone when the environment sets it.
func TestSchedulerHeadroom(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	for range 2 {
		if got := schedulerHeadroom(map[string]string{}); got != 2*defaultProcs {
			t.Fatalf("GOMAXPROCS = %d, want %d (twice the default %d)", got, 2*defaultProcs, defaultProcs)
		}
	}
	runtime.GOMAXPROCS(3)
	if got := schedulerHeadroom(map[string]string{"GOMAXPROCS": "3"}); got != 3 {
		t.Fatalf("GOMAXPROCS = %d with GOMAXPROCS=3 set, want 3", got)
	}
}
