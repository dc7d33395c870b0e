// Command relaybench prints the Kafka relay's throughput beside a raw
// sarama producer sending the same messages to the same broker in the
// same run, the store's append rate at 32 writers for comparison, and the
// end-to-end latency from an append to a plain consumer receiving it at a
// steady rate (see internal/relaybench). It starts a throwaway PostgreSQL
// cluster unless DATABASE_URL names a server (where it creates, and
// afterwards drops, a database of its own), and an embedded broker unless
// EDUSMARTHUB_KAFKA_BROKERS names brokers (its topics get a prefix of
// their own). EDUSMARTHUB_PG_BIN_DIR, when set, is where initdb and
// postgres are.
//
//	go run ./cmd/relaybench [-events 100000] [-streams 1000] [-rounds 3] [-rate 1000] [-duration 10s] [-partitions 6]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/benchdb"
	"github.com/edusmarthub/edusmarthub/internal/relaybench"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	var (
		events     = flag.Int("events", 100_000, "events in the throughput log")
		streams    = flag.Int("streams", 1_000, "streams the throughput log is spread over")
		rounds     = flag.Int("rounds", 3, "rounds of each throughput side, alternating which goes first")
		rate       = flag.Int("rate", 1_000, "events per second of the latency measurement")
		duration   = flag.Duration("duration", 10*time.Second, "length of the latency measurement")
		partitions = flag.Int("partitions", kafka.DefaultPartitions, "partitions of each topic")
		skipStore  = flag.Bool("skip-store", false, "do not measure the store's append rate at 32 writers")
		quiet      = flag.Bool("quiet", false, "print only the tables")
	)
	flag.Parse()
	if *events <= 0 || *streams <= 0 || *streams > *events || *rounds <= 0 || *rate <= 0 || *rate > 100_000 || *duration <= 0 || *partitions <= 0 {
		return errors.New("-events, -streams (at most -events), -rounds, -rate (at most 100000), -duration and -partitions must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := benchdb.Open(ctx, os.Getenv("DATABASE_URL"), "relaybench", false)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	where := db.Where
	pcfg, err := db.PoolConfig(40) // 32 writers of the store measurement, and the relays
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Apply(ctx, pool); err != nil {
		return err
	}

	kcfg := kafka.Config{Partitions: int32(*partitions), ReplicationFactor: 1}
	brokerDesc := "embedded broker (kfake, in-process, in memory)"
	if b := os.Getenv("EDUSMARTHUB_KAFKA_BROKERS"); b != "" {
		for s := range strings.SplitSeq(b, ",") {
			kcfg.Brokers = append(kcfg.Brokers, strings.TrimSpace(s))
		}
		kcfg.ReplicationFactor = 0
		kcfg.TopicPrefix = "relaybench-" + uuid.NewString()[:8]
		brokerDesc = "brokers " + b + ", topics " + kcfg.TopicPrefix + ".*"
	} else {
		b, err := kafka.StartEmbeddedBroker(ctx, "127.0.0.1:0", *partitions, nil)
		if err != nil {
			return err
		}
		defer b.Close()
		kcfg.Brokers = []string{b.Addr()}
	}

	var progress io.Writer = os.Stderr
	if *quiet {
		progress = nil
	}
	var storeRate float64
	if !*skipStore {
		if progress != nil {
			fmt.Fprintln(progress, "store append rate at 32 writers...")
		}
		res, err := storebench.Run(ctx, pool, storebench.Config{Writers: []int{32}, Duration: 500 * time.Millisecond, Rounds: 4, EventsPerAppend: 1}, nil)
		if err != nil {
			return err
		}
		storeRate = res[0].Store.EventsPerSecond()
	}
	// The store measurement wrote events of its own: the relays publish
	// them too, which costs them, not the raw producer. Start afresh.
	if _, err := pool.Exec(ctx, `TRUNCATE events`); err != nil {
		return err
	}

	res, err := relaybench.Run(ctx, pool, relaybench.Config{
		Kafka: kcfg, Events: *events, Streams: *streams, Rounds: *rounds, Rate: *rate, Duration: *duration,
	}, progress)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("Relay throughput: %d events over %d streams, store -> broker-acknowledged; baseline: a raw sarama AsyncProducer\n"+
		"(same producer settings: idempotent, acks=all, batched) sending the same messages to the same broker.\n"+
		"%s, %d partitions per topic; PostgreSQL: %s; %d CPUs, GOMAXPROCS=%d",
		*events, *streams, brokerDesc, *partitions, where, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Println()
	return relaybench.Print(os.Stdout, header, res, storeRate)
}
