package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Handler is one subscriber of the event topics: a projection, a saga, a
// notifier. Every Handler of a Router is its own Kafka consumer group, so
// each sees every event of its channels, whatever the other handlers do.
//
// Handle gets every event of the handler's channels, one partition at a
// time in offset order (so one stream's events in order), and must return
// nil for the event types it does not handle: nil acknowledges the message
// and commits its offset. An error is retried with backoff; once the
// retries are spent, or at once for an error wrapped in Permanent, the
// message goes to the dead-letter topic and the handler moves on.
//
// Handle must be safe to run concurrently (events of different partitions
// are handled in parallel) and twice on the same event: delivery is at
// least once. A message is redelivered when the service stops or the
// partitions move to another replica before its offset is committed, and
// a re-driven dead letter comes back even to the handlers that had handled
// it. Deduplicate by Event.ID, or make the effect idempotent (a projection
// keeps its checkpoint in the same transaction as its read model; a saga
// derives its command IDs from the event ID).
//
// Handle must also honour ctx: it is cancelled when the attempt times out
// (RouterConfig.HandlerTimeout) and when the router stops. An error after
// the router began to stop is not a failure: the message stays
// unacknowledged and is delivered again after the restart.
type Handler struct {
	// Name identifies the handler; its consumer group is
	// <topic prefix>.<Name>. Keep it constant: a new name is a new group,
	// which starts again from the oldest retained message of every topic.
	Name string
	// Channels are the channels whose topics the handler consumes.
	Channels []domain.Channel
	// Handle processes one event.
	Handle func(ctx context.Context, e Event) error
	// HandleBatch, when set, gets what a partition has waiting (up to
	// RouterConfig.MaxBatch messages) at once, in offset order, instead of
	// Handle one message at a time: a handler that is slower per call than
	// per event (one database transaction for many events, as the
	// projections' group commit) keeps up with a partition that receives
	// more than one event per call. It must handle the events in their
	// order; nil acknowledges them all. An error, a panic or a timeout
	// makes the router handle each message of the batch again with Handle,
	// with its retries and dead-lettering, so Handle is required too, and
	// sees events that HandleBatch may already have handled (as after any
	// redelivery). Events are decoded first: a batch with an undecodable
	// message goes to Handle's way at once. The context of HandleBatch
	// carries the router's logger (LoggerFrom) but no correlation ID.
	HandleBatch func(ctx context.Context, events []Event) error
	// FetchWait, when set, lets the broker hold the handler's fetches up
	// to this long to gather messages (Kafka's fetch.max.wait.ms, with a
	// fetch.min.bytes of fetchWaitMinBytes), where it otherwise answers
	// as soon as one message arrives. It suits a handler over many
	// topics that need not see each event at once: each fetch lists
	// every partition of its topics, and both the broker and the client
	// work per partition listed, so a handler woken by every event of the
	// system costs more than the events do. Its events arrive up to
	// FetchWait late. At most MaxFetchWait.
	FetchWait time.Duration
}

// fetchWaitMinBytes is the fetch.min.bytes of a handler with a FetchWait:
// more than a few hundred events, so that under load its fetches are
// answered before the wait is up.
const fetchWaitMinBytes = 1 << 20

// MaxFetchWait bounds Handler.FetchWait, well within the clients' read
// timeout.
const MaxFetchWait = 5 * time.Second

