package kurrentdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

const (
	// claimPrefix names the streams that claim event IDs.
	claimPrefix = "edusmarthub-eventid-"
	// claimType is the type of a claim's event: $-prefixed, so readers
	// that exclude system events never see it.
	claimType = "$edusmarthub-event-id"
	// maxParallelClaims bounds the concurrent claim appends of one Append.
	maxParallelClaims = 8
	// readPage is how many events a backward scan reads per request.
	readPage = 256
)

// Option configures a Store.
type Option func(*Store)

// WithLogger logs reconnects (warn) and the client library's messages
// (debug) to l.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithNamespace keeps the store's streams under <ns>/ and shows only them
// in ReadAll, SubscribeAll and Head. ns must not be empty, contain "/" or
// start with "$".
func WithNamespace(ns string) Option { return func(s *Store) { s.ns = ns } }

// WithRetry sets how often in a row a dropped subscription is resumed
// without progress before SubscribeAll gives up (default 10), and the
// first backoff (default 100ms, doubling up to 5s).
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(s *Store) {
		if attempts > 0 {
			s.retries = attempts
		}
		if backoff > 0 {
			s.backoff = backoff
		}
	}
}

// Store is the KurrentDB event store.
type Store struct {
	cfg     esdb.Configuration
	logger  *slog.Logger
	ns      string
	retries int
	backoff time.Duration

	mu     sync.Mutex // guards client renewal
	client atomic.Pointer[esdb.Client]
	closed atomic.Bool
}

var _ eventstore.Store = (*Store)(nil)

// Open returns a store on the KurrentDB that url names (see ParseURL). It
// does not connect yet: the first call does, and Ping checks the server.
func Open(url string, opts ...Option) (*Store, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts...)
}

// New returns a store with the client configuration cfg.
func New(cfg *esdb.Configuration, opts ...Option) (*Store, error) {
	s := &Store{cfg: *cfg, logger: slog.New(slog.DiscardHandler), retries: 10, backoff: 100 * time.Millisecond}
	for _, o := range opts {
		o(s)
	}
	if s.ns != "" && (strings.Contains(s.ns, "/") || strings.HasPrefix(s.ns, "$")) {
		return nil, fmt.Errorf("eventstore/kurrentdb: namespace %q must not contain / or start with $", s.ns)
	}
	logger := s.logger
	s.cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		logger.Debug("kurrentdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
	c, err := esdb.NewClient(&s.cfg)
	if err != nil {
		return nil, fmt.Errorf("eventstore/kurrentdb: %w", err)
	}
	s.client.Store(c)
	return s, nil
}

// Close closes the connection. Running calls fail.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client.Load().Close()
}

// schemes maps the connection-string schemes KurrentDB's clients accept
// to those client v4.2.0 parses (it predates the rename).
var schemes = map[string]string{
	"esdb": "esdb", "esdb+discover": "esdb+discover",
	"kurrentdb": "esdb", "kurrentdb+discover": "esdb+discover",
	"kdb": "esdb", "kdb+discover": "esdb+discover",
}

// ParseURL parses a KurrentDB connection string: esdb://, kurrentdb://
// or kdb:// (and their +discover forms for clusters), e.g.
// kurrentdb://admin:changeit@localhost:2113?tls=false.
func ParseURL(s string) (*esdb.Configuration, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	mapped, known := schemes[strings.ToLower(scheme)]
	if !ok || !known {
		return nil, errors.New("not a KurrentDB connection string: want esdb://, kurrentdb:// or kdb:// (+discover for a cluster)")
	}
	cfg, err := esdb.ParseConnectionString(mapped + "://" + rest)
	if err != nil {
		return nil, fmt.Errorf("KurrentDB connection string: %w", redactErr(err, s))
	}
	return cfg, nil
}

// redactErr keeps a password in the connection string out of an error.
// The string may not parse as a URL, so the password is found by hand:
// between the first ":" of the user info and its "@".
func redactErr(err error, s string) error {
	_, rest, _ := strings.Cut(s, "://")
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return err
	}
	if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// cli returns the current client.
func (s *Store) cli() *esdb.Client { return s.client.Load() }

// renew replaces old with a fresh client. Client v4.2.0 closes itself for
// good when it fails to find the server (after ten quick attempts); a
// server that is down for a while must not leave the store unusable. The
// old client is dropped, not closed: a call of it may be blocked sending
// to its (exited) connection goroutine, and closing would make that send
// panic.
func (s *Store) renew(old *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.client.Load() != old {
		return
	}
	c, err := esdb.NewClient(&s.cfg)
	if err != nil {
		return // the configuration was valid before: cannot happen
	}
	s.client.Store(c)
	s.logger.Warn("kurrentdb: client gave up reaching the server; starting a new one")
}

