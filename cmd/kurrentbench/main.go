// Command kurrentbench measures append and read throughput of the
// KurrentDB adapter (eventstore/kurrentdb) beside the PostgreSQL store
// (eventstore/postgres) in the same run, and prints a table.
//
// The KurrentDB side runs against internal/kurrentfake, the in-process
// test double of KurrentDB's gRPC protocol: its figures are what the
// adapter and the client cost (protobuf, gRPC over loopback TCP, the
// adapter's event-ID claims and its subscription-based reads), not what a
// KurrentDB server does, which writes to disk and replicates. A raw-client
// row (esdb.Client.AppendToStream, no adapter) shows the adapter's own
// share. PostgreSQL is a throwaway local cluster (fsync off).
//
//	go run ./cmd/kurrentbench [-writers 1,8] [-duration 1s] [-events 1] [-read 5000]
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/benchdb"
	"github.com/edusmarthub/edusmarthub/internal/kurrentfake"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kurrentbench:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	var (
		writersFlag = flag.String("writers", "1,8", "comma-separated numbers of concurrent writers, each on its own stream")
		duration    = flag.Duration("duration", time.Second, "measured time per store per writer count")
		events      = flag.Int("events", 1, "events per append")
		readN       = flag.Int("read", 5000, "events written for the read measurement (in appends of 10 to 50 streams)")
	)
	flag.Parse()
	var writers []int
	for _, f := range strings.Split(*writersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("-writers: %q is not a number of writers (1-256)", f)
		}
		writers = append(writers, n)
	}
	if *duration <= 0 || *events < 1 || *readN < 10 {
		return errors.New("-duration and -events must be positive, -read at least 10")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(os.Stderr, "starting a throwaway PostgreSQL cluster and the KurrentDB protocol test double...")
	pool, cleanup, err := throwawayPostgres(ctx, slices.Max(writers)+2)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	fake, err := kurrentfake.Start(kurrentfake.Options{})
	if err != nil {
		return err
	}
	defer fake.Close()
	kdb, err := kurrentdb.Open(fake.URL())
	if err != nil {
		return err
	}
	defer kdb.Close()
	cfg, err := kurrentdb.ParseURL(fake.URL())
	if err != nil {
		return err
	}
	cfg.Logger = esdb.NoopLogging()
	raw, err := esdb.NewClient(cfg)
	if err != nil {
		return err
	}
	defer raw.Close()
	pg := postgres.New(pool)

	sides := []struct {
		name string
		mk   func() appendFunc
	}{
		{"postgres Store", func() appendFunc { return storeAppender(pg, *events) }},
		{"kurrentdb Store (test double)", func() appendFunc { return storeAppender(kdb, *events) }},
		{"raw esdb client (test double)", func() appendFunc { return rawAppender(raw, *events) }},
	}
	var rows []appendRow
	for _, w := range writers {
		for _, side := range sides {
			fmt.Fprintf(os.Stderr, "append: %s, %d writer(s)...\n", side.name, w)
			r, err := measureAppends(ctx, side.mk, w, *duration)
			if err != nil {
				return fmt.Errorf("%s: %w", side.name, err)
			}
			r.store, r.writers = side.name, w
			rows = append(rows, r)
		}
	}

	var reads []readRow
	for _, side := range []struct {
		name string
		s    eventstore.Store
	}{{"postgres Store", pg}, {"kurrentdb Store (test double)", kdb}} {
		fmt.Fprintf(os.Stderr, "read: %s...\n", side.name)
		r, err := measureReads(ctx, side.name, side.s, *readN)
		if err != nil {
			return fmt.Errorf("%s: %w", side.name, err)
		}
		reads = append(reads, r...)
	}

	fmt.Printf("\nEvent store append and read throughput, %d CPUs, GOMAXPROCS=%d, %d event(s) per append, %s per row\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), *events, *duration)
	fmt.Println("NOTE: the KurrentDB rows run against internal/kurrentfake, an in-process test double of KurrentDB's gRPC protocol;")
	fmt.Println("they measure the adapter and the client over loopback gRPC, not a KurrentDB server. PostgreSQL: throwaway cluster, fsync off.")
	fmt.Println("kurrentdb Store appends claim each event ID first (one extra append per event; see eventstore/kurrentdb's doc).")
	fmt.Println()
	return printTables(os.Stdout, rows, reads)
}

// appendFunc performs one append and returns the events written.
type appendFunc func(ctx context.Context) (int, error)

func storeAppender(s eventstore.Store, n int) appendFunc {
	stream := "bench-" + uuid.NewString()
	var version uint64
	return func(ctx context.Context) (int, error) {
		res, err := s.Append(ctx, stream, eventstore.Exact(version), storebench.Events(n))
		if err != nil {
			return 0, err
		}
		version = res.Version
		return n, nil
	}
}

func rawAppender(c *esdb.Client, n int) appendFunc {
	stream := "bench-raw-" + uuid.NewString()
	var exp esdb.ExpectedRevision = esdb.NoStream{}
	return func(ctx context.Context) (int, error) {
		evs := make([]esdb.EventData, n)
		for i, e := range storebench.Events(n) {
			evs[i] = esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: []byte(`{"schoolId":"s"}`)}
		}
		wr, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
		if err != nil {
			return 0, err
		}
		exp = esdb.Revision(wr.NextExpectedVersion)
		return n, nil
	}
}