// Retry bounds the attempts at a message whose handler fails.
type Retry struct {
	// Attempts in all, the first included (default 5). 1 dead-letters a
	// failing message at once.
	Attempts int
	// InitialBackoff is the wait after the first failure (default 100ms);
	// it doubles after every further failure, up to MaxBackoff (default
	// 2s). No jitter: a partition's messages are handled one at a time, so
	// retries of one consumer never pile up on each other.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// Defaults of RouterConfig.
const (
	DefaultRetryAttempts       = 5
	DefaultRetryInitialBackoff = 100 * time.Millisecond
	DefaultRetryMaxBackoff     = 2 * time.Second
	DefaultHandlerTimeout      = 30 * time.Second
	DefaultCloseTimeout        = 30 * time.Second
	DefaultMaxBatch            = 256
)

// RouterConfig configures a Router; zero values take the defaults above.
type RouterConfig struct {
	Kafka Config
	// Logger receives the router's logs; handlers get it, with the
	// message's coordinates and correlation ID, from LoggerFrom(ctx).
	Logger *slog.Logger
	// Registerer gets the consumer metrics; nil registers none. Routers
	// may share a registerer: they share the metrics, labelled by handler.
	Registerer prometheus.Registerer
	Retry      Retry
	// HandlerTimeout bounds one attempt of Handle (its ctx's deadline).
	HandlerTimeout time.Duration
	// CloseTimeout is how long in-flight handlers get when the router
	// stops before Run returns regardless.
	CloseTimeout time.Duration
	// MaxBatch bounds the messages of one HandleBatch call (default 256).
	MaxBatch int
}

func (c *RouterConfig) setDefaults() {
	c.Kafka.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = DefaultRetryAttempts
	}
	if c.Retry.InitialBackoff == 0 {
		c.Retry.InitialBackoff = DefaultRetryInitialBackoff
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = DefaultRetryMaxBackoff
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = DefaultHandlerTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
}

// Validate reports every problem of the configuration and the handlers at
// once.
func (c RouterConfig) Validate(handlers ...Handler) error {
	errs := []error{c.Kafka.Validate()}
	if c.Retry.Attempts < 1 {
		errs = append(errs, fmt.Errorf("kafka: retry attempts must be at least 1, got %d", c.Retry.Attempts))
	}
	if c.Retry.InitialBackoff < 0 || c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		errs = append(errs, fmt.Errorf("kafka: retry backoff must satisfy 0 <= initial (%s) <= max (%s)", c.Retry.InitialBackoff, c.Retry.MaxBackoff))
	}
	if c.HandlerTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafka: handler timeout must be positive, got %s", c.HandlerTimeout))
	}
	if c.CloseTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafka: close timeout must be positive, got %s", c.CloseTimeout))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("kafka: max batch must be positive, got %d", c.MaxBatch))
	}
	if len(handlers) == 0 {
		errs = append(errs, errors.New("kafka: a router needs at least one handler"))
	}
	names := map[string]bool{}
	for i, h := range handlers {
		label := fmt.Sprintf("handler %d %q", i, h.Name)
		switch {
		case !validTopicPart(h.Name):
			errs = append(errs, fmt.Errorf("kafka: %s: name must be 1-200 letters, digits, '.', '_' or '-'", label))
		case names[h.Name]:
			errs = append(errs, fmt.Errorf("kafka: %s: name used twice in one router", label))
		}
		names[h.Name] = true
		if h.Handle == nil {
			errs = append(errs, fmt.Errorf("kafka: %s: Handle is nil", label))
		}
		if len(h.Channels) == 0 {
			errs = append(errs, fmt.Errorf("kafka: %s: no channels", label))
		}
		if h.FetchWait < 0 || h.FetchWait > MaxFetchWait {
			errs = append(errs, fmt.Errorf("kafka: %s: fetch wait must be between 0 and %s, got %s", label, MaxFetchWait, h.FetchWait))
		}
		seen := map[domain.Channel]bool{}
		for _, ch := range h.Channels {
			switch {
			case !slices.Contains(domain.Channels(), ch):
				errs = append(errs, fmt.Errorf("kafka: %s: unknown channel %q", label, ch))
			case seen[ch]:
				errs = append(errs, fmt.Errorf("kafka: %s: channel %q listed twice", label, ch))
			}
			seen[ch] = true
		}
	}
	return errors.Join(errs...)
}

