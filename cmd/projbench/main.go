// Command projbench measures the projections (issue 4) and prints a table:
//
//   - rebuild throughput: every projection rebuilt from a store of -events
//     events (a generated school history), beside a baseline measured in
//     the same run: the same log read with the same batches, and as many
//     rows as the projectors wrote statements written with plain pgx
//     batches, by as many concurrent writers;
//   - command-to-visible latency: `edusmarthub serve` (built from this
//     checkout, embedded Kafka broker) takes HTTP commands at a steady
//     -rate; each command's latency runs from its response to its stream
//     version showing in the read model's bookkeeping (polled every
//     10ms), p50 and p99, with the workflows off (EDUSMARTHUB_WORKFLOWS,
//     the figure; -runs runs, judged together) and then on, each
//     beside its HTTP command latency.
//
// It starts a throwaway PostgreSQL cluster unless DATABASE_URL names a
// server, where it creates (and afterwards drops) databases of its own.
//
//	go run ./cmd/projbench [-events 200000] [-batch 1000] [-rate 500] [-workflows-rate N] [-runs 3] [-duration 10s] [-skip-rebuild] [-skip-latency]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
	"github.com/edusmarthub/edusmarthub/migrations"
	"github.com/edusmarthub/edusmarthub/projections"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "projbench:", err)
		os.Exit(1)
	}
}

type options struct {
	events      int
	batch       int
	conns       int
	rate        int
	rateOn      int // of the latency run with the workflows on
	runs        int // latency runs with the workflows off
	duration    time.Duration
	warmup      time.Duration
	skipRebuild bool
	skipLatency bool
	quiet       bool
	cpuProfile  string
}

func run() (err error) {
	var o options
	flag.IntVar(&o.events, "events", 200_000, "events in the store the rebuild replays (the issue's figure is 1000000: about 3 minutes for load, rebuild and baseline on 2 cores)")
	flag.IntVar(&o.batch, "batch", 1000, "events per rebuild transaction")
	flag.IntVar(&o.conns, "conns", 20, "connection pool size of the rebuild, as EDUSMARTHUB_DB_MAX_CONNS (it applies (conns-2)/2 projections at once)")
	flag.IntVar(&o.rate, "rate", 500, "commands per second of the latency runs (workflows off, then on)")
	flag.IntVar(&o.rateOn, "workflows-rate", 0, "commands per second of the latency run with the workflows on (default: -rate)")
	flag.IntVar(&o.runs, "runs", 3, "latency runs with the workflows off, each with a serve of its own (the goal is judged on their samples together)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each latency run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time at the rate before measuring")
	flag.BoolVar(&o.skipRebuild, "skip-rebuild", false, "skip the rebuild throughput run")
	flag.BoolVar(&o.skipLatency, "skip-latency", false, "skip the latency run")
	flag.BoolVar(&o.quiet, "quiet", false, "print only the tables")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the rebuild (this process, not PostgreSQL; not the baseline) to this file")
	flag.Parse()
	switch {
	case o.events <= 0 || o.batch <= 0 || o.rate <= 0 || o.rateOn < 0 || o.duration <= 0 || o.warmup < 0:
		return errors.New("-events, -batch, -rate, -workflows-rate and -duration must be positive")
	case o.runs < 1:
		return errors.New("-runs must be at least 1")
	case o.conns < 4:
		return errors.New("-conns must be at least 4")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := func(s string) {
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), s)
		}
	}

	srv, err := startServer(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.close()) }()

	if !o.skipRebuild {
		res, err := benchRebuild(ctx, srv, o, progress)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		printRebuild(os.Stdout, res, o)
	}
	if !o.skipLatency {
		res, err := benchLatency(ctx, srv, o, progress)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		printLatency(os.Stdout, res, o)
	}
	return nil
}

