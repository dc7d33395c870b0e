package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore/storemetrics"
	"github.com/edusmarthub/edusmarthub/internal/config"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Migrate the database and serve the HTTP API",
		Long: `Serve the HTTP API on EDUSMARTHUB_HTTP_ADDR.

Without DATABASE_URL it starts (or resumes) a PostgreSQL cluster of its own
under $EDUSMARTHUB_DATA_DIR/postgres; data survives restarts. Pending
migrations are applied on every start, in both modes. It runs the read
models and, unless EDUSMARTHUB_WORKFLOWS=off (API replicas deployed apart
from the processes that run them), the workflows. SIGINT or SIGTERM stop
it gracefully: no new connections, in-flight requests get
EDUSMARTHUB_SHUTDOWN_TIMEOUT to finish, then the database is closed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := a.setup()
			if err != nil {
				return err
			}
			procs := schedulerHeadroom(a.environ)
			logger.Info("scheduler", "gomaxprocs", procs)
			return serve(cmd.Context(), cfg, logger)
		},
	}
}

// deadLetterCountAge bounds how often monitoring reads the dead-letter
// topic (what it gained since the last read) to count what waits there.
const deadLetterCountAge = 10 * time.Second

// serve runs the service until ctx is cancelled (a signal), then shuts
// down in order: HTTP first, so no request finds the database gone.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) (err error) {
	logger.Info("starting edusmarthub", "version", buildVersion(), "config", cfg)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	if cfg.JWTSecret == "" {
		logger.Info("development JWT secret in use; mint a token with `edusmarthub token --role platform_admin`",
			"file", devSecretPath(cfg))
	}

	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, db.Close())
		if err == nil {
			logger.Info("stopped")
		}
	}()

	if err := migrate(ctx, db, logger); err != nil {
		return err
	}

	// A registry of our own, not the global default: only what we
	// register is exported, and tests can build servers side by side.
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	base, closeStore, err := openEventStore(ctx, cfg, db.Pool, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	store, err := storemetrics.Wrap(base, reg)
	if err != nil {
		return fmt.Errorf("event store metrics: %w", err)
	}
	// The relay reads the store (unwrapped: its reads are not appends to
	// measure) and publishes to Kafka; stopped before the database closes.
	kb, err := startKafka(ctx, cfg, base, db.Pool, reg, logger)
	if err != nil {
		return err
	}
	defer kb.Stop()
	// The read models: set up and fed from Kafka in the background;
	// stopped before the relay and the database.
	views, err := newProjectionRegistry(cfg, db.Pool, base, logger, reg, 0)
	if err != nil {
		return err
	}
	live, err := startProjections(ctx, views, kb.Config, reg, logger)
	if err != nil {
		return err
	}
	defer live.Stop()

	repo := commands.NewRepository(store, time.Now)
	// The workflows: their commands go through repo like the API's; they
	// stop before the read models, the relay and the database. With
	// EDUSMARTHUB_WORKFLOWS=off this process is an API replica and runs
	// none: other serve processes with on run them (the workflows' consumer
	// groups share the work among all of those).
	if cfg.RunWorkflows() {
		workflows, err := startSagas(ctx, cfg, db.Pool, repo, kb.Config, reg, logger)
		if err != nil {
			return err
		}
		defer workflows.Stop()
	} else {
		logger.Info("workflows off (EDUSMARTHUB_WORKFLOWS=off): this process runs none of them")
	}
	// Monitoring's Kafka figures, for GET /v1/system/monitoring and
	// /metrics alike (one cache: they read Kafka).
	deadLetters := kafka.PendingDeadLetters(kb.Config, deadLetterCountAge)
	consumerLag := kafka.ProjectionLags(kb.Lag, views)
	reg.MustRegister(kafka.NewMonitoringCollector(consumerLag, deadLetters))
	api, err := httpapi.NewServer(httpapi.Config{
		JWTSecret:  secret,
		BodyLimit:  cfg.HTTPBodyLimit,
		Logger:     logger,
		Registerer: reg,
		AsyncAPI:   kb.AsyncAPI,

		ReadYourWritesTimeout: cfg.ReadYourWritesTimeout,
		LiveFeedMaxStreams:    cfg.LiveFeedMaxStreams,
	}, httpapi.Deps{
		Store:       store,
		Pool:        db.Pool,
		Commands:    repo,
		Projections: views,
		DeadLetters: deadLetters,
		ConsumerLag: consumerLag,
		Backlog:     kb.LogBacklog,
	})
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (EDUSMARTHUB_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	hs := &http.Server{
		Handler: api.Handler(),
		// Slow-client guards: the API bounds a body's size, these its pace.
		// No WriteTimeout: the live feeds of later issues stream for long.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Live feeds never end on their own: end them when shutting down, so
	// Shutdown does not wait out its timeout for them.
	hs.RegisterOnShutdown(api.CloseStreams)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Info("serving HTTP", "addr", ln.Addr().String())

	jctx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		expireIdempotencyKeys(jctx, api, logger)
	}()
	defer func() { stopJanitor(); <-janitorDone }()

	var died error
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-db.Died():
		// Without its database the service can only fail requests: stop,
		// so a supervisor restarts it (and with it the cluster).
		died = errors.New("embedded PostgreSQL exited unexpectedly; see its server.log in the data folder")
		logger.Error("embedded PostgreSQL exited; shutting down")
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Requests still running past the timeout are cut off.
		logger.Warn("in-flight requests did not finish in time", "err", err)
		_ = hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(died, fmt.Errorf("http server: %w", err))
	}
	return died
}

// janitorInterval is how often expired idempotency keys are deleted; keys
// live at least httpapi.IdempotencyRetention, so hourly is plenty.
const janitorInterval = time.Hour

// expireIdempotencyKeys deletes expired idempotency keys now and then every
// janitorInterval until ctx is done. A failure is logged and retried at
// the next tick: the table only grows a little meanwhile.
func expireIdempotencyKeys(ctx context.Context, api *httpapi.Server, logger *slog.Logger) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		n, err := api.DeleteExpiredIdempotencyKeys(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("deleting expired idempotency keys failed", "err", err)
		case n > 0:
			logger.Info("deleted expired idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// defaultProcs is Go's GOMAXPROCS as the process started.
var defaultProcs = runtime.GOMAXPROCS(0)

// schedulerHeadroom gives serve twice the Ps of Go's default (one per CPU
// the process may use) unless GOMAXPROCS is set in environ, and returns the
// number. It is idempotent: a second serve in the process (tests) sets the
// same number.
// serve's goroutines mostly wait on PostgreSQL and Kafka, which share the
// host's cores with it: with one P per core, a goroutine woken while the OS
// runs PostgreSQL on those cores waits in Go's run queue behind the
// goroutines on the descheduled threads; with twice the Ps the OS runs it.
// Measured at 500 commands/s on 2 cores (cmd/projbench, runs alternated):
// p99 command-to-visible 78-118 ms (median 110) with 2 Ps, 67-119 ms
// (median 81) with 4.
func schedulerHeadroom(environ map[string]string) int {
	if environ["GOMAXPROCS"] == "" {
		runtime.GOMAXPROCS(2 * defaultProcs)
	}
	return runtime.GOMAXPROCS(0)
}
