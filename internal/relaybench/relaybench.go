// Package relaybench measures the Kafka relay (transport/kafka): its
// throughput from the event store to broker-acknowledged, beside a raw
// sarama producer sending the same messages to the same broker in the same
// run, and the end-to-end latency from an append to a consumer receiving
// the event at a steady rate. cmd/relaybench prints the tables.
package relaybench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// Config of a run.
type Config struct {
	// Kafka reaches the broker (its topics are created if missing).
	Kafka kafka.Config
	// Events and Streams: the throughput log (default 100,000 events over
	// 1,000 streams), appended before the measurement.
	Events  int
	Streams int
	// Rounds of each throughput side, alternating which goes first
	// (default 3).
	Rounds int
	// Rate and Duration of the latency measurement (default 1,000
	// events/s for 10s).
	Rate     int
	Duration time.Duration
	Logger   *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Events == 0 {
		c.Events = 100_000
	}
	if c.Streams == 0 {
		c.Streams = 1_000
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.Rate == 0 {
		c.Rate = 1_000
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Throughput is one side's measurements: events per second of each round.
type Throughput struct {
	Rounds []float64
}

// Median is the median round.
func (t Throughput) Median() float64 {
	if len(t.Rounds) == 0 {
		return 0
	}
	s := slices.Clone(t.Rounds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Latency is the end-to-end latency measurement.
type Latency struct {
	Rate          int
	Sent, Arrived int
	P50, P99, Max time.Duration
	// AppendP50 and AppendP99 are of the Append calls alone (the part of
	// the latency that is the store's, not the relay's).
	AppendP50, AppendP99 time.Duration
}

// Result of a run.
type Result struct {
	Events, Streams int
	Raw, Relay      Throughput
	Latency         Latency
}

// Ratio is relay/raw, by medians.
func (r Result) Ratio() float64 {
	if r.Raw.Median() == 0 {
		return 0
	}
	return r.Relay.Median() / r.Raw.Median()
}

// Run appends the throughput log, measures both sides, then the latency.
// The database of pool must be migrated and empty of events (the relay
// starts from the log's beginning). progress, if not nil, gets a line per
// measurement.
func Run(ctx context.Context, pool *pgxpool.Pool, cfg Config, progress io.Writer) (Result, error) {
	cfg.setDefaults()
	if progress == nil {
		progress = io.Discard
	}
	res := Result{Events: cfg.Events, Streams: cfg.Streams}
	if err := kafka.EnsureTopics(ctx, cfg.Kafka, cfg.Logger); err != nil {
		return res, err
	}
	store := postgres.New(pool)
	fmt.Fprintf(progress, "appending %d events to %d streams...\n", cfg.Events, cfg.Streams)
	if err := appendLog(ctx, store, cfg.Events, cfg.Streams); err != nil {
		return res, err
	}
	log, err := store.ReadAll(ctx, 0, 0)
	if err != nil {
		return res, err
	}
	msgs := make([]*sarama.ProducerMessage, len(log))
	for i, e := range log {
		if msgs[i], err = cfg.Kafka.ProducerMessage(e); err != nil {
			return res, err
		}
	}

	for round := range cfg.Rounds {
		sides := []string{"raw", "relay"}
		if round%2 == 1 {
			sides = []string{"relay", "raw"}
		}
		for _, side := range sides {
			var rate float64
			if side == "raw" {
				rate, err = rawProducer(ctx, cfg.Kafka, msgs)
			} else {
				rate, err = relayOnce(ctx, cfg, store, pool, fmt.Sprintf("bench-%d", round), uint64(len(log)))
			}
			if err != nil {
				return res, fmt.Errorf("relaybench: %s, round %d: %w", side, round+1, err)
			}
			if side == "raw" {
				res.Raw.Rounds = append(res.Raw.Rounds, rate)
			} else {
				res.Relay.Rounds = append(res.Relay.Rounds, rate)
			}
			fmt.Fprintf(progress, "  round %d  %-5s  %8.0f events/s\n", round+1, side, rate)
		}
	}

	fmt.Fprintf(progress, "latency at %d events/s for %s...\n", cfg.Rate, cfg.Duration)
	res.Latency, err = latency(ctx, cfg, store, pool)
	return res, err
}

// appendLog appends events events spread over streams streams, a few
// hundred at a time, concurrently (set-up, not measured).
func appendLog(ctx context.Context, store eventstore.Store, events, streams int) error {
	perStream := events / streams
	extra := events % streams
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for s := range streams {
		n := perStream
		if s < extra {
			n++
		}
		stream := fmt.Sprintf("teacher-bench-%s-%d", uuid.NewString()[:8], s)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for done := 0; done < n; {
				k := min(100, n-done)
				batch := make([]eventstore.EventData, k)
				for i := range batch {
					batch[i] = Event(stream, done+i+1)
				}
				if _, err := store.Append(ctx, stream, eventstore.Exact(uint64(done)), batch); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				done += k
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Event is a benchmark event: a real event type, about 300 bytes of data.
func Event(stream string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:   uuid.New(),
		Type: domain.TeacherPreferencesUpdatedType,
		Data: fmt.Appendf(nil, `{"teacherId":%q,"schoolId":"bench-school","preferences":{"preferredTimeSlots":["morning","afternoon"],"maxClassesPerDay":%d},"at":"2025-09-01T08:30:00Z"}`, stream, n%10+1),
		Metadata: eventstore.Metadata{SchoolID: "bench-school", ActorID: "bench", ActorRole: "school_admin",
			CorrelationID: uuid.NewString(), RequestID: uuid.NewString()},
	}
}

// rawProducer sends msgs with a sarama AsyncProducer of the relay's
// producer settings (idempotent, acks=all, batched), as fast as it takes
// them, and returns events/s from the first send to the last
// acknowledgement.
func rawProducer(ctx context.Context, kcfg kafka.Config, msgs []*sarama.ProducerMessage) (float64, error) {
	sc, err := kcfg.ProducerSaramaConfig()
	if err != nil {
		return 0, err
	}
	p, err := sarama.NewAsyncProducer(kcfg.Brokers, sc)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range len(msgs) {
			select {
			case <-p.Successes():
			case pe := <-p.Errors():
				if firstErr == nil {
					firstErr = pe.Err
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	for _, m := range msgs {
		// A copy: the producer owns what it is given.
		c := *m
		c.Metadata = nil
		select {
		case p.Input() <- &c:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	<-done
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(len(msgs)) / elapsed.Seconds(), nil
}

// relayOnce runs a relay of a new name (so from the log's start) until
// the brokers acknowledged all n events; events/s from its start.
func relayOnce(ctx context.Context, cfg Config, store eventstore.Store, pool *pgxpool.Pool, name string, n uint64) (float64, error) {
	r, err := kafka.NewRelay(kafka.RelayConfig{Kafka: cfg.Kafka, Name: name, Logger: cfg.Logger, Registerer: prometheus.NewRegistry(),
		StatusInterval: time.Hour}, store, pool)
	if err != nil {
		return 0, err
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(rctx) }()
	defer func() { stop(); <-done }()
	for {
		if r.Published() >= n {
			return float64(n) / time.Since(start).Seconds(), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case err := <-done:
			return 0, fmt.Errorf("relay stopped: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// latency appends single events at cfg.Rate for cfg.Duration while a
// relay publishes and a plain franz-go consumer reads, and measures from
// just before each Append to the consumer receiving the event.
func latency(ctx context.Context, cfg Config, store eventstore.Store, pool *pgxpool.Pool) (Latency, error) {
	lat := Latency{Rate: cfg.Rate}
	// The relay first catches up with the throughput log (a name of its
	// own), so only the paced events are measured.
	r, err := kafka.NewRelay(kafka.RelayConfig{Kafka: cfg.Kafka, Name: "bench-latency", Logger: cfg.Logger,
		Registerer: prometheus.NewRegistry(), StatusInterval: time.Hour}, store, pool)
	if err != nil {
		return lat, err
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { stop(); <-done }()
	for {
		st, err := r.Status(ctx)
		if err != nil {
			return lat, err
		}
		if st.Lag == 0 && st.Active {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The consumer starts at the topics' ends: only what comes next.
	topic := cfg.Kafka.Topic(domain.ChannelTeacher)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return lat, err
	}
	defer cl.Close()
	// Let the consumer take its position before the first event.
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	cl.PollFetches(pctx)
	cancel()

	var (
		sentAt      sync.Map // event ID -> time.Time
		mu          sync.Mutex
		samples     []time.Duration
		arrived     atomic.Int64
		sent        atomic.Int64
		appendMu    sync.Mutex
		errs        []error
		appendTimes []time.Duration
	)
	consumed := make(chan struct{})
	cctx, stopConsumer := context.WithCancel(ctx)
	go func() {
		defer close(consumed)
		for cctx.Err() == nil {
			fetches := cl.PollFetches(cctx)
			now := time.Now()
			fetches.EachRecord(func(rec *kgo.Record) {
				for _, h := range rec.Headers {
					if h.Key != kafka.HeaderID {
						continue
					}
					id, err := uuid.Parse(string(h.Value))
					if err != nil {
						return
					}
					if t0, ok := sentAt.LoadAndDelete(id); ok {
						mu.Lock()
						samples = append(samples, now.Sub(t0.(time.Time)))
						mu.Unlock()
						arrived.Add(1)
					}
				}
			})
		}
	}()

	// Pace: one event every 1/Rate, each appended by a pool of writers
	// (an append takes longer than the interval at high rates).
	total := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	interval := time.Second / time.Duration(cfg.Rate)
	work := make(chan int, total)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				stream := fmt.Sprintf("teacher-latency-%d", i)
				e := Event(stream, 1)
				t0 := time.Now()
				sentAt.Store(e.ID, t0)
				_, err := store.Append(ctx, stream, eventstore.NoStream(), []eventstore.EventData{e})
				took := time.Since(t0)
				appendMu.Lock()
				if err != nil {
					errs = append(errs, err)
					appendMu.Unlock()
					return
				}
				appendTimes = append(appendTimes, took)
				appendMu.Unlock()
				sent.Add(1)
			}
		})
	}
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		work <- i
	}
	close(work)
	wg.Wait()
	// Wait for the stragglers, a second at most.
	deadline := time.Now().Add(time.Second)
	for arrived.Load() < sent.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopConsumer()
	<-consumed
	if err := errors.Join(errs...); err != nil {
		return lat, err
	}
	lat.Sent, lat.Arrived = int(sent.Load()), int(arrived.Load())
	slices.Sort(samples)
	if len(samples) > 0 {
		lat.P50 = samples[percentileIndex(len(samples), 0.50)]
		lat.P99 = samples[percentileIndex(len(samples), 0.99)]
		lat.Max = samples[len(samples)-1]
	}
	slices.Sort(appendTimes)
	if len(appendTimes) > 0 {
		lat.AppendP50 = appendTimes[percentileIndex(len(appendTimes), 0.50)]
		lat.AppendP99 = appendTimes[percentileIndex(len(appendTimes), 0.99)]
	}
	return lat, nil
}

func percentileIndex(n int, p float64) int {
	return min(max(int(p*float64(n)+0.5)-1, 0), n-1)
}

// Print writes the result as tables under header. storeRate is the
// store's append rate to compare with (0: not measured).
func Print(w io.Writer, header string, r Result, storeRate float64) error {
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "side\tmedian events/s\trounds\t")
	fmt.Fprintf(tw, "raw sarama producer\t%.0f\t%s\t\n", r.Raw.Median(), rounds(r.Raw))
	fmt.Fprintf(tw, "relay (store -> acked)\t%.0f\t%s\t\n", r.Relay.Median(), rounds(r.Relay))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "relay/raw = %.2f (goal >= 0.50: %s)\n", r.Ratio(), verdict(r.Ratio() >= 0.5))
	if storeRate > 0 {
		fmt.Fprintf(w, "store append rate, 32 writers, 1 event per append: %.0f events/s; relay/store = %.2f (goal > 1: %s)\n",
			storeRate, r.Relay.Median()/storeRate, verdict(r.Relay.Median() > storeRate))
	}
	l := r.Latency
	fmt.Fprintf(w, "\nEnd-to-end latency, Append called -> plain consumer received, at %d events/s: %d sent, %d arrived\n", l.Rate, l.Sent, l.Arrived)
	fmt.Fprintf(w, "p50 %s  p99 %s  max %s (goal p99 <= 20ms: %s)\n", ms(l.P50), ms(l.P99), ms(l.Max), verdict(l.P99 <= 20*time.Millisecond && l.Arrived == l.Sent))
	fmt.Fprintf(w, "of which the Append call alone: p50 %s  p99 %s\n", ms(l.AppendP50), ms(l.AppendP99))
	return nil
}

func rounds(t Throughput) string {
	s := ""
	for i, r := range t.Rounds {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.0f", r)
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
