// Command httpbench prints the command API's throughput and latency over
// HTTP for CreateTeacher and RecordPerformance at increasing concurrency,
// beside the same commands through their handlers called directly, and
// the headline figure: the most requests per second whose p99 stays under
// 50 ms (see internal/httpbench). The service's HTTP server runs in this
// process on a loopback port. It starts a throwaway PostgreSQL cluster
// unless DATABASE_URL names a server, where it creates (and afterwards
// drops) a database of its own. EDUSMARTHUB_PG_BIN_DIR, when set, is where
// initdb and postgres are.
//
//	go run ./cmd/httpbench [-clients 1,2,4,8,16,32] [-duration 1s] [-rounds 2] [-commands CreateTeacher,RecordPerformance] [-db-max-conns 20]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/benchdb"
	"github.com/edusmarthub/edusmarthub/internal/httpbench"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	var (
		clientsFlag  = flag.String("clients", "1,2,4,8,16,32", "comma-separated numbers of concurrent clients (closed loop: each sends its next request when the last is answered)")
		duration     = flag.Duration("duration", time.Second, "measured time per side, per round, per level")
		rounds       = flag.Int("rounds", 2, "rounds per level; each round runs HTTP and direct calls, alternating which goes first")
		maxRequests  = flag.Int("max-requests", 5000, "requests per side per round at most")
		commandsFlag = flag.String("commands", httpbench.CreateTeacher+","+httpbench.RecordPerformance, "comma-separated commands to measure")
		students     = flag.Int("students", 64, "RecordPerformance: students per level, enrolled for it (at least the largest number of clients)")
		maxConns     = flag.Int("db-max-conns", 20, "size of the server's PostgreSQL pool, as EDUSMARTHUB_DB_MAX_CONNS (default 20)")
		durable      = flag.Bool("durable", false, "run the throwaway cluster with fsync and synchronous_commit on (ignored with DATABASE_URL)")
		quiet        = flag.Bool("quiet", false, "print only the table")
	)
	flag.Parse()
	clients, err := parseCounts(*clientsFlag)
	if err != nil {
		return err
	}
	if *rounds <= 0 || *duration <= 0 || *maxRequests <= 0 || *students <= 0 || *maxConns <= 0 {
		return errors.New("-rounds, -duration, -max-requests, -students and -db-max-conns must be positive")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := benchdb.Open(ctx, os.Getenv("DATABASE_URL"), "httpbench", *durable)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	cfg, err := db.PoolConfig(*maxConns)
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Apply(ctx, pool); err != nil {
		return err
	}
	settings, err := storebench.ServerSettings(ctx, pool)
	if err != nil {
		return err
	}

	var progress *os.File
	if !*quiet {
		progress = os.Stderr
		fmt.Fprintf(progress, "measuring on %s (%s)\n", db.Where, settings)
	}
	results, err := httpbench.Run(ctx, pool, httpbench.Config{
		Commands:         strings.Split(*commandsFlag, ","),
		Clients:          clients,
		Duration:         *duration,
		Rounds:           *rounds,
		MaxRequests:      *maxRequests,
		StudentsPerLevel: *students,
	}, progress)
	if err != nil {
		return err
	}

	header := fmt.Sprintf("HTTP commands: POST over loopback HTTP to the service's server in this process (transport/http, JWT auth,\n"+
		"access logs, metrics, PostgreSQL event store) vs the same command handlers called directly, same process and pool\n"+
		"%s, %s; pool of %d connections\n"+
		"closed-loop clients; %d rounds x %s per side (at most %d requests); %d CPUs, GOMAXPROCS=%d (clients and server share them)",
		settings, db.Where, *maxConns, *rounds, *duration, *maxRequests, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Println()
	return httpbench.Print(os.Stdout, header, results)
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1000 {
			return nil, fmt.Errorf("-clients: %q is not a number of clients (1-1000)", f)
		}
		out = append(out, n)
	}
	return out, nil
}
