package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Headers the router adds to a dead letter, after all of the original
// message's headers. The key and value are the original's.
const (
	HeaderDLQError     = "dlq_error"     // why it failed: the handler's last error, or the decoding error
	HeaderDLQTopic     = "dlq_topic"     // where it was consumed from
	HeaderDLQPartition = "dlq_partition" // that topic's partition
	HeaderDLQOffset    = "dlq_offset"    // and offset
	HeaderDLQHandler   = "dlq_handler"   // the handler (consumer group <prefix>.<handler>) that gave up
	HeaderDLQTime      = "dlq_time"      // when, RFC 3339 UTC
	HeaderDLQAttempts  = "dlq_attempts"  // how many times the handler ran (0: undecodable)
)

// Headers of a redrive marker: a record without value that RedriveDeadLetters
// writes to the dead-letter topic after re-publishing a dead letter, so the
// next redrive (by anyone, from anywhere) skips it. The dead-letter topic
// is its own ledger; nothing is kept outside Kafka.
const (
	HeaderDLQRedriveOf  = "dlq_redrive_of"  // the dead letter's Ref: "<dlq partition>/<dlq offset>"
	HeaderDLQRedrivenTo = "dlq_redriven_to" // where it went: "<topic>/<partition>/<offset>"
)

// dlqHeaderPrefix starts every header of ours on the dead-letter topic; a
// redrive strips them.
const dlqHeaderPrefix = "dlq_"

// DeadLetter is a message of the dead-letter topic, with its dlq_ headers
// parsed.
type DeadLetter struct {
	// Ref identifies the dead letter itself: "<dlq partition>/<dlq offset>".
	// It names even a message without an event ID.
	Ref          string
	DLQPartition int32
	DLQOffset    int64

	// Where the message was consumed from, and why it failed. Topic is ""
	// (Partition and Offset -1) for an event the relay could not route:
	// its type was unknown to the build that published it.
	Topic     string
	Partition int32
	Offset    int64
	Handler   string
	Error     string
	Attempts  int
	Time      time.Time

	// EventID and EventType are the ce_id and ce_type headers, "" when
	// missing (a message that was dead-lettered for lacking them).
	EventID   string
	EventType string

	Key     []byte
	Value   []byte
	Headers []sarama.RecordHeader // all of them, the dlq_ ones included

	// RedrivenTo is where a redrive re-published the message
	// ("<topic>/<partition>/<offset>"), "" while it is pending.
	RedrivenTo string
}

// Redriven reports whether a redrive already re-published the dead letter.
func (d DeadLetter) Redriven() bool { return d.RedrivenTo != "" }

func (d DeadLetter) header(key string) string {
	for _, h := range d.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// ListDeadLetters reads the dead-letter topic from its oldest retained
// message to its end as of the call, with a plain consumer (no consumer
// group, nothing committed), and returns its dead letters, oldest first,
// with the ones already re-driven marked. A missing topic has none.
func ListDeadLetters(ctx context.Context, cfg Config) ([]DeadLetter, error) {
	cfg.setDefaults()
	sc, err := cfg.ConsumerSaramaConfig()
	if err != nil {
		return nil, err
	}
	client, err := dlqClient(cfg, sc)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	return listDeadLetters(ctx, client, cfg.DLQTopic())
}

// PendingDeadLetters returns a counter of the dead letters not yet
// re-driven (as ListDeadLetters marks them), for monitoring. It reads at
// most once per maxAge and otherwise answers with the last count (or
// failure); a caller waits for a read a few seconds at most (see
// sampled). Each read takes only what the topic gained since the last
// one (deadLetterCount). Safe for concurrent use.
func PendingDeadLetters(cfg Config, maxAge time.Duration) func(ctx context.Context) (int, error) {
	c := newDeadLetterCount(cfg)
	return sampled(c.read, maxAge, sampleWait, sampleStaleFor)
}

// dlqClient is the client that reads the dead-letter topic to its end.
func dlqClient(cfg Config, sc *sarama.Config) (sarama.Client, error) {
	// It reads up to a known offset: waiting on the broker for more
	// (long polling, 500ms by default) would only delay each partition's
	// close.
	sc.Consumer.MaxWaitTime = 20 * time.Millisecond
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	return client, nil
}

func listDeadLetters(ctx context.Context, client sarama.Client, topic string) ([]DeadLetter, error) {
	// Partitions of a missing topic would retry the metadata for seconds;
	// the client's first metadata already lists every topic.
	topics, err := client.Topics()
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	if !slices.Contains(topics, topic) {
		return nil, nil
	}
	ranges, err := partitionRanges(ctx, client, []string{topic})
	if err != nil {
		return nil, err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer of %s: %w", topic, err)
	}
	defer consumer.Close()
	var letters []DeadLetter
	redriven := map[string]string{} // Ref -> where to
	for _, p := range slices.Sorted(maps.Keys(ranges[topic])) {
		r := ranges[topic][p]
		err := readRange(ctx, consumer, topic, p, r.oldest, r.end, func(m *sarama.ConsumerMessage) {
			if of := headerOf(m.Headers, HeaderDLQRedriveOf); of != "" {
				// A marker without where its letter went re-drove nothing
				// (nor undoes a marker that says where).
				if to := headerOf(m.Headers, HeaderDLQRedrivenTo); to != "" {
					redriven[of] = to
				}
				return
			}
			letters = append(letters, parseDeadLetter(m))
		})
		if err != nil {
			return nil, err
		}
	}
	for i := range letters {
		letters[i].RedrivenTo = redriven[letters[i].Ref]
	}
	slices.SortStableFunc(letters, func(a, b DeadLetter) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.DLQPartition, b.DLQPartition), cmp.Compare(a.DLQOffset, b.DLQOffset))
	})
	return letters, nil
}

