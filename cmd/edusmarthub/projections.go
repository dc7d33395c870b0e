package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/config"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// newProjectionRegistry is the one place the service's read models are
// listed for the runner: serve and the projections commands use it.
// batch is the rebuild batch size (0: the default).
func newProjectionRegistry(cfg config.Config, pool *pgxpool.Pool, store eventstore.Store, logger *slog.Logger, reg prometheus.Registerer, batch int) (*projections.Registry, error) {
	pc := projections.Config{
		DB:           pool,
		Store:        store,
		Logger:       logger.With("component", "projections"),
		Registerer:   reg,
		RebuildBatch: batch,
	}
	if cfg.EventStore != config.EventStoreKurrentDB {
		pc.Lag = projections.PostgresLag(pool) // the events are in this database
	}
	r, err := projections.NewRegistry(pc, projections.All()...)
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	return r, nil
}

// liveProjections runs the read models' consumers in the background.
type liveProjections struct {
	views *projections.Registry
	stop  context.CancelFunc
	done  chan struct{}
}

// setupRetry is how long serve waits before trying a failed projection
// setup again.
const setupRetry = 5 * time.Second

// startProjections makes the read models ready (views.Setup: creating
// their tables, building new or changed ones from the event store) and
// then consumes Kafka into them, in the background: the API serves
// meanwhile, and `edusmarthub projections status` shows the progress. A
// failed setup is logged and tried again; consuming starts only after it.
func startProjections(ctx context.Context, views *projections.Registry, kcfg kafka.Config, reg prometheus.Registerer, logger *slog.Logger) (*liveProjections, error) {
	log := logger.With("component", "projections")
	router, err := kafka.NewRouterWithConfig(kafka.RouterConfig{Kafka: kcfg, Logger: log, Registerer: reg}, kafka.ProjectionHandlers(views)...)
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	lp := &liveProjections{views: views, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(lp.done)
		for {
			err := views.Setup(rctx)
			if err == nil {
				break
			}
			if rctx.Err() != nil {
				return
			}
			log.Error("setting up the read models failed; trying again", "err", err, "in", setupRetry.String())
			select {
			case <-rctx.Done():
				return
			case <-time.After(setupRetry):
			}
		}
		log.Info("read models ready; consuming", "projections", strings.Join(views.Names(), ","))
		if err := router.Run(rctx); err != nil && rctx.Err() == nil {
			log.Error("the read models' Kafka consumers stopped", "err", err)
		}
	}()
	return lp, nil
}

// Stop stops consuming and waits for the applies in progress to commit
// or roll back.
func (lp *liveProjections) Stop() {
	lp.stop()
	<-lp.done
	lp.views.Close()
}

func (a *app) projectionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "List, inspect and rebuild the read models",
		Long: `The read models (projections) are PostgreSQL tables built from the events,
one schema rm_<name> per projection, kept up to date by 'serve' from Kafka.
These commands show where each stands and rebuild them from the event store.

They use the configured database (DATABASE_URL, or the embedded cluster under
$EDUSMARTHUB_DATA_DIR/postgres, shared with a running 'serve').`,
	}
	cmd.AddCommand(a.projectionsListCmd(), a.projectionsStatusCmd(), a.projectionsRebuildCmd())
	return cmd
}

func (a *app) projectionsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the projections with their state, checkpoint and lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withProjections(cmd.Context(), func(ctx context.Context, reg *projections.Registry) error {
				sts, err := reg.Status(ctx)
				if err != nil {
					return err
				}
				return writeProjectionList(a.stdout, sts)
			})
		},
	}
}