// Router runs handlers over the event topics with Watermill: one Kafka
// consumer group per handler, one subscription per channel. Every message
// goes through the same steps, in this order:
//
//  1. correlation: the message's ce_correlationid and coordinates go into
//     the context and the logger (CorrelationIDFrom, LoggerFrom);
//  2. decoding into an Event (DecodeMessage), checking that its type
//     belongs to the topic's channel and that its body decodes into that
//     type: a failure is permanent;
//  3. retry: up to Retry.Attempts calls with doubling backoff, stopping at
//     a permanent error;
//  4. per attempt, the timeout (HandlerTimeout) and panic recovery: a
//     panic is an error of that attempt, never a crash;
//  5. dead-lettering: a message that failed for good is published to the
//     dead-letter topic with its error and origin in dlq_ headers (see
//     DeadLetter) and then acknowledged, so the partition moves on. If the
//     dead-letter topic cannot be written, the message stays
//     unacknowledged and is delivered again.
//
// Offsets are committed only for acknowledged messages: handled, ignored
// (Handle returned nil) or dead-lettered.
//
// watermill-kafka subscribes topic by topic, so a handler of n channels
// is n members of its consumer group, each consuming one topic; replicas
// of the service add as many members again and share each topic's
// partitions. A handler with HandleBatch runs on sarama directly instead
// (batch.go): one member of its group for all its topics.
type Router struct {
	cfg         RouterConfig
	handlers    []Handler
	log         *slog.Logger
	metrics     *consumerMetrics
	wm          *message.Router
	subscribers []*wmkafka.Subscriber
	batchers    []*batchConsumer
	producerCfg *sarama.Config
	ran         atomic.Bool
	running     chan struct{} // closed once wm and the batchers run

	// dlq is the dead-letter producer, opened by Run before any message
	// can arrive.
	dlq sarama.SyncProducer
}

// NewRouter is NewRouterWithConfig with the default retry, timeouts and
// the given logger and metrics registerer.
func NewRouter(cfg Config, logger *slog.Logger, reg prometheus.Registerer, handlers ...Handler) (*Router, error) {
	return NewRouterWithConfig(RouterConfig{Kafka: cfg, Logger: logger, Registerer: reg}, handlers...)
}

// NewRouterWithConfig builds a router for the handlers. It checks the
// configuration but does not connect: Run does.
func NewRouterWithConfig(cfg RouterConfig, handlers ...Handler) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(handlers...); err != nil {
		return nil, err
	}
	consumerCfg, err := cfg.Kafka.ConsumerSaramaConfig()
	if err != nil {
		return nil, err
	}
	producerCfg, err := cfg.Kafka.ProducerSaramaConfig()
	if err != nil {
		return nil, err
	}
	metrics, err := newConsumerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	// Watermill's Info logs are per subscription and reconnection: debug
	// detail for us.
	wlog := watermill.NewSlogLoggerWithLevelMapping(cfg.Logger.With("component", "watermill"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	wm, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wlog)
	if err != nil {
		return nil, err
	}
	r := &Router{
		cfg:         cfg,
		handlers:    slices.Clone(handlers),
		log:         cfg.Logger,
		metrics:     metrics,
		wm:          wm,
		producerCfg: producerCfg,
		running:     make(chan struct{}),
	}
	for _, h := range handlers {
		group := ConsumerGroup(cfg.Kafka, h.Name)
		if h.HandleBatch != nil {
			r.batchers = append(r.batchers, newBatchConsumer(r, h, group, consumerConfigFor(consumerCfg, h)))
			continue
		}
		sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
			Brokers:               cfg.Kafka.Brokers,
			Unmarshaler:           Marshaler{},
			OverwriteSaramaConfig: consumerConfigFor(consumerCfg, h),
			ConsumerGroup:         group,
		}, wlog)
		if err != nil {
			return nil, fmt.Errorf("kafka: subscriber of handler %s: %w", h.Name, err)
		}
		r.subscribers = append(r.subscribers, sub)
		for _, ch := range h.Channels {
			c := &consumer{
				r:       r,
				h:       h,
				channel: ch,
				topic:   cfg.Kafka.Topic(ch),
				log:     cfg.Logger.With("handler", h.Name, "consumer_group", group),
			}
			// Watermill names must be unique per router; ours are per
			// handler, so the topic completes them.
			wm.AddConsumerHandler(h.Name+"@"+c.topic, c.topic, sub, c.handle)
		}
	}
	return r, nil
}

// consumerConfigFor is the consumer configuration of handler h: shared,
// unless h has a FetchWait.
func consumerConfigFor(shared *sarama.Config, h Handler) *sarama.Config {
	if h.FetchWait == 0 {
		return shared
	}
	c := *shared
	c.Consumer.MaxWaitTime = h.FetchWait
	c.Consumer.Fetch.Min = fetchWaitMinBytes
	return &c
}

// ConsumerGroup is the consumer group of the handler called name:
// <topic prefix>.<name>.
func ConsumerGroup(cfg Config, name string) string {
	return cfg.WithDefaults().TopicPrefix + "." + name
}

