package kurrentdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// grpcCode is the gRPC status code inside a client error, codes.Unknown
// if there is none.
func grpcCode(err error) codes.Code {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return st.GRPCStatus().Code()
	}
	return codes.Unknown
}

// ReadStream implements eventstore.Store. A missing stream is reported by
// the read's first Recv (not by ReadStream) and reads as no events; any
// other failure is an error.
func (s *Store) ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	name := s.stored(stream)
	if _, ok := s.ours(name); !ok || stream == "" || after >= math.MaxInt64 {
		return nil, nil // a stream the store never writes, or beyond any stream
	}
	count := uint64(math.MaxInt64)
	if limit > 0 {
		count = uint64(limit)
	}
	var out []eventstore.RecordedEvent
	err := s.call(ctx, func(c *esdb.Client) error {
		out = out[:0]
		// Version after+1 is revision after: read from there.
		rs, err := c.ReadStream(ctx, name, esdb.ReadStreamOptions{From: esdb.Revision(after)}, count)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if isEOF(err) {
				return nil
			}
			if err != nil {
				return err
			}
			e, _, err := s.convert(ev)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
	})
	if hasCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("eventstore/kurrentdb: read stream %q: %w", stream, err)
	}
	return out, nil
}

// convert turns a read event into the port's, and reports whether the
// store shows it (its stream is the store's, its type not a system one).
func (s *Store) convert(ev *esdb.ResolvedEvent) (eventstore.RecordedEvent, bool, error) {
	e := ev.Event
	if e == nil {
		return eventstore.RecordedEvent{}, false, nil
	}
	stream, ok := s.ours(e.StreamID)
	if !ok || strings.HasPrefix(e.EventType, "$") {
		return eventstore.RecordedEvent{}, false, nil
	}
	if e.Position.Commit != e.Position.Prepare {
		return eventstore.RecordedEvent{}, false, fmt.Errorf("event %s of stream %q is at {commit %d, prepare %d}: written in an explicit transaction, it has no single-number position", e.EventID, e.StreamID, e.Position.Commit, e.Position.Prepare)
	}
	out := eventstore.RecordedEvent{
		ID:         e.EventID,
		StreamID:   stream,
		Version:    e.EventNumber + 1,
		Position:   e.Position.Commit,
		Type:       e.EventType,
		Data:       e.Data,
		RecordedAt: e.CreatedDate.UTC(),
	}
	if len(e.UserMetadata) > 0 {
		if err := json.Unmarshal(e.UserMetadata, &out.Metadata); err != nil {
			return eventstore.RecordedEvent{}, false, fmt.Errorf("metadata of event %s of stream %q: %w", e.EventID, e.StreamID, err)
		}
	}
	return out, true, nil
}

// filter is the server-side filter that keeps the store's events.
func (s *Store) filter() *esdb.SubscriptionFilter {
	if s.ns != "" {
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.ns + "/"}}
	}
	return esdb.ExcludeSystemEventsFilter()
}

// from resolves "after position p" to where a subscription starts: the
// start of $all, or {p, p} once p is known to be an event's position.
func (s *Store) from(ctx context.Context, p eventstore.Position) (esdb.AllPosition, error) {
	if p == 0 {
		return esdb.Start{}, nil
	}
	notFound := fmt.Errorf("%w: %d", eventstore.ErrPositionNotFound, p)
	if p > math.MaxInt64 {
		return nil, notFound // KurrentDB positions are int64
	}
	var ok bool
	err := s.call(ctx, func(c *esdb.Client) error {
		// Forward reads of $all include the event at the position they
		// start from: the first event must be at p exactly.
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Position{Commit: p, Prepare: p}}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		ev, err := rs.Recv()
		switch {
		case isEOF(err):
			return nil
		case err != nil:
			return err
		}
		ok = ev.Event != nil && ev.Event.Position.Commit == p && ev.Event.Position.Prepare == p
		return nil
	})
	switch {
	case err != nil && grpcCode(err) == codes.InvalidArgument:
		return nil, notFound // "Trying to read from an invalid position."
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("eventstore/kurrentdb: look up position %d: %w", p, err)
	case !ok:
		return nil, notFound
	}
	return esdb.Position{Commit: p, Prepare: p}, nil
}

// subscribe opens the filtered catch-up subscription to $all.
func (s *Store) subscribe(ctx context.Context, from esdb.AllPosition) (*esdb.Subscription, error) {
	// call may give up on ctx while op still runs (see call): op hands
	// the subscription over under a lock, and one opened after the caller
	// gave up is closed, not leaked.
	var (
		mu     sync.Mutex
		sub    *esdb.Subscription
		gaveUp bool
	)
	err := s.call(ctx, func(c *esdb.Client) error {
		got, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: s.filter()})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			got.Close()
			return nil
		}
		sub = got
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		gaveUp = true
		if sub != nil {
			sub.Close()
		}
		return nil, err
	}
	return sub, nil
}

