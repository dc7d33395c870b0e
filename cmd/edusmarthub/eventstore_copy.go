package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/config"
)

// copyGroupMax bounds the events of one append to the target (KurrentDB
// refuses appends over 1 MiB by default).
const (
	copyGroupMax   = 100
	copyGroupBytes = 512 << 10
)

func (a *app) eventstoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eventstore",
		Short: "Event store maintenance",
		Args:  cobra.NoArgs,
	}
	var o copyOptions
	cp := &cobra.Command{
		Use:   "copy --from postgres|kurrentdb --to kurrentdb|postgres",
		Short: "Copy every event from one event store to the other",
		Long: `Copy the whole event log from one store to the other: PostgreSQL (the
events table in DATABASE_URL's database, or the embedded cluster) and
KurrentDB (KURRENTDB_URL). Every stream keeps its name, its events their IDs,
types, data, metadata and versions; streams and the global log keep their
order. The time an event was recorded is the copy's time in the target.

Run it with the service stopped: it copies the log as it is when the copy
starts. The copy is resumable: after every batch it records the last source
position copied (table checkpoints, in the PostgreSQL database), and a new run
continues after it. Appends carry the source's event IDs and expected
versions, so a batch copied twice is stored once, and a target that does not
match the source stops the copy with a conflict. --restart ignores the
checkpoint (for an emptied target).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, logger, err := a.setup()
			if err != nil {
				return err
			}
			if cfg.KurrentDBURL == "" {
				return errors.New("KURRENTDB_URL is not set: it names the KurrentDB side of the copy")
			}
			ctx := cmd.Context()
			db, err := openDatabase(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, db.Close()) }()
			if err := migrate(ctx, db, logger); err != nil {
				return err
			}
			kdb, err := openKurrentDB(ctx, cfg.KurrentDBURL, logger)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, kdb.Close()) }()
			stores := map[string]eventstore.Store{config.EventStorePostgres: postgres.New(db.Pool), config.EventStoreKurrentDB: kdb}
			o.name = "eventstore-copy:" + o.from + "->" + o.to + "@" + kurrentAddress(cfg.KurrentDBURL)
			stats, err := copyEvents(ctx, stores[o.from], stores[o.to], pgCheckpoints{db.Pool}, o, a.stderr)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "copied %d events from %s to %s in %s (%.0f events/s); the target holds the source's log up to position %d\n",
				stats.copied, o.from, o.to, stats.took.Round(time.Millisecond), stats.rate(), stats.upTo)
			return err
		},
	}
	cp.Flags().StringVar(&o.from, "from", "", "source store: postgres or kurrentdb")
	cp.Flags().StringVar(&o.to, "to", "", "target store: kurrentdb or postgres")
	cp.Flags().IntVar(&o.batch, "batch", 500, "events read from the source per batch (the checkpoint moves once per batch)")
	cp.Flags().Int64Var(&o.limit, "limit", 0, "copy at most this many events in this run, then stop (resume with another run); 0: all")
	cp.Flags().BoolVar(&o.restart, "restart", false, "start from the beginning of the source, ignoring the checkpoint of an earlier run")
	cp.Flags().BoolVar(&o.quiet, "quiet", false, "no progress bar")
	cmd.AddCommand(cp)
	return cmd
}

// kurrentAddress names the KurrentDB of a copy in its checkpoint, without
// credentials, so a copy to another server does not resume this one's.
func kurrentAddress(url string) string {
	cfg, err := kurrentdb.ParseURL(url)
	if err != nil {
		return "?"
	}
	if cfg.Address != "" {
		return cfg.Address
	}
	var seeds []string
	for _, s := range cfg.GossipSeeds {
		seeds = append(seeds, s.String())
	}
	return strings.Join(seeds, ",")
}

type copyOptions struct {
	from, to string
	batch    int
	limit    int64
	restart  bool
	quiet    bool
	name     string // the checkpoint's
}

func (o copyOptions) validate() error {
	var errs []error
	valid := func(flag, v string) {
		if v != config.EventStorePostgres && v != config.EventStoreKurrentDB {
			errs = append(errs, fmt.Errorf("--%s %q: want postgres or kurrentdb", flag, v))
		}
	}
	valid("from", o.from)
	valid("to", o.to)
	if o.from == o.to && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("--from and --to are both %s: copy from one store to the other", o.from))
	}
	if o.batch < 1 || o.batch > 100_000 {
		errs = append(errs, fmt.Errorf("--batch %d: want 1 to 100000", o.batch))
	}
	if o.limit < 0 {
		errs = append(errs, fmt.Errorf("--limit %d: want 0 (all) or more", o.limit))
	}
	return errors.Join(errs...)
}

// checkpointStore keeps how far a copy has got.
type checkpointStore interface {
	load(ctx context.Context, name string) (eventstore.Position, error)
	save(ctx context.Context, name string, p eventstore.Position) error
}

// pgCheckpoints keeps them in the checkpoints table (migrations 00003).
type pgCheckpoints struct{ pool *pgxpool.Pool }

func (c pgCheckpoints) load(ctx context.Context, name string) (eventstore.Position, error) {
	var p int64
	err := c.pool.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = $1`, name).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the copy's checkpoint: %w", err)
	}
	return eventstore.Position(p), nil
}