type appendRow struct {
	store    string
	writers  int
	events   int
	took     time.Duration
	p50, p99 time.Duration
}

func measureAppends(ctx context.Context, mk func() appendFunc, writers int, d time.Duration) (appendRow, error) {
	var (
		mu      sync.Mutex
		lat     []time.Duration
		total   int
		firstEr error
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range writers {
		fn := mk()
		wg.Go(func() {
			var mine []time.Duration
			n := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				k, err := fn(ctx)
				if err != nil {
					mu.Lock()
					firstEr = cmpErr(firstEr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
				n += k
			}
			mu.Lock()
			lat = append(lat, mine...)
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstEr != nil {
		return appendRow{}, firstEr
	}
	slices.Sort(lat)
	return appendRow{events: total, took: time.Since(start), p50: pct(lat, 0.50), p99: pct(lat, 0.99)}, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func pct(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

type readRow struct {
	store, what string
	events      int
	took        time.Duration
}

// measureReads writes n events over 10 streams (appends of 10), then
// reads the whole log with ReadAll in pages of 500, and each stream
// with ReadStream.
func measureReads(ctx context.Context, store string, s eventstore.Store, n int) ([]readRow, error) {
	const streams, per = 10, 10
	names := make([]string, streams)
	versions := make([]uint64, streams)
	for i := range names {
		names[i] = "read-" + uuid.NewString()
	}
	for i := 0; i*per < n; i++ {
		k := i % streams
		res, err := s.Append(ctx, names[k], eventstore.Exact(versions[k]), storebench.Events(per))
		if err != nil {
			return nil, err
		}
		versions[k] = res.Version
	}
	head, err := s.Head(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var after eventstore.Position
	all := 0
	for after != head {
		batch, err := s.ReadAll(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		all += len(batch)
		after = batch[len(batch)-1].Position
	}
	rows := []readRow{{what: "ReadAll, pages of 500, whole log", events: all, took: time.Since(start)}}
	start = time.Now()
	got := 0
	for _, name := range names {
		evs, err := s.ReadStream(ctx, name, 0, 0)
		if err != nil {
			return nil, err
		}
		got += len(evs)
	}
	rows = append(rows, readRow{what: fmt.Sprintf("ReadStream, %d streams of ~%d", streams, got/streams), events: got, took: time.Since(start)})
	for i := range rows {
		rows[i].store = store
	}
	return rows, nil
}

func printTables(w io.Writer, rows []appendRow, reads []readRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APPEND\twriters\tevents/s\tp50\tp99\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t\n", r.store, r.writers, float64(r.events)/r.took.Seconds(), ms(r.p50), ms(r.p99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "READ\thow\tevents\tevents/s\t")
	for _, r := range reads {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t\n", r.store, r.what, r.events, float64(r.events)/r.took.Seconds())
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// throwawayPostgres opens a migrated database of a throwaway cluster
// (internal/benchdb) with a pool of conns connections.
func throwawayPostgres(ctx context.Context, conns int) (*pgxpool.Pool, func() error, error) {
	db, err := benchdb.Open(ctx, "", "kurrentbench", false)
	if err != nil {
		return nil, nil, err
	}
	pc, err := db.PoolConfig(conns)
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	if err := migrations.Apply(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, errors.Join(err, db.Close())
	}
	return pool, func() error { pool.Close(); return db.Close() }, nil
}