// Run creates the topics that are missing, connects and handles messages
// until ctx is done, then waits for in-flight handlers (up to
// CloseTimeout) and leaves the consumer groups, committing what was
// acknowledged. A router runs once.
func (r *Router) Run(ctx context.Context) (err error) {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("kafka: router already ran; build a new one")
	}
	if err := EnsureTopics(ctx, r.cfg.Kafka, r.log); err != nil {
		return err
	}
	r.dlq, err = sarama.NewSyncProducer(r.cfg.Kafka.Brokers, r.producerCfg)
	if err != nil {
		return fmt.Errorf("kafka: dead-letter producer: connect to %s: %w", strings.Join(r.cfg.Kafka.Brokers, ","), err)
	}
	defer func() {
		// Subscribers first: no handler may dead-letter after the
		// producer is closed.
		for _, s := range r.subscribers {
			err = errors.Join(err, s.Close())
		}
		err = errors.Join(err, r.dlq.Close())
	}()
	names := make([]string, len(r.handlers))
	for i, h := range r.handlers {
		names[i] = h.Name
	}
	r.log.Info("kafka router starting", "handlers", names)
	bctx, stopBatchers := context.WithCancel(ctx)
	batchersDone := make(chan struct{})
	go func() {
		defer close(batchersDone)
		var wg sync.WaitGroup
		for _, b := range r.batchers {
			wg.Go(func() { b.run(bctx) })
		}
		wg.Wait()
	}()
	defer func() {
		// The batchers stop with ctx; they get CloseTimeout, as Watermill's
		// handlers do, to finish what they are handling.
		stopBatchers()
		select {
		case <-batchersDone:
		case <-time.After(r.cfg.CloseTimeout):
			r.log.Warn("kafka router: batch handlers did not stop in time", "timeout", r.cfg.CloseTimeout.String())
		}
	}()
	if len(r.subscribers) == 0 { // every handler batches: nothing runs on wm
		close(r.running)
		<-ctx.Done()
		r.log.Info("kafka router stopped", "handlers", names)
		return nil
	}
	go func() {
		select {
		case <-r.wm.Running():
			close(r.running)
		case <-ctx.Done():
		}
	}()
	if err := r.wm.Run(ctx); err != nil {
		return fmt.Errorf("kafka: router: %w", err)
	}
	if err := ctx.Err(); err == nil {
		// Watermill stops when every subscription ended by itself.
		return errors.New("kafka: router stopped: every subscription ended")
	}
	r.log.Info("kafka router stopped", "handlers", names)
	return nil
}

// Running is closed once every subscription has started (the consumer
// groups may still be joining).
func (r *Router) Running() chan struct{} { return r.running }

// consumer is one handler's subscription to one channel's topic.
type consumer struct {
	r       *Router
	h       Handler
	channel domain.Channel
	topic   string
	log     *slog.Logger
}

// Outcomes of a message, the values of kafka_consumer_messages_total's
// outcome label.
const (
	outcomeOK           = "ok"            // handled or ignored; acknowledged
	outcomeDeadLettered = "dead_lettered" // published to the DLQ; acknowledged
	outcomeRequeued     = "requeued"      // left unacknowledged: router stopping or DLQ unwritable
)

// Reasons a message was dead-lettered, the values of
// kafka_consumer_dead_letters_total's reason label.
const (
	reasonPermanent = "permanent"         // undecodable message or a Permanent error
	reasonRetries   = "retries_exhausted" // failed every attempt
)

// handle is the Watermill handler of the subscription: nil acknowledges.
func (c *consumer) handle(msg *message.Message) error {
	return c.handleMessage(msg, originOf(msg, c.topic), time.Now())
}