// readRange calls fn for every message of the partition from offset from
// up to end (excluded).
func readRange(ctx context.Context, consumer sarama.Consumer, topic string, p int32, from, end int64, fn func(*sarama.ConsumerMessage)) error {
	if from >= end {
		return nil
	}
	pc, err := consumer.ConsumePartition(topic, p, from)
	if err != nil {
		return fmt.Errorf("kafka: read %s/%d: %w", topic, p, err)
	}
	defer pc.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-pc.Errors():
			return fmt.Errorf("kafka: read %s/%d: %w", topic, p, err)
		case m := <-pc.Messages():
			fn(m)
			if m.Offset >= end-1 {
				return nil
			}
		}
	}
}

func parseDeadLetter(m *sarama.ConsumerMessage) DeadLetter {
	d := DeadLetter{
		Ref:          fmt.Sprintf("%d/%d", m.Partition, m.Offset),
		DLQPartition: m.Partition,
		DLQOffset:    m.Offset,
		Key:          m.Key,
		Value:        m.Value,
		Partition:    -1,
		Offset:       -1,
	}
	for _, h := range m.Headers {
		if h != nil {
			d.Headers = append(d.Headers, *h)
		}
	}
	d.Topic = d.header(HeaderDLQTopic)
	d.Handler = d.header(HeaderDLQHandler)
	d.Error = d.header(HeaderDLQError)
	d.EventID = d.header(HeaderID)
	d.EventType = d.header(HeaderType)
	if p, err := strconv.ParseInt(d.header(HeaderDLQPartition), 10, 32); err == nil {
		d.Partition = int32(p)
	}
	if o, err := strconv.ParseInt(d.header(HeaderDLQOffset), 10, 64); err == nil {
		d.Offset = o
	}
	d.Attempts, _ = strconv.Atoi(d.header(HeaderDLQAttempts))
	if t, err := time.Parse(time.RFC3339Nano, d.header(HeaderDLQTime)); err == nil {
		d.Time = t
	} else {
		d.Time = m.Timestamp.UTC()
	}
	return d
}