// callAttempts bounds the attempts of one operation on transient errors.
const callAttempts = 5

// call runs op with the current client, again (up to callAttempts, with
// backoff) when the server was unreachable or not the leader, and with a
// fresh client when the old one closed itself. Every operation is safe to
// repeat: reads are, and appends carry event IDs (see the package doc).
//
// op runs on a goroutine of its own and call returns when ctx ends even
// if op does not: client v4.2.0 can block a call for good after it gave
// up on the server (a send to its connection goroutine that has exited).
func (s *Store) call(ctx context.Context, op func(*esdb.Client) error) error {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c := s.cli()
		done := make(chan error, 1)
		go func() { done <- op(c) }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err == nil || s.closed.Load() || ctx.Err() != nil || attempt == callAttempts || !transient(err) {
			return err
		}
		if hasCode(err, esdb.ErrorCodeConnectionClosed) {
			s.renew(c)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// transient reports errors after which the same call may succeed.
func transient(err error) bool {
	return hasCode(err, esdb.ErrorUnavailable) || hasCode(err, esdb.ErrorCodeNotLeader) ||
		hasCode(err, esdb.ErrorCodeConnectionClosed) || grpcCode(err) == codes.Unavailable
}

func hasCode(err error, code esdb.ErrorCode) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == code
}

// stored is the KurrentDB stream name of stream.
func (s *Store) stored(stream string) string {
	if s.ns == "" {
		return stream
	}
	return s.ns + "/" + stream
}

// ours returns the port's name of a KurrentDB stream, and false for
// streams the store does not own.
func (s *Store) ours(name string) (string, bool) {
	if strings.HasPrefix(name, "$") || strings.HasPrefix(name, claimPrefix) {
		return "", false
	}
	if s.ns == "" {
		return name, true
	}
	return strings.CutPrefix(name, s.ns+"/")
}

func (s *Store) claimStream(id uuid.UUID) string {
	if s.ns == "" {
		return claimPrefix + id.String()
	}
	return claimPrefix + s.ns + "-" + id.String()
}

// storedMeta is the user metadata of an event: the port's Metadata plus
// KurrentDB's names for correlation and causation.
type storedMeta struct {
	eventstore.Metadata
	KurrentCorrelationID string `json:"$correlationId,omitempty"`
	KurrentCausationID   string `json:"$causationId,omitempty"`
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	var res eventstore.AppendResult
	if err := eventstore.Validate(stream, events); err != nil {
		return res, err
	}
	if s.ns == "" && (strings.HasPrefix(stream, "$") || strings.HasPrefix(stream, claimPrefix)) {
		return res, fmt.Errorf("%w: stream %q: names starting with $ or %s are KurrentDB's or the adapter's own", eventstore.ErrInvalidAppend, stream, claimPrefix)
	}
	name := s.stored(stream)
	ids := make([]uuid.UUID, len(events))
	proposed := make([]esdb.EventData, len(events))
	for i, e := range events {
		if !json.Valid(e.Data) {
			return res, fmt.Errorf("%w: event %d of stream %q: data is not valid JSON", eventstore.ErrInvalidAppend, i, stream)
		}
		if strings.HasPrefix(e.Type, "$") {
			return res, fmt.Errorf("%w: event %d of stream %q: type %q starts with $, which marks KurrentDB's system events", eventstore.ErrInvalidAppend, i, stream, e.Type)
		}
		meta, err := json.Marshal(storedMeta{Metadata: e.Metadata, KurrentCorrelationID: e.Metadata.CorrelationID, KurrentCausationID: e.Metadata.CausationID})
		if err != nil {
			return res, fmt.Errorf("eventstore/kurrentdb: encode metadata of event %d: %w", i, err)
		}
		ids[i] = e.ID
		proposed[i] = esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: meta}
	}

	claimedBefore, err := s.claim(ctx, name, stream, ids)
	if err != nil {
		return res, err
	}
	if claimedBefore {
		res, done, err := s.repeatedAppend(ctx, name, stream, ids)
		if err != nil || done {
			return res, err
		}
	}

	var wr *esdb.WriteResult
	err = s.call(ctx, func(c *esdb.Client) error {
		var err error
		wr, err = c.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}, proposed...)
		return err
	})
	if hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		actual, aerr := s.actualVersion(ctx, name, err)
		if aerr != nil {
			return res, fmt.Errorf("eventstore/kurrentdb: append to stream %q: %w (and reading its version: %w)", stream, err, aerr)
		}
		return res, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
	}
	if err != nil {
		return res, fmt.Errorf("eventstore/kurrentdb: append to stream %q: %w", stream, err)
	}
	res.Version = wr.NextExpectedVersion + 1
	if wr.CommitPosition != wr.PreparePosition {
		return res, fmt.Errorf("eventstore/kurrentdb: append to stream %q answered position {commit %d, prepare %d}: not one number", stream, wr.CommitPosition, wr.PreparePosition)
	}
	res.Position = wr.CommitPosition
	if res.Position == 0 {
		// No position in the answer (an idempotent write whose event the
		// server could not read back yet): read it.
		if res.Position, err = s.positionOf(ctx, name, wr.NextExpectedVersion); err != nil {
			return res, fmt.Errorf("eventstore/kurrentdb: append to stream %q: position of its last event: %w", stream, err)
		}
	}
	return res, nil
}