func (c pgCheckpoints) save(ctx context.Context, name string, p eventstore.Position) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`, name, int64(p))
	if err != nil {
		return fmt.Errorf("save the copy's checkpoint: %w", err)
	}
	return nil
}

type copyStats struct {
	copied int64               // events copied by this run
	upTo   eventstore.Position // the source position the target is copied up to
	took   time.Duration
}

func (s copyStats) rate() float64 {
	if s.took <= 0 {
		return 0
	}
	return float64(s.copied) / s.took.Seconds()
}

// copyEvents copies the events of src's log after the checkpoint to dst,
// in log order, and moves the checkpoint after every batch.
func copyEvents(ctx context.Context, src, dst eventstore.Store, cps checkpointStore, o copyOptions, progress io.Writer) (copyStats, error) {
	var stats copyStats
	start := time.Now()
	after, err := cps.load(ctx, o.name)
	if err != nil {
		return stats, err
	}
	if o.restart {
		after = 0
	}
	if after != 0 {
		// A checkpoint with an empty target: the target was replaced.
		if head, err := dst.Head(ctx); err != nil {
			return stats, fmt.Errorf("target: %w", err)
		} else if head == 0 {
			return stats, fmt.Errorf("the checkpoint %q says the copy got to source position %d, but the target is empty; rerun with --restart", o.name, after)
		}
	}
	// The log as it is now: stop after its last event.
	goal, err := src.Head(ctx)
	if err != nil {
		return stats, fmt.Errorf("source: %w", err)
	}
	stats.upTo = after
	if goal == 0 || goal == after {
		return stats, nil // nothing (more) to copy
	}
	remaining, err := countAfter(ctx, src, after, goal)
	if err != nil {
		return stats, err
	}
	if o.limit > 0 {
		remaining = min(remaining, o.limit)
	}
	bar := newCopyBar(remaining, progress, o.quiet)
	defer func() { _ = bar.Finish() }()

	for stats.copied < remaining {
		n := o.batch
		if o.limit > 0 {
			n = int(min(int64(n), o.limit-stats.copied))
		}
		batch, err := src.ReadAll(ctx, after, n)
		if err != nil {
			return stats, fmt.Errorf("source: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for i, e := range batch {
			if e.Position == goal {
				batch = batch[:i+1]
				break
			}
		}
		if err := appendInOrder(ctx, dst, batch); err != nil {
			return stats, err
		}
		after = batch[len(batch)-1].Position
		if err := cps.save(ctx, o.name, after); err != nil {
			return stats, err
		}
		stats.copied += int64(len(batch))
		_ = bar.Add64(int64(len(batch)))
		if after == goal {
			break
		}
	}
	stats.took, stats.upTo = time.Since(start), after
	return stats, nil
}

// countAfter counts the events of src's log after position after, up to
// goal, so the progress bar has a total (and an ETA).
func countAfter(ctx context.Context, src eventstore.Store, after, goal eventstore.Position) (int64, error) {
	var n int64
	for {
		batch, err := src.ReadAll(ctx, after, 5000)
		if err != nil {
			return 0, fmt.Errorf("source: count events: %w", err)
		}
		for _, e := range batch {
			n++
			if e.Position == goal {
				return n, nil
			}
		}
		if len(batch) == 0 {
			return n, nil
		}
		after = batch[len(batch)-1].Position
	}
}

// appendInOrder appends a batch to dst in its order, one append per run
// of consecutive events of one stream, each expecting the stream at the
// version before its first event, as in the source.
func appendInOrder(ctx context.Context, dst eventstore.Store, batch []eventstore.RecordedEvent) error {
	for i := 0; i < len(batch); {
		j, size := i+1, len(batch[i].Data)
		for j < len(batch) && j-i < copyGroupMax && size < copyGroupBytes &&
			batch[j].StreamID == batch[i].StreamID && batch[j].Version == batch[j-1].Version+1 {
			size += len(batch[j].Data)
			j++
		}
		group := batch[i:j]
		evs := make([]eventstore.EventData, len(group))
		for k, e := range group {
			evs[k] = eventstore.EventData{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata}
		}
		first, last := group[0], group[len(group)-1]
		res, err := dst.Append(ctx, first.StreamID, eventstore.Exact(first.Version-1), evs)
		if errors.Is(err, eventstore.ErrVersionConflict) {
			return fmt.Errorf("target: stream %q does not match the source (was the target written to, or is it another store's copy?): %w", first.StreamID, err)
		}
		if err != nil {
			return fmt.Errorf("target: copy events %d-%d of stream %q: %w", first.Version, last.Version, first.StreamID, err)
		}
		if res.Version != last.Version {
			return fmt.Errorf("target: stream %q is at version %d after copying its version %d", first.StreamID, res.Version, last.Version)
		}
		i = j
	}
	return nil
}

func newCopyBar(total int64, w io.Writer, quiet bool) *progressbar.ProgressBar {
	if quiet {
		w = io.Discard
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("copying events"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