func headerOf(hs []*sarama.RecordHeader, key string) string {
	for _, h := range hs {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// RedriveOptions selects the dead letters to re-drive.
type RedriveOptions struct {
	// IDs are event IDs (ce_id) or dead-letter Refs; empty re-drives every
	// pending dead letter.
	IDs []string
	// DryRun selects and checks but publishes nothing.
	DryRun bool
}

// Redrive is the outcome of one dead letter in a redrive.
type Redrive struct {
	DeadLetter
	// Target is the topic it goes back to: its Topic, or for an event the
	// relay could not route, its type's channel topic in this build.
	Target string
	// To is where the message was re-published ("<topic>/<partition>/<offset>"),
	// "" in a dry run and for a dead letter of an event that another dead
	// letter of the same redrive re-published (Same names that one's Ref).
	To   string
	Same string
}

// RedriveResult lists what a redrive did.
type RedriveResult struct {
	Redriven []Redrive
	// Skipped are selected dead letters a previous redrive already
	// re-published.
	Skipped []DeadLetter
}

// RedriveDeadLetters re-publishes pending dead letters to the topics they
// were consumed from, with their original key (so the same partition),
// value and headers, the dlq_ ones left out, and then writes a redrive
// marker for each to the dead-letter topic, so a later redrive skips it.
// An event dead-lettered by several handlers is re-published once: every
// consumer group of the topic gets it again, so handlers that had handled
// it see it twice (they are idempotent). The re-published message comes
// after later events of its stream in the topic.
//
// Delivery is at least once: a crash between a re-publish and its marker
// re-publishes that message again on the next redrive, as do two redrives
// run at the same time. IDs that match no dead letter fail the whole call
// before anything is published; so does a dead letter whose dlq_topic is
// not one of the service's channel topics. A dead letter of the relay (an
// event whose type the publishing build did not know, so no dlq_topic)
// goes to its type's channel topic once a build that knows the type
// re-drives it.
func RedriveDeadLetters(ctx context.Context, cfg Config, opts RedriveOptions) (RedriveResult, error) {
	cfg.setDefaults()
	sc, err := cfg.ConsumerSaramaConfig()
	if err != nil {
		return RedriveResult{}, err
	}
	pc, err := cfg.ProducerSaramaConfig()
	if err != nil {
		return RedriveResult{}, err
	}
	client, err := dlqClient(cfg, sc)
	if err != nil {
		return RedriveResult{}, err
	}
	defer client.Close()
	letters, err := listDeadLetters(ctx, client, cfg.DLQTopic())
	if err != nil {
		return RedriveResult{}, err
	}
	var res RedriveResult
	selected, err := selectDeadLetters(letters, opts.IDs)
	if err != nil {
		return res, err
	}
	var pending []Redrive
	var bad []error
	for _, d := range selected {
		if d.Redriven() {
			res.Skipped = append(res.Skipped, d)
			continue
		}
		target, err := redriveTarget(cfg, d)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		pending = append(pending, Redrive{DeadLetter: d, Target: target})
	}
	if len(bad) > 0 {
		return res, fmt.Errorf("kafka: cannot redrive:\n%w", errors.Join(bad...))
	}
	if opts.DryRun || len(pending) == 0 {
		res.Redriven = pending
		return res, nil
	}
	producer, err := sarama.NewSyncProducer(cfg.Brokers, pc)
	if err != nil {
		return res, fmt.Errorf("kafka: producer: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	defer producer.Close()
	done := map[string]string{} // event ID -> Ref of the dead letter re-published for it
	for _, r := range pending {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		d := r.DeadLetter
		if ref, ok := done[d.EventID]; ok {
			r.Same = ref
		} else {
			p, off, err := producer.SendMessage(redriveMessage(d, r.Target))
			if err != nil {
				return res, fmt.Errorf("kafka: redrive %s to %s: %w", d.Ref, r.Target, err)
			}
			r.To = fmt.Sprintf("%s/%d/%d", r.Target, p, off)
			if d.EventID != "" {
				done[d.EventID] = d.Ref
			}
		}
		to := r.To
		if to == "" {
			to = "same as " + r.Same
		}
		if _, _, err := producer.SendMessage(redriveMarker(cfg.DLQTopic(), d, to)); err != nil {
			return res, fmt.Errorf("kafka: %s re-published to %s but its redrive marker was not written (a later redrive repeats it): %w", d.Ref, to, err)
		}
		res.Redriven = append(res.Redriven, r)
	}
	return res, nil
}

// selectDeadLetters picks the dead letters named by ids (event IDs or
// Refs), all of them for no ids. Every id must match one.
func selectDeadLetters(letters []DeadLetter, ids []string) ([]DeadLetter, error) {
	if len(ids) == 0 {
		return letters, nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[strings.TrimSpace(id)] = true
	}
	matched := map[string]bool{}
	var out []DeadLetter
	for _, d := range letters {
		hit := false
		for _, k := range []string{d.Ref, d.EventID} {
			if k != "" && want[k] {
				matched[k], hit = true, true
			}
		}
		if hit {
			out = append(out, d)
		}
	}
	var missing []string
	for id := range want {
		if !matched[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("kafka: no dead letter with event ID or ref %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// redriveTarget is the topic a dead letter goes back to: the one it was
// consumed from, which must be one of ours (a forged dlq_topic must not
// make us write anywhere); or, for an event the relay could not route, the
// topic of its type's channel if this build knows the type.
func redriveTarget(cfg Config, d DeadLetter) (string, error) {
	if d.Topic != "" {
		if _, ok := cfg.ChannelOfTopic(d.Topic); !ok {
			return "", fmt.Errorf("dead letter %s: its %s %q is not a topic of this service", d.Ref, HeaderDLQTopic, d.Topic)
		}
		return d.Topic, nil
	}
	typ, ok := strings.CutPrefix(d.EventType, TypePrefix)
	if !ok {
		return "", fmt.Errorf("dead letter %s: no %s and no event type of ours (%s %q)", d.Ref, HeaderDLQTopic, HeaderType, d.EventType)
	}
	topic, err := cfg.TopicOf(typ)
	if err != nil {
		return "", fmt.Errorf("dead letter %s: no %s, and this build does not know its event type either: %w", d.Ref, HeaderDLQTopic, err)
	}
	return topic, nil
}

func redriveMessage(d DeadLetter, topic string) *sarama.ProducerMessage {
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(d.Value)}
	if d.Key != nil {
		pm.Key = sarama.ByteEncoder(d.Key)
	}
	for _, h := range d.Headers {
		if !strings.HasPrefix(string(h.Key), dlqHeaderPrefix) {
			pm.Headers = append(pm.Headers, h)
		}
	}
	return pm
}

func redriveMarker(dlqTopic string, d DeadLetter, to string) *sarama.ProducerMessage {
	pm := &sarama.ProducerMessage{Topic: dlqTopic, Headers: []sarama.RecordHeader{
		{Key: []byte(HeaderDLQRedriveOf), Value: []byte(d.Ref)},
		{Key: []byte(HeaderDLQRedrivenTo), Value: []byte(to)},
		{Key: []byte(HeaderDLQTime), Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}}
	if d.Key != nil {
		pm.Key = sarama.ByteEncoder(d.Key) // beside its dead letter, as the DLQ is keyed alike
	}
	return pm
}