// expectedRevision maps an expected version to KurrentDB's. A version
// beyond int64 is one no stream is at: ask for the largest revision
// KurrentDB takes, which conflicts the same way (KurrentDB reads revisions
// as int64, and large ones would turn into its negative sentinels).
func expectedRevision(e eventstore.ExpectedVersion) esdb.ExpectedRevision {
	v, ok := e.Version()
	switch {
	case !ok:
		return esdb.Any{}
	case v == 0:
		return esdb.NoStream{}
	default:
		return esdb.Revision(min(v-1, math.MaxInt64))
	}
}

// claim claims ids for the stream name. claimedBefore reports whether a
// claim of one of them (for this stream) existed already.
func (s *Store) claim(ctx context.Context, name, stream string, ids []uuid.UUID) (claimedBefore bool, err error) {
	data, err := json.Marshal(struct {
		Stream string `json:"stream"`
	}{name})
	if err != nil {
		return false, err
	}
	var (
		mu   sync.Mutex
		errs []error
		seen bool
		wg   sync.WaitGroup
		sem  = make(chan struct{}, maxParallelClaims)
	)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			existed, err := s.claimOne(ctx, name, stream, id, data)
			mu.Lock()
			defer mu.Unlock()
			seen = seen || existed
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		// An invalid append outranks a failure to reach the server.
		for _, e := range errs {
			if errors.Is(e, eventstore.ErrInvalidAppend) {
				return false, e
			}
		}
		return false, errs[0]
	}
	return seen, nil
}

func (s *Store) claimOne(ctx context.Context, name, stream string, id uuid.UUID, data []byte) (existed bool, err error) {
	claim := s.claimStream(id)
	err = s.call(ctx, func(c *esdb.Client) error {
		// A fresh event ID per attempt: a claim that exists always
		// conflicts, so the adapter knows it was not made just now.
		_, err := c.AppendToStream(ctx, claim, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}},
			esdb.EventData{EventID: uuid.New(), EventType: claimType, ContentType: esdb.ContentTypeJson, Data: data})
		return err
	})
	if err == nil {
		return false, nil
	}
	if !hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return false, fmt.Errorf("eventstore/kurrentdb: claim event ID %s: %w", id, err)
	}
	owner, err := s.claimOwner(ctx, claim)
	if err != nil {
		return false, fmt.Errorf("eventstore/kurrentdb: read the claim of event ID %s: %w", id, err)
	}
	if owner != name {
		other := owner
		if o, ok := s.ours(owner); ok {
			other = o
		}
		return true, fmt.Errorf("%w: event ID %s is already stored in stream %q, not %q", eventstore.ErrInvalidAppend, id, other, stream)
	}
	return true, nil
}