func benchRebuild(ctx context.Context, srv *server, o options, progress func(string)) (res rebuildResult, err error) {
	url, name, err := srv.newDatabase(ctx, "projbench_rebuild")
	if err != nil {
		return rebuildResult{}, err
	}
	defer func() { // not left to autovacuum during the latency runs
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, srv.dropDatabase(dctx, name))
	}()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return rebuildResult{}, err
	}
	cfg.MaxConns = int32(o.conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return rebuildResult{}, err
	}
	defer pool.Close()
	if err := migrations.Apply(ctx, pool); err != nil {
		return rebuildResult{}, err
	}
	store := postgres.New(pool)
	reg, err := projections.NewRegistry(projections.Config{DB: pool, Store: store, RebuildBatch: o.batch}, projections.All()...)
	if err != nil {
		return rebuildResult{}, err
	}
	// Schemas first, on the empty store: Setup would build them from a
	// full one, and that build is what we measure.
	if err := reg.Setup(ctx); err != nil {
		return rebuildResult{}, err
	}
	progress(fmt.Sprintf("generating %d events", o.events))
	events, schools := generate(o.events, 1)
	progress(fmt.Sprintf("loading %d events (%d schools) into the store", len(events), schools))
	start := time.Now()
	if err := load(ctx, pool, events, func(n int) {
		if n%200_000 == 0 {
			progress(fmt.Sprintf("loaded %d events", n))
		}
	}); err != nil {
		return rebuildResult{}, err
	}
	progress(fmt.Sprintf("loaded in %s", time.Since(start).Round(time.Millisecond)))
	events = nil
	if _, err := pool.Exec(ctx, "CHECKPOINT"); err != nil {
		return rebuildResult{}, err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return rebuildResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rebuildResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	return measureRebuild(ctx, pool, reg, o.batch, progress)
}

func printRebuild(w io.Writer, r rebuildResult, o options) {
	fmt.Fprintf(w, "\nRebuild of all %d projections from the event store: %d events (generated school history), %d per transaction, pool of %d connections; %d CPUs\n",
		r.projections, r.events, o.batch, o.conns, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tevents/s\trows/s\trows\ttook\t")
	fmt.Fprintf(tw, "projections rebuild\t%.0f\t%.0f\t%d\t%s\t\n", r.rebuild.EventsPerSecond(),
		perSecond(r.rebuild.Rows, r.rebuild.Took), r.rebuild.Rows, r.rebuild.Took.Round(time.Millisecond))
	fmt.Fprintf(tw, "baseline (plain pgx)\t%.0f\t%.0f\t%d\t%s\t\n", perSecond(r.events, r.baseline.took),
		perSecond(r.baseline.rows, r.baseline.took), r.baseline.rows, r.baseline.took.Round(time.Millisecond))
	_ = tw.Flush()
	ratio := r.rebuild.EventsPerSecond() / perSecond(r.events, r.baseline.took)
	fmt.Fprintf(w, "ratio rebuild/baseline: %.2f (goal >= 0.5); rebuild %.0f events/s (goal >= 20000)\n", ratio, r.rebuild.EventsPerSecond())
	fmt.Fprintf(w, "(rows: rows the projectors inserted, updated or deleted, %.1f per event, with %d statements; the baseline INSERTs as many, one per statement, spread over as many writers)\n",
		float64(r.rebuild.Rows)/float64(max(r.events, 1)), r.rebuild.Statements)
}

// server is where the benchmark's databases live.
type server struct {
	adminURL string
	cluster  *pgcluster.Cluster
	dir      string
	dbs      []string
}

func startServer(ctx context.Context, serverURL string) (*server, error) {
	if serverURL != "" {
		return &server{adminURL: serverURL}, nil
	}
	dir, err := os.MkdirTemp("", "projbench-*")
	if err != nil {
		return nil, err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		DataDir:   filepath.Join(dir, "data"),
		Port:      port,
		BinDir:    os.Getenv("EDUSMARTHUB_PG_BIN_DIR"),
		Throwaway: true,
		// Room for the service's pool and the benchmark's.
		Settings: map[string]string{"max_connections": "200"},
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &server{adminURL: c.ConnString("postgres"), cluster: c, dir: dir}, nil
}

// newDatabase creates a database and returns its connection string and
// its name.
func (s *server) newDatabase(ctx context.Context, prefix string) (url, name string, err error) {
	name = prefix + "_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if err := pgcluster.CreateDatabase(ctx, s.adminURL, name); err != nil {
		return "", "", err
	}
	s.dbs = append(s.dbs, name)
	url, err = withDatabase(s.adminURL, name)
	return url, name, err
}

// dropDatabase drops a database of newDatabase's.
func (s *server) dropDatabase(ctx context.Context, name string) error {
	return pgcluster.DropDatabase(ctx, s.adminURL, name)
}

// withDatabase returns connString with its database replaced by name, for
// both URL and keyword/value connection strings.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return connString + " dbname='" + name + "'", nil // a later dbname wins
}

func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.cluster != nil {
		return errors.Join(s.cluster.Stop(ctx), os.RemoveAll(s.dir))
	}
	var errs []error
	for _, db := range s.dbs {
		errs = append(errs, s.dropDatabase(ctx, db))
	}
	return errors.Join(errs...)
}
