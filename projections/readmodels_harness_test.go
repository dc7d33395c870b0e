package projections_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Most tests feed the read models through the runner (Registry.Apply).
// Tests that apply hand-made events to one projection, in several arrival
// orders each into a schema of its own, use a test-only feeder instead: it
// creates each projection's schema under a prefix ("rm_" is the live one
// the query functions read) and applies events one per transaction with
// SET LOCAL search_path, skipping stream versions already applied, as the
// runner does.

func setupSchemas(t *testing.T, pool *pgxpool.Pool, prefix string, ps []projections.Projection) {
	t.Helper()
	ctx := context.Background()
	for _, p := range ps {
		schema := prefix + p.Name()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stmts := []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
			"SET LOCAL search_path = " + pgx.Identifier{schema}.Sanitize() + ", public",
			`CREATE TABLE IF NOT EXISTS applied (stream_id text PRIMARY KEY, version bigint NOT NULL,
			    position bigint NOT NULL, applied_at timestamptz)`,
			p.Schema(),
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				t.Fatalf("%s: schema: %v", p.Name(), err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// applyEvent applies one event to one projection, once per stream version.
func applyEvent(ctx context.Context, pool *pgxpool.Pool, prefix string, p projections.Projection, e eventstore.RecordedEvent) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = "+pgx.Identifier{prefix + p.Name()}.Sanitize()+", public"); err != nil {
		return err
	}
	var applied int64
	err = tx.QueryRow(ctx, `SELECT version FROM applied WHERE stream_id = $1 FOR UPDATE`, e.StreamID).Scan(&applied)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	if uint64(applied) >= e.Version {
		return nil
	}
	if uint64(applied)+1 != e.Version {
		return fmt.Errorf("%s: gap before %s version %d (applied %d)", p.Name(), e.StreamID, e.Version, applied)
	}
	if err := p.Apply(ctx, tx, e); err != nil {
		return fmt.Errorf("%s: apply %s %s v%d: %w", p.Name(), e.Type, e.StreamID, e.Version, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO applied (stream_id, version, position, applied_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, position = excluded.position, applied_at = excluded.applied_at`,
		e.StreamID, int64(e.Version), int64(e.Position), e.RecordedAt); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// consumes reports whether p subscribes to the event's channel.
func consumes(p projections.Projection, e eventstore.RecordedEvent) bool {
	ch, ok := domain.ChannelOf(e.Type)
	return ok && slices.Contains(p.Channels(), ch)
}

// readAll returns the store's whole log. The log shows an event once every
// older transaction in the cluster has ended (parallel tests run some), so
// it waits until the log shows every event committed so far.
func readAll(t *testing.T, pool *pgxpool.Pool, store eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	var committed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&committed); err != nil {
		t.Fatal(err)
	}
	var out []eventstore.RecordedEvent
	var after eventstore.Position
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < committed {
		batch, err := store.ReadAll(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the log shows %d of %d events", len(out), committed)
			}
			time.Sleep(2 * time.Millisecond)
			continue
		}
		out = append(out, batch...)
		after = batch[len(batch)-1].Position
	}
	return out
}

// newRegistry returns the runner over db with every read model, set up
// (empty schemas) while the store is still empty, so nothing is built
// from the log behind the test's back.
func newRegistry(t *testing.T, db *pgxpool.Pool, store eventstore.Store) *projections.Registry {
	t.Helper()
	reg, err := projections.NewRegistry(projections.Config{DB: db, Store: store}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return reg
}

// deliver hands events to the runner as the Kafka consumers do: each to
// every projection that consumes its channel.
func deliver(t *testing.T, reg *projections.Registry, events []eventstore.RecordedEvent) {
	t.Helper()
	for _, e := range events {
		for _, p := range reg.Projections() {
			if !consumes(p, e) {
				continue
			}
			if err := reg.Apply(context.Background(), p.Name(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// registrySums is the checksum of every table of every read model.
func registrySums(t *testing.T, reg *projections.Registry) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range reg.Names() {
		sums, err := reg.Checksums(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for table, sum := range sums {
			out[name+"."+table] = sum
		}
	}
	return out
}

// interleave returns the events in another order that keeps each stream's
// order: streams are drawn at random (seeded), each draw taking the
// stream's next event.
func interleave(events []eventstore.RecordedEvent, seed uint64) []eventstore.RecordedEvent {
	byStream := map[string][]eventstore.RecordedEvent{}
	var streams []string
	for _, e := range events {
		if _, ok := byStream[e.StreamID]; !ok {
			streams = append(streams, e.StreamID)
		}
		byStream[e.StreamID] = append(byStream[e.StreamID], e)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]eventstore.RecordedEvent, 0, len(events))
	for len(streams) > 0 {
		i := r.IntN(len(streams))
		s := streams[i]
		out = append(out, byStream[s][0])
		byStream[s] = byStream[s][1:]
		if len(byStream[s]) == 0 {
			streams = slices.Delete(streams, i, i+1)
		}
	}
	return out
}

// checksums returns, per table of the projections' schemas (the applied
// table excepted), an md5 of its rows in a canonical order.
func checksums(t *testing.T, pool *pgxpool.Pool, prefix string, ps []projections.Projection) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, p := range ps {
		schema := prefix + p.Name()
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
WHERE table_schema = $1 AND table_name <> 'applied' ORDER BY table_name`, schema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tables {
			var sum, n string
			q := fmt.Sprintf(`SELECT coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), ''), count(*)::text FROM %s.%s x`,
				pgx.Identifier{schema}.Sanitize(), pgx.Identifier{tbl}.Sanitize())
			if err := pool.QueryRow(ctx, q).Scan(&sum, &n); err != nil {
				t.Fatal(err)
			}
			out[p.Name()+"."+tbl] = n + ":" + sum
		}
	}
	return out
}

func diffSums(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %s vs %s", k, v, b[k]))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+": missing")
		}
	}
	slices.Sort(d)
	return strings.Join(d, "\n")
}