// claimOwner reads the stream a claim names.
func (s *Store) claimOwner(ctx context.Context, claim string) (string, error) {
	var owner string
	err := s.call(ctx, func(c *esdb.Client) error {
		rs, err := c.ReadStream(ctx, claim, esdb.ReadStreamOptions{From: esdb.Start{}}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		ev, err := rs.Recv()
		if err != nil {
			return err
		}
		var body struct {
			Stream string `json:"stream"`
		}
		if err := json.Unmarshal(ev.Event.Data, &body); err != nil || body.Stream == "" {
			return fmt.Errorf("claim stream %s holds no stream name", claim)
		}
		owner = body.Stream
		return nil
	})
	if err != nil {
		return "", err // op may still run (see call): owner is not ours to read
	}
	return owner, nil
}

// found is where an event ID is stored in a stream.
type found struct {
	rev, pos uint64
}

// repeatedAppend handles an append some of whose IDs were claimed for
// this stream before: if all of them are its events, consecutive and in
// this order, it answers with those (done); if none is stored, the caller
// appends; anything in between is an invalid append.
func (s *Store) repeatedAppend(ctx context.Context, name, stream string, ids []uuid.UUID) (eventstore.AppendResult, bool, error) {
	var res eventstore.AppendResult
	at, err := s.locate(ctx, name, ids)
	if err != nil {
		return res, false, fmt.Errorf("eventstore/kurrentdb: append to stream %q: looking for its event IDs: %w", stream, err)
	}
	if len(at) == 0 {
		return res, false, nil
	}
	first, firstOK := at[ids[0]]
	for i, id := range ids {
		f, ok := at[id]
		switch {
		case !ok:
			return res, false, fmt.Errorf("%w: stream %q: event %d (ID %s) is new but others of the append are stored already; an append is a no-op only when all its events are stored, in the same order", eventstore.ErrInvalidAppend, stream, i, id)
		case !firstOK || f.rev != first.rev+uint64(i):
			return res, false, fmt.Errorf("%w: stream %q: event ID %s (event %d of the append) is already stored as version %d, not in the order of the append", eventstore.ErrInvalidAppend, stream, id, i, f.rev+1)
		}
		res = eventstore.AppendResult{Version: f.rev + 1, Position: f.pos}
	}
	return res, true, nil
}

// locate reads the stream newest first until it has found every ID (a
// retry's events are usually the last ones) or reached the start.
func (s *Store) locate(ctx context.Context, name string, ids []uuid.UUID) (map[uuid.UUID]found, error) {
	want := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	at := make(map[uuid.UUID]found, len(ids))
	var from esdb.StreamPosition = esdb.End{}
	for {
		n := 0
		var last uint64
		err := s.call(ctx, func(c *esdb.Client) error {
			n = 0
			rs, err := c.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: from}, readPage)
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
				e := ev.Event
				last = e.EventNumber
				if want[e.EventID] {
					at[e.EventID] = found{rev: e.EventNumber, pos: e.Position.Commit}
				}
			}
		})
		if hasCode(err, esdb.ErrorCodeResourceNotFound) {
			return at, nil // no stream: nothing stored
		}
		if err != nil {
			return nil, err
		}
		if len(at) == len(ids) || n < readPage || last == 0 {
			return at, nil
		}
		from = esdb.Revision(last - 1)
	}
}

// wrongVersionRE finds the stream's revision in client v4.2.0's
// wrong-expected-version error ("... but got '7'" or "'no_stream'").
var wrongVersionRE = regexp.MustCompile(`but got '([^']*)'`)

// actualVersion is the stream's version a conflict reported, or, if the
// error does not say, the stream's version now.
func (s *Store) actualVersion(ctx context.Context, name string, err error) (eventstore.Version, error) {
	if m := wrongVersionRE.FindStringSubmatch(err.Error()); m != nil {
		if m[1] == "no_stream" {
			return 0, nil
		}
		if rev, perr := strconv.ParseUint(m[1], 10, 64); perr == nil {
			return rev + 1, nil
		}
	}
	var v eventstore.Version
	rerr := s.call(ctx, func(c *esdb.Client) error {
		rs, err := c.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		ev, err := rs.Recv()
		switch {
		case isEOF(err), hasCode(err, esdb.ErrorCodeResourceNotFound):
			v = 0
			return nil
		case err != nil:
			return err
		}
		v = ev.Event.EventNumber + 1
		return nil
	})
	if rerr != nil {
		return 0, rerr // op may still run (see call): v is not ours to read
	}
	return v, nil
}

// positionOf reads the position of a stream's event.
func (s *Store) positionOf(ctx context.Context, name string, rev uint64) (uint64, error) {
	var pos uint64
	err := s.call(ctx, func(c *esdb.Client) error {
		rs, err := c.ReadStream(ctx, name, esdb.ReadStreamOptions{From: esdb.Revision(rev)}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		ev, err := rs.Recv()
		if err != nil {
			return err
		}
		pos = ev.Event.Position.Commit
		return nil
	})
	if err != nil {
		return 0, err // op may still run (see call): pos is not ours to read
	}
	return pos, nil
}