// handleMessage handles one message that came from o and was received at
// start: nil acknowledges it; an error leaves it for redelivery (the
// router is stopping, or the dead-letter topic cannot be written).
func (c *consumer) handleMessage(msg *message.Message, o origin, start time.Time) error {
	ctx := msg.Context()
	log := c.log.With("topic", o.topic, "partition", o.partition, "offset", o.offset,
		"event_id", msg.Metadata.Get(HeaderID), "event_type", msg.Metadata.Get(HeaderType))
	cid := msg.Metadata.Get(HeaderCorrelationID)
	if cid != "" {
		log = log.With("correlation_id", cid)
	}
	ctx = context.WithValue(ctx, ctxKey{}, &handlerContext{correlationID: cid, logger: log})

	attempts := 0
	e, err := c.decode(msg)
	if err == nil {
		attempts, err = c.retry(ctx, log, func(ctx context.Context) error { return c.attempt(ctx, log, e) })
	}
	outcome := outcomeOK
	defer func() {
		c.r.metrics.messages.WithLabelValues(c.h.Name, outcome).Inc()
		c.r.metrics.duration.WithLabelValues(c.h.Name).Observe(time.Since(start).Seconds())
	}()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Stopping: not the message's fault. Unacknowledged, it is
		// delivered again after the restart.
		outcome = outcomeRequeued
		return fmt.Errorf("kafka: handler %s interrupted: %w", c.h.Name, ctx.Err())
	}
	reason := reasonRetries
	if IsPermanent(err) {
		reason = reasonPermanent
	}
	if derr := c.deadLetter(msg, o, err, attempts); derr != nil {
		outcome = outcomeRequeued
		log.Error("cannot dead-letter a failed message; it will be delivered again", "error", err, "dlq_error", derr)
		return derr
	}
	outcome = outcomeDeadLettered
	c.r.metrics.deadLetters.WithLabelValues(c.h.Name, reason).Inc()
	log.Error("message dead-lettered", "error", err, "attempts", attempts, "reason", reason,
		"dlq_topic", c.r.cfg.Kafka.DLQTopic())
	return nil
}

// decode turns the message into an Event. Every failure is permanent: the
// same bytes never decode better on a second try.
func (c *consumer) decode(msg *message.Message) (Event, error) {
	return c.check(DecodeMessage(msg))
}

// decodeRecord is decode for a record not made into a Watermill message
// (a batch's).
func (c *consumer) decodeRecord(km *sarama.ConsumerMessage) (Event, error) {
	return c.check(decodeRecord(km))
}

// check completes decode: the message decoded into e (or failed with
// err) must be an event of the topic's channel whose body decodes.
func (c *consumer) check(e Event, err error) (Event, error) {
	if err != nil {
		return Event{}, Permanent(fmt.Errorf("undecodable message: %w", err))
	}
	if e.Channel != c.channel {
		return Event{}, Permanent(fmt.Errorf("event type %s belongs to channel %s, not to %s of topic %s",
			e.Type, e.Channel, c.channel, c.topic))
	}
	body, err := e.Decode()
	if err != nil {
		return Event{}, Permanent(fmt.Errorf("undecodable %s body: %w", e.Type, err))
	}
	e.body = body // kept: the handler need not decode it again
	return e, nil
}

// retry calls fn until it succeeds, fails permanently, ctx is done or the
// attempts are spent, waiting the backoff between calls. It returns the
// number of calls made and the last error.
func (c *consumer) retry(ctx context.Context, log *slog.Logger, fn func(context.Context) error) (int, error) {
	backoff := c.r.cfg.Retry.InitialBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || IsPermanent(err) || ctx.Err() != nil || attempt >= c.r.cfg.Retry.Attempts {
			return attempt, err
		}
		c.r.metrics.retries.WithLabelValues(c.h.Name).Inc()
		log.Warn("handler failed; retrying", "error", err, "attempt", attempt, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
		backoff = min(2*backoff, c.r.cfg.Retry.MaxBackoff)
	}
}

// attempt is one call of Handle, bounded by the handler timeout, with a
// panic turned into its error.
func (c *consumer) attempt(ctx context.Context, log *slog.Logger, e Event) error {
	return c.guarded(ctx, log, "handler", func(ctx context.Context) error { return c.h.Handle(ctx, e) })
}

// guarded runs one call of a handler (what names it in logs and errors),
// bounded by the handler timeout, with a panic turned into its error.
func (c *consumer) guarded(ctx context.Context, log *slog.Logger, what string, call func(context.Context) error) (err error) {
	actx, cancel := context.WithTimeout(ctx, c.r.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			stack := debug.Stack()
			log.Error(what+" panicked", "panic", p, "stack", string(stack))
			err = &PanicError{Value: p, Stack: stack}
		}
	}()
	err = call(actx)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s timed out after %s: %w", what, c.r.cfg.HandlerTimeout, err)
	}
	return err
}

// PanicError is the error of a handler attempt that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// Permanent marks err as one that retrying cannot fix (the event can never
// be processed as it is): the message goes to the dead-letter topic at
// once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err is, or wraps, an error from Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// origin is where a consumed message came from.
type origin struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
}

