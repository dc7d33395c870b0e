// Package sagatest holds helpers for tests of sagas: a clock the test
// moves by hand, shared by the saga runtime and the commands repository.
package sagatest

import (
	"sync"
	"time"
)

// Start is the time a zero Clock reads: a Monday morning, in UTC.
var Start = time.Date(2026, time.September, 7, 8, 0, 0, 0, time.UTC)

// Clock is a clock that moves only when told (Set, Advance); safe for
// concurrent use. Its zero value reads Start.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time (in UTC).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = Start
	}
	return c.t.UTC()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = Start
	}
	c.t = c.t.Add(d)
	return c.t.UTC()
}