// ReadAll implements eventstore.Store with a filtered catch-up
// subscription that ends at the limit or when it has caught up.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	from, err := s.from(ctx, after)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.subscribe(ctx, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("eventstore/kurrentdb: read $all: %w", err)
	}
	defer sub.Close()
	var out []eventstore.RecordedEvent
	for limit <= 0 || len(out) < limit {
		ev := sub.Recv()
		switch {
		case ev.EventAppeared != nil:
			e, show, err := s.convert(ev.EventAppeared)
			if err != nil {
				return nil, fmt.Errorf("eventstore/kurrentdb: read $all: %w", err)
			}
			if show {
				out = append(out, e)
			}
		case ev.CaughtUp != nil:
			return out, nil
		case ev.SubscriptionDropped != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("eventstore/kurrentdb: read $all: %w", ev.SubscriptionDropped.Error)
		}
	}
	return out, nil
}

// Head implements eventstore.Store: it reads $all backwards from its end
// to the first event the store shows.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var from esdb.AllPosition = esdb.End{}
	for {
		var head eventstore.Position
		var n int
		var last esdb.Position
		err := s.call(ctx, func(c *esdb.Client) error {
			n = 0
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, readPage)
			if err != nil {
				return err
			}
			defer rs.Close()
			for {
				ev, err := rs.Recv()
				if isEOF(err) {
					return nil
				}
				if err != nil {
					return err
				}
				n++
				last = ev.Event.Position
				e, show, err := s.convert(ev)
				if err != nil {
					return err
				}
				if show {
					head = e.Position
					return nil
				}
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("eventstore/kurrentdb: head: %w", err)
		}
		if head != 0 || n < readPage {
			return head, nil
		}
		from = last // backward reads exclude the position they start from
	}
}

// Ping checks that the server answers a read of $all.
func (s *Store) Ping(ctx context.Context) error {
	return s.call(ctx, func(c *esdb.Client) error {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		if _, err := rs.Recv(); err != nil && !isEOF(err) {
			return err
		}
		return nil
	})
}

// handlerError carries the handler's error out of follow unchanged.
type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

// SubscribeAll implements eventstore.Store. A dropped subscription is
// resumed from the last position seen; see the package doc.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, fn func(context.Context, eventstore.RecordedEvent) error) error {
	from, err := s.from(ctx, after)
	if err != nil {
		return err
	}
	delivered := after // commit position of the last event handed to fn
	failures := 0
	for {
		progressed, err := s.follow(ctx, &from, &delivered, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var h handlerError
		if errors.As(err, &h) {
			return h.err // as is
		}
		if permanent(err) || s.closed.Load() {
			return fmt.Errorf("eventstore/kurrentdb: subscription to $all: %w", err)
		}
		if progressed {
			failures = 0
		}
		failures++
		if failures > s.retries {
			return fmt.Errorf("eventstore/kurrentdb: subscription to $all dropped %d times in a row: %w", failures, err)
		}
		wait := min(s.backoff<<(failures-1), 5*time.Second)
		s.logger.Warn("kurrentdb: subscription to $all dropped; resuming", "after", describe(from), "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// follow runs one subscription until it drops. from advances with every
// event and checkpoint; delivered with every event handed to fn.
func (s *Store) follow(ctx context.Context, from *esdb.AllPosition, delivered *eventstore.Position, fn func(context.Context, eventstore.RecordedEvent) error) (progressed bool, err error) {
	sub, err := s.subscribe(ctx, *from)
	if err != nil {
		return false, err
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.EventAppeared != nil:
			progressed = true
			p := ev.EventAppeared.Event.Position
			*from = p
			e, show, err := s.convert(ev.EventAppeared)
			if err != nil {
				return progressed, handlerError{fmt.Errorf("eventstore/kurrentdb: subscription to $all: %w", err)}
			}
			// Positions only grow; the guard keeps a resumed
			// subscription from handing an event over twice.
			if !show || (*delivered != 0 && p.Commit <= *delivered) {
				continue
			}
			if err := fn(ctx, e); err != nil {
				return progressed, handlerError{err}
			}
			*delivered = p.Commit
		case ev.CheckPointReached != nil:
			progressed = true
			if cp := *ev.CheckPointReached; after(cp, *from) {
				*from = cp
			}
		case ev.CaughtUp != nil, ev.FellBehind != nil:
			progressed = true
		case ev.SubscriptionDropped != nil:
			return progressed, ev.SubscriptionDropped.Error
		}
	}
}

// after reports whether position a is later in $all than from.
func after(a esdb.Position, from esdb.AllPosition) bool {
	p, ok := from.(esdb.Position)
	if !ok {
		return true // from is the start
	}
	return a.Commit > p.Commit || (a.Commit == p.Commit && a.Prepare > p.Prepare)
}

func describe(p esdb.AllPosition) string {
	if pos, ok := p.(esdb.Position); ok {
		return fmt.Sprintf("{commit %d, prepare %d}", pos.Commit, pos.Prepare)
	}
	return "the start"
}

// permanent reports errors that resubscribing cannot cure.
func permanent(err error) bool {
	switch {
	case hasCode(err, esdb.ErrorCodeAccessDenied), hasCode(err, esdb.ErrorCodeUnauthenticated):
		return true
	}
	switch grpcCode(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented:
		return true
	}
	return false
}