func originOf(msg *message.Message, topic string) origin {
	ctx := msg.Context()
	o := origin{topic: topic, partition: -1, offset: -1}
	if t := message.SubscribeTopicFromCtx(ctx); t != "" {
		o.topic = t
	}
	if p, ok := wmkafka.MessagePartitionFromCtx(ctx); ok {
		o.partition = p
	}
	if off, ok := wmkafka.MessagePartitionOffsetFromCtx(ctx); ok {
		o.offset = off
	}
	o.key, _ = wmkafka.MessageKeyFromCtx(ctx)
	return o
}

// maxDLQError bounds the dlq_error header: a wrapped error can be long,
// and a header is no place for a novel.
const maxDLQError = 4 << 10

// deadLetter publishes the message to the dead-letter topic with the same
// key, value and headers, plus the dlq_ headers, and waits for the
// broker's acknowledgement.
func (c *consumer) deadLetter(msg *message.Message, o origin, cause error, attempts int) error {
	reason := cause.Error()
	if len(reason) > maxDLQError {
		reason = reason[:maxDLQError] + "…"
	}
	keys := make([]string, 0, len(msg.Metadata))
	for k := range msg.Metadata {
		if !strings.HasPrefix(k, dlqHeaderPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // headers came in a map: a stable order at least
	headers := make([]sarama.RecordHeader, 0, len(keys)+7)
	for _, k := range keys {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(msg.Metadata[k])})
	}
	for _, h := range [][2]string{
		{HeaderDLQError, reason},
		{HeaderDLQTopic, o.topic},
		{HeaderDLQPartition, strconv.FormatInt(int64(o.partition), 10)},
		{HeaderDLQOffset, strconv.FormatInt(o.offset, 10)},
		{HeaderDLQHandler, c.h.Name},
		{HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano)},
		{HeaderDLQAttempts, strconv.Itoa(attempts)},
	} {
		headers = append(headers, sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
	}
	pm := &sarama.ProducerMessage{
		Topic:   c.r.cfg.Kafka.DLQTopic(),
		Value:   sarama.ByteEncoder(msg.Payload),
		Headers: headers,
	}
	if o.key != nil {
		pm.Key = sarama.ByteEncoder(o.key)
	}
	if _, _, err := c.r.dlq.SendMessage(pm); err != nil {
		return fmt.Errorf("kafka: publish to dead-letter topic %s: %w", pm.Topic, err)
	}
	return nil
}

type ctxKey struct{}

type handlerContext struct {
	correlationID string
	logger        *slog.Logger
}

// CorrelationIDFrom is the correlation ID of the message a handler is
// processing (its ce_correlationid header), "" if it has none. Sagas pass
// it on to the commands they issue.
func CorrelationIDFrom(ctx context.Context) string {
	if hc, ok := ctx.Value(ctxKey{}).(*handlerContext); ok {
		return hc.correlationID
	}
	return ""
}

// LoggerFrom is the logger of the message a handler is processing: the
// router's logger with the handler, topic, partition, offset, event ID and
// type, and correlation ID. Outside a handler it is a logger that discards.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if hc, ok := ctx.Value(ctxKey{}).(*handlerContext); ok {
		return hc.logger
	}
	return slog.New(slog.DiscardHandler)
}

type consumerMetrics struct {
	messages    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
}

func newConsumerMetrics(reg prometheus.Registerer) (*consumerMetrics, error) {
	m := &consumerMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_messages_total",
			Help: "Messages consumed, by handler and outcome (ok: handled or ignored; dead_lettered; requeued: left for redelivery).",
		}, []string{"handler", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kafka_consumer_handle_duration_seconds",
			Help:    "Time from receiving a message to its outcome, retries included, by handler.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"handler"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_retries_total",
			Help: "Handler attempts that failed and were retried, by handler.",
		}, []string{"handler"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_dead_letters_total",
			Help: "Messages published to the dead-letter topic, by handler and reason (permanent, retries_exhausted).",
		}, []string{"handler", "reason"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.messages, err = register(reg, m.messages); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.deadLetters, err = register(reg, m.deadLetters); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector another router already
// registered under the same name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("kafka: consumer metrics: %w", err)
	}
	return c, nil
}
