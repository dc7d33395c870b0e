package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Read your writes: a command answers with its stream and the stream's new
// version; a query that passes them on waits until the projections behind
// it have applied that stream up to that version. A per-stream version is
// an exact token where a global position is not: Kafka delivers
// partitions (and so streams) in parallel, in no global order.

// StreamVersion is a read-your-writes token: a stream at a version.
type StreamVersion struct {
	Stream  string
	Version eventstore.Version
}

func (sv StreamVersion) String() string { return sv.Stream + ":" + strconv.FormatUint(sv.Version, 10) }

// ParseStreamVersion parses "STREAM:VERSION", as a command's result gives
// them (e.g. "teacher-8c0…:3"). The version is the part after the last
// colon, a positive integer.
func ParseStreamVersion(s string) (StreamVersion, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return StreamVersion{}, fmt.Errorf("%q is not STREAM:VERSION (e.g. teacher-1b4e…:3)", s)
	}
	v, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil || v == 0 {
		return StreamVersion{}, fmt.Errorf("%q: the version after the colon must be a positive integer", s)
	}
	return StreamVersion{Stream: s[:i], Version: v}, nil
}

// ErrNotYet is matched by WaitApplied's error when the timeout passed
// before the projections applied the tokens: the query should answer 503
// with Retry-After.
var ErrNotYet = errors.New("projections: not applied yet")

// WaitApplied waits until every named projection has applied every
// token's stream up to its version, or timeout passes (ErrNotYet), or ctx
// ends (its error). A projection that does not consume the stream's
// events of those versions has nothing to wait for: the events of other
// channels never reach it. Unknown names are an error (ErrUnknownProjection).
//
// It polls the projections' applied tables (every Config.WaitPoll): cheap
// key lookups, and no notification traffic on the apply path.
func (r *Registry) WaitApplied(ctx context.Context, projections []string, tokens []StreamVersion, timeout time.Duration) error {
	entries := make([]*entry, 0, len(projections))
	for _, n := range projections {
		e, err := r.entry(n)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 || len(tokens) == 0 {
		return nil
	}
	type wait struct {
		e        *entry
		streams  []string
		need     map[string]eventstore.Version // version still to reach, by stream
		resolved map[string]bool               // need narrowed to the projection's channels
	}
	waits := make([]*wait, len(entries))
	for i, e := range entries {
		w := &wait{e: e, need: map[string]eventstore.Version{}, resolved: map[string]bool{}}
		for _, t := range tokens {
			if t.Stream == "" || t.Version == 0 {
				return fmt.Errorf("projections: read-your-writes token %q has no stream or version", t.String())
			}
			if !e.follows(t.Stream) {
				continue // never applied: nothing to wait for
			}
			if t.Version > w.need[t.Stream] {
				if _, dup := w.need[t.Stream]; !dup {
					w.streams = append(w.streams, t.Stream)
				}
				w.need[t.Stream] = t.Version
			}
		}
		waits[i] = w
	}

	deadline := time.NewTimer(max(timeout, 0))
	defer deadline.Stop()
	poll := r.cfg.WaitPoll
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		pending := 0
		var behind string
		for _, w := range waits {
			if len(w.need) == 0 {
				continue
			}
			applied, err := r.appliedVersions(ctx, w.e, w.streams)
			if err != nil {
				return errors.Join(ctx.Err(), err)
			}
			for stream, need := range w.need {
				got := applied[stream]
				if got < need && !w.resolved[stream] {
					// Wait only for the versions the projection sees.
					need, err = r.lastConsumed(ctx, w.e, stream, got, need)
					if err != nil {
						return errors.Join(ctx.Err(), err)
					}
					w.need[stream], w.resolved[stream] = need, true
				}
				if got >= need {
					delete(w.need, stream)
					continue
				}
				pending++
				behind = fmt.Sprintf("projection %s has applied %s up to version %d of %d", w.e.name, stream, got, need)
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%w after %s: %s", ErrNotYet, timeout, behind)
		case <-time.After(poll):
		}
	}
}

// appliedVersions reads the versions e has applied of streams.
func (r *Registry) appliedVersions(ctx context.Context, e *entry, streams []string) (map[string]eventstore.Version, error) {
	rows, err := r.cfg.DB.Query(ctx, `SELECT stream_id, version FROM `+ident(e.live)+`.applied WHERE stream_id = ANY($1)`, streams)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined table: not set up yet, nothing applied
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projections: read what %s applied: %w", e.name, err)
	}
	defer rows.Close()
	out := make(map[string]eventstore.Version, len(streams))
	for rows.Next() {
		var s string
		var v int64
		if err := rows.Scan(&s, &v); err != nil {
			return nil, fmt.Errorf("projections: read what %s applied: %w", e.name, err)
		}
		out[s] = eventstore.Version(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: read what %s applied: %w", e.name, err)
	}
	return out, nil
}

// lastConsumed returns the last version in (applied, need] of stream whose
// event e consumes, or applied if none: what e will have applied once it
// has seen the token's events.
func (r *Registry) lastConsumed(ctx context.Context, e *entry, stream string, applied, need eventstore.Version) (eventstore.Version, error) {
	events, err := r.cfg.Store.ReadStream(ctx, stream, applied, int(min(need-applied, 1<<20)))
	if err != nil {
		return 0, fmt.Errorf("projections: read-your-writes: %w", err)
	}
	last := applied
	for _, ev := range events {
		if ev.Version <= need && e.wants(ev) {
			last = ev.Version
		}
	}
	return last, nil
}