func (a *app) projectionsStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [NAME...] [--json]",
		Short: "Show each projection's checkpoint, lag, state and rebuild progress",
		Long: `Show, for every projection (or those named):

  STATE      live; rebuilding (a rebuild runs, with its progress); incomplete
             (never completely built: serve builds it at start); outdated (built
             with another schema version: serve rebuilds it at start); missing
  STREAMS    streams it has applied events of
  POSITION   the largest event-store position it has applied
  HEAD       the event store's head position
  LAG        events of its channels in the store after POSITION (0: caught up;
             events of other partitions still in flight may not show)
  APPLIED    when it last applied an event; BUILT when its tables were built`,
		RunE: func(cmd *cobra.Command, names []string) error {
			return a.withProjections(cmd.Context(), func(ctx context.Context, reg *projections.Registry) error {
				var sts []projections.Status
				if len(names) == 0 {
					all, err := reg.Status(ctx)
					if err != nil {
						return err
					}
					sts = all
				}
				for _, n := range names {
					st, err := reg.StatusOf(ctx, n)
					if err != nil {
						return err
					}
					sts = append(sts, st)
				}
				if asJSON {
					enc := json.NewEncoder(a.stdout)
					for _, st := range sts {
						if err := enc.Encode(st); err != nil {
							return err
						}
					}
					return nil
				}
				return writeProjectionStatus(a.stdout, sts)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per projection")
	return cmd
}

func (a *app) projectionsRebuildCmd() *cobra.Command {
	var (
		all   bool
		batch int
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "rebuild NAME... | --all",
		Short: "Rebuild projections from the event store and swap them in",
		Long: `Replay the event store (not Kafka) into fresh copies of the projections'
tables, then swap each copy in atomically. A running 'serve' keeps answering
queries from the old tables and applying live events meanwhile; at the swap
the copy catches up with the store under the projection's lock, so the new
tables continue exactly where the replay ended and no event is lost or applied
twice. The log is read once for all the projections named. A progress bar on
stderr shows events/s and the time left.

A projection whose rebuild fails keeps its old tables; the others go on.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if all == (len(names) > 0) {
				return errors.New("name the projections to rebuild, or --all (see `edusmarthub projections list`)")
			}
			if batch < 0 {
				return fmt.Errorf("--batch must be positive, not %d", batch)
			}
			return a.withProjectionsBatch(cmd.Context(), batch, func(ctx context.Context, reg *projections.Registry) error {
				if all {
					names = reg.Names()
				}
				for _, n := range names {
					if _, ok := reg.Get(n); !ok {
						return fmt.Errorf("no projection %q (known: %s)", n, strings.Join(reg.Names(), ", "))
					}
				}
				var bar *rebuildBar
				opts := projections.RebuildOptions{}
				if !quiet {
					bar = newRebuildBar(a.stderr, names)
					opts.Progress = bar.update
				}
				stats, err := reg.Rebuild(ctx, names, opts)
				bar.exit() // ended at the last report; here if the rebuild failed first
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "rebuilt %s: %d events in %s (%.0f events/s)\n", strings.Join(stats.Projections, ", "),
					stats.Events, stats.Took.Round(time.Millisecond), stats.EventsPerSecond())
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "rebuild every projection")
	cmd.Flags().IntVar(&batch, "batch", 0, "events read and applied per transaction (default 1000)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// rebuildBar draws a rebuild's progress: nothing until the first events
// are in, then the count against the estimate, with the rate and the time
// left reckoned from the rebuild's start. (progressbar's own rate starts
// at its first frame, reads "0 events/hr" over no events and, for the
// first half second, counts the events before the frame as done at once.)
// The bar reaches its end only when the rebuild is done: a progressbar
// that has reached its max draws later frames over the old ones without
// clearing them, and the estimate (the log's head) may grow, or stay above
// the count (positions that rolled-back appends left unused).
type rebuildBar struct {
	w     io.Writer
	title string
	bar   *progressbar.ProgressBar
	ended bool
}

func newRebuildBar(w io.Writer, names []string) *rebuildBar {
	title := "rebuilding " + strings.Join(names, ", ")
	if len(names) > 3 {
		title = fmt.Sprintf("rebuilding %d projections", len(names))
	}
	return &rebuildBar{w: w, title: title}
}

func (b *rebuildBar) update(p projections.Progress) {
	if p.Events == 0 || b.ended {
		return
	}
	done := p.Phase == projections.PhaseDone
	desc := b.title
	switch p.Phase {
	case projections.PhaseIndex:
		desc = "building indexes"
	case projections.PhaseSwap:
		desc = "catching up and swapping in"
	}
	total := max(p.Estimate, p.Events)
	if done {
		total = p.Events
		desc += fmt.Sprintf(": %d events", p.Events)
	} else {
		desc += fmt.Sprintf(": %d of %d events", p.Events, total)
	}
	if secs := p.Elapsed.Seconds(); secs > 0 {
		rate := float64(p.Events) / secs
		desc += fmt.Sprintf(", %.0f/s", rate)
		if p.Phase == projections.PhaseReplay && p.Estimate > p.Events {
			left := time.Duration(math.Ceil(float64(p.Estimate-p.Events)/rate)) * time.Second
			desc += fmt.Sprintf(", %s left", left)
		}
	}
	if !done {
		total++ // short of the end until the rebuild is
	}
	if b.bar == nil {
		// Made at the first events, with a max: without one, progressbar
		// draws a spinner from a goroutine of its own.
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetWidth(30),
		)
		if !done {
			_ = b.bar.Set64(p.Events)
			b.bar.Describe(desc) // drawn whether or not the percentage moved
		}
	} else {
		if done {
			b.bar.Describe(desc) // before the end, which draws itself
		}
		if total != b.bar.GetMax64() {
			b.bar.ChangeMax64(total)
		}
		_ = b.bar.Set64(p.Events)
		if !done {
			b.bar.Describe(desc) // last: the frame left has every figure of p
		}
	}
	if done {
		_ = b.bar.Finish()
		b.exit() // what the rebuild logs next starts a line of its own
	}
}

// exit ends the bar's line, if it drew one and did not end it yet (b may
// be nil: no bar).
func (b *rebuildBar) exit() {
	if b == nil || b.ended {
		return
	}
	b.ended = true
	if b.bar != nil {
		_ = b.bar.Exit()
		fmt.Fprintln(b.w)
	}
}

// withProjections opens the database and the projection registry for one
// command.
func (a *app) withProjections(ctx context.Context, task func(context.Context, *projections.Registry) error) error {
	return a.withProjectionsBatch(ctx, 0, task)
}

func (a *app) withProjectionsBatch(ctx context.Context, batch int, task func(context.Context, *projections.Registry) error) (err error) {
	cfg, logger, err := a.setup()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	store, closeStore, err := openEventStore(ctx, cfg, db.Pool, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	reg, err := newProjectionRegistry(cfg, db.Pool, store, logger, nil, batch)
	if err != nil {
		return err
	}
	return task(ctx, reg)
}

func writeProjectionList(w io.Writer, sts []projections.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPOSITION\tLAG\tCHANNELS")
	for _, s := range sts {
		chans := make([]string, len(s.Channels))
		for i, c := range s.Channels {
			chans[i] = string(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Name, s.State, s.Position, lagText(s.Lag), strings.Join(chans, ","))
	}
	return tw.Flush()
}

func writeProjectionStatus(w io.Writer, sts []projections.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSTREAMS\tPOSITION\tHEAD\tLAG\tAPPLIED\tBUILT\tVERSION\tREBUILD")
	for _, s := range sts {
		rebuild := "-"
		if r := s.Rebuild; r != nil {
			rebuild = fmt.Sprintf("%d events replayed, at position %d, since %s", r.Events, r.Position, r.StartedAt.Format(time.RFC3339))
		}
		version := strconv.Itoa(s.BuiltVersion)
		if s.BuiltVersion != s.SchemaVersion {
			version += "→" + strconv.Itoa(s.SchemaVersion)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, s.Streams, s.Position, s.Head,
			lagText(s.Lag), timeText(s.AppliedAt), timeText(s.BuiltAt), version, rebuild)
	}
	return tw.Flush()
}

func lagText(lag int64) string {
	if lag < 0 {
		return "?"
	}
	return strconv.FormatInt(lag, 10)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
