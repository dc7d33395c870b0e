// Command storebench prints the event store's append throughput and
// latency beside a baseline measured in the same run on the same server:
// the same rows inserted with plain pgx, one transaction per append (see
// internal/storebench). It starts a throwaway PostgreSQL cluster unless
// DATABASE_URL names a server, where it creates (and afterwards drops) a
// database of its own. EDUSMARTHUB_PG_BIN_DIR, when set, is where initdb
// and postgres are.
//
//	go run ./cmd/storebench [-writers 1,8,32] [-duration 500ms] [-rounds 8] [-events 1] [-durable]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/benchdb"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	var (
		writersFlag = flag.String("writers", "1,8,32", "comma-separated numbers of concurrent writers, each on its own stream")
		duration    = flag.Duration("duration", 500*time.Millisecond, "measured time per side, per round, per writer count")
		rounds      = flag.Int("rounds", 8, "rounds per writer count; each round runs both sides, alternating which goes first")
		events      = flag.Int("events", 1, "events per append")
		durable     = flag.Bool("durable", false, "run the throwaway cluster with fsync and synchronous_commit on (ignored with DATABASE_URL)")
		baseline    = flag.String("baseline", "insert", `baseline: "insert" (one INSERT in its own transaction, one round trip) or "tx" (BEGIN, INSERT, COMMIT: three round trips)`)
		quiet       = flag.Bool("quiet", false, "print only the table")
	)
	flag.Parse()
	writers, err := parseWriters(*writersFlag)
	if err != nil {
		return err
	}
	if *rounds <= 0 || *events <= 0 || *duration <= 0 {
		return errors.New("-rounds, -events and -duration must be positive")
	}
	if *baseline != string(storebench.BaselineInsert) && *baseline != string(storebench.BaselineTx) {
		return fmt.Errorf("-baseline %q: want insert or tx", *baseline)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := benchdb.Open(ctx, os.Getenv("DATABASE_URL"), "storebench", *durable)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	where := db.Where

	cfg, err := db.PoolConfig(slices.Max(writers) + 2)
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
		fmt.Fprintf(progress, "measuring on %s (%s)\n", where, settings)
	}
	results, err := storebench.Run(ctx, pool, storebench.Config{
		Writers:         writers,
		Duration:        *duration,
		Rounds:          *rounds,
		EventsPerAppend: *events,
		Baseline:        storebench.BaselineKind(*baseline),
	}, progress)
	if err != nil {
		return err
	}

	baselineDesc := "one INSERT of the same rows per append, in its own transaction: one round trip"
	if *baseline == string(storebench.BaselineTx) {
		baselineDesc = "BEGIN, one INSERT of the same rows, COMMIT per append: three round trips"
	}
	header := fmt.Sprintf("Append: eventstore/postgres Store.Append vs baseline (plain pgx: %s)\n"+
		"%s, %s\n"+
		"%d event(s) per append, one stream per writer, store appends with the exact expected version; %d rounds x %s per side; %d CPUs, GOMAXPROCS=%d",
		baselineDesc, settings, where, *events, *rounds, *duration, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Println()
	if err := storebench.Print(os.Stdout, header, results); err != nil {
		return err
	}
	var met, missed []string
	for _, r := range results {
		if r.Ratio() >= 0.8 {
			met = append(met, strconv.Itoa(r.Writers))
		} else {
			missed = append(missed, strconv.Itoa(r.Writers))
		}
	}
	fmt.Printf("goal store/baseline >= 0.80: met at %s writers; missed at %s writers\n", orNone(met), orNone(missed))
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no"
	}
	return strings.Join(s, ", ")
}

func parseWriters(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1000 {
			return nil, fmt.Errorf("-writers: %q is not a number of writers (1-1000)", f)
		}
		out = append(out, n)
	}
	return out, nil
}
