package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func TestRouterDeliversEveryEventOfItsChannelsInStreamOrder(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	rec := newRecorder()
	handled := newRecorder() // the types it handles; the rest it ignores
	f.run(kafka.RouterConfig{}, kafka.Handler{
		Name:     "directory",
		Channels: []domain.Channel{domain.ChannelTeacher, domain.ChannelStudent},
		Handle: func(ctx context.Context, e kafka.Event) error {
			rec.add(ctx, e)
			switch e.Type {
			case domain.TeacherDeactivatedType, domain.StudentWithdrawnType:
				handled.add(ctx, e)
			}
			return nil // other types: not ours, acknowledged
		},
	})

	// 12 streams on two channels, 5 events each, interleaved; and events
	// of a channel the handler does not consume.
	const streams, versions = 12, 5
	var want []eventstore.RecordedEvent
	for v := uint64(1); v <= versions; v++ {
		for s := range streams {
			typ, stream := domain.TeacherPreferencesUpdatedType, fmt.Sprintf("teacher-%d", s)
			if s%2 == 1 {
				typ, stream = domain.StudentAssignedToClassType, fmt.Sprintf("student-%d", s)
			}
			if v == versions {
				typ = map[bool]string{true: domain.TeacherDeactivatedType, false: domain.StudentWithdrawnType}[s%2 == 0]
			}
			want = append(want, testEvent(typ, stream, v))
		}
	}
	f.publish(want...)
	f.publish(testEvent(domain.ExamScheduledType, "exam-1", 1))

	eventually(t, 30*time.Second, "every event", func() bool { return rec.count() >= len(want) })
	group := kafka.ConsumerGroup(f.cfg, "directory")
	topics := []string{f.cfg.Topic(domain.ChannelTeacher), f.cfg.Topic(domain.ChannelStudent)}
	eventually(t, 10*time.Second, "offsets committed", func() bool { return f.committed(group, topics...) == int64(len(want)) })

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != len(want) {
		t.Errorf("received %d events, want %d (no redelivery without a failure)", len(rec.events), len(want))
	}
	for s := range streams {
		stream := fmt.Sprintf("teacher-%d", s)
		if s%2 == 1 {
			stream = fmt.Sprintf("student-%d", s)
		}
		if got := rec.byStream[stream]; !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
			t.Errorf("stream %s: versions %v, want 1..5 in order", stream, got)
		}
	}
	if _, ok := rec.byStream["exam-1"]; ok {
		t.Error("received an event of a channel the handler does not consume")
	}
	for _, e := range rec.events {
		if e.Channel != domain.ChannelTeacher && e.Channel != domain.ChannelStudent {
			t.Errorf("event %s of channel %s", e.ID, e.Channel)
		}
		if got, want := rec.corr[e.ID], "corr-"+e.Stream; got != want {
			t.Errorf("event %s: correlation ID in ctx %q, want %q", e.ID, got, want)
		}
	}
	if got := handled.count(); got != streams {
		t.Errorf("handled %d events of its types, want %d", got, streams)
	}
	if got := metric(t, f, "kafka_consumer_messages_total", "handler", "directory", "outcome", "ok"); got != float64(len(want)) {
		t.Errorf("kafka_consumer_messages_total{outcome=ok} = %v, want %d", got, len(want))
	}
	if ds := f.deadLetters(); len(ds) != 0 {
		t.Errorf("dead letters: %+v", ds)
	}
}

func TestRouterSendsPoisonMessagesToTheDLQAndGoesOn(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	rec := newRecorder()
	f.run(kafka.RouterConfig{}, kafka.Handler{
		Name:     "roster",
		Channels: []domain.Channel{domain.ChannelTeacher},
		Handle: func(ctx context.Context, e kafka.Event) error {
			rec.add(ctx, e)
			return nil
		},
	})
	topic := f.cfg.Topic(domain.ChannelTeacher)
	const key = "teacher-poison" // one key: one partition, so "after" is well defined

	valid := testEvent(domain.TeacherDeactivatedType, key, 1)
	message := func(mutate func(pm *sarama.ProducerMessage)) *sarama.ProducerMessage {
		pm, err := f.cfg.ProducerMessage(valid)
		if err != nil {
			t.Fatal(err)
		}
		pm.Key = sarama.StringEncoder(key)
		mutate(pm)
		return pm
	}
	setHeader := func(pm *sarama.ProducerMessage, k, v string) {
		for i, h := range pm.Headers {
			if string(h.Key) == k {
				pm.Headers[i].Value = []byte(v)
				return
			}
		}
		t.Fatalf("no header %s", k)
	}
	poison := []struct {
		name    string
		msg     *sarama.ProducerMessage
		wantErr string
	}{
		{"invalid JSON body", message(func(pm *sarama.ProducerMessage) {
			pm.Value = sarama.StringEncoder(`{"teacherId": oops`)
		}), "not JSON"},
		{"no ce_ headers", message(func(pm *sarama.ProducerMessage) { pm.Headers = nil }), "ce_specversion"},
		{"unknown event type", message(func(pm *sarama.ProducerMessage) {
			setHeader(pm, kafka.HeaderType, "edusmarthub.teacher.promoted.v1")
		}), "teacher.promoted.v1"},
		{"type of another channel", message(func(pm *sarama.ProducerMessage) {
			setHeader(pm, kafka.HeaderType, "edusmarthub."+domain.StudentWithdrawnType)
		}), "belongs to channel student"},
		{"body not of its type", message(func(pm *sarama.ProducerMessage) {
			pm.Value = sarama.StringEncoder(`{"at": "yesterday"}`)
		}), "undecodable " + domain.TeacherDeactivatedType},
	}
	var at []landed
	for _, p := range poison {
		at = append(at, f.send(p.msg))
	}
	after := f.publish(testEvent(domain.TeacherDeactivatedType, key, 2))[0]

	eventually(t, 30*time.Second, "the event after the poison", func() bool { return rec.count() >= 1 })
	if rec.count() != 1 {
		t.Errorf("handler got %d events, want only the valid one", rec.count())
	}
	var ds []kafka.DeadLetter
	eventually(t, 10*time.Second, "5 dead letters", func() bool { ds = f.deadLetters(); return len(ds) >= len(poison) })
	if len(ds) != len(poison) {
		t.Fatalf("%d dead letters, want %d", len(ds), len(poison))
	}
	slices.SortFunc(ds, func(a, b kafka.DeadLetter) int { return int(a.Offset - b.Offset) })
	for i, p := range poison {
		d := ds[i]
		t.Run(p.name, func(t *testing.T) {
			if d.Topic != topic || d.Partition != at[i].partition || d.Offset != at[i].offset {
				t.Errorf("origin %s/%d/%d, want %s/%d/%d", d.Topic, d.Partition, d.Offset, topic, at[i].partition, at[i].offset)
			}
			if !strings.Contains(d.Error, p.wantErr) {
				t.Errorf("dlq_error %q does not mention %q", d.Error, p.wantErr)
			}
			if d.Handler != "roster" || d.Attempts != 0 || d.Time.IsZero() || d.Redriven() {
				t.Errorf("handler %q attempts %d time %v redriven %v", d.Handler, d.Attempts, d.Time, d.Redriven())
			}
			if string(d.Key) != key {
				t.Errorf("key %q, want %q", d.Key, key)
			}
			if want, _ := p.msg.Value.Encode(); string(d.Value) != string(want) {
				t.Errorf("value %q, want the original %q", d.Value, want)
			}
			for _, h := range p.msg.Headers {
				if got := header(d.Headers, string(h.Key)); got != string(h.Value) {
					t.Errorf("original header %s = %q, want %q", h.Key, got, h.Value)
				}
			}
			for _, k := range []string{kafka.HeaderDLQError, kafka.HeaderDLQTopic, kafka.HeaderDLQPartition,
				kafka.HeaderDLQOffset, kafka.HeaderDLQHandler, kafka.HeaderDLQTime} {
				if header(d.Headers, k) == "" {
					t.Errorf("no %s header", k)
				}
			}
		})
	}
	if after.partition != at[0].partition {
		t.Fatalf("the valid event landed on partition %d, the poison on %d", after.partition, at[0].partition)
	}
	if got := metric(t, f, "kafka_consumer_messages_total", "handler", "roster", "outcome", "dead_lettered"); got != float64(len(poison)) {
		t.Errorf("kafka_consumer_messages_total{outcome=dead_lettered} = %v, want %d", got, len(poison))
	}
}

func header(hs []sarama.RecordHeader, key string) string {
	for _, h := range hs {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// metric is the value of a counter or the count of a histogram in reg,
// 0 if it has no such series.
func metric(t *testing.T, f *consumerFixture, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue series
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestRouterRetriesFailingHandlersThenDeadLetters(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	const key = "teacher-flaky" // one partition: each case waits for the one before
	events := map[string]eventstore.RecordedEvent{}
	var order []string
	for i, name := range []string{"always fails", "fails twice", "permanent", "panics once", "always panics", "times out once", "fine"} {
		events[name] = testEvent(domain.TeacherDeactivatedType, key, uint64(i+1))
		order = append(order, name)
	}
	nameOf := map[uuid.UUID]string{}
	for name, e := range events {
		nameOf[e.ID] = name
	}
	var mu sync.Mutex
	calls := map[string]int{}
	handled := map[string]bool{}
	sawDeadline := false
	f.run(kafka.RouterConfig{
		Retry:          kafka.Retry{Attempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		HandlerTimeout: 200 * time.Millisecond,
	}, kafka.Handler{
		Name:     "mailer",
		Channels: []domain.Channel{domain.ChannelTeacher},
		Handle: func(ctx context.Context, e kafka.Event) error {
			name := nameOf[e.ID]
			mu.Lock()
			calls[name]++
			n := calls[name]
			mu.Unlock()
			var err error
			switch {
			case name == "always fails":
				err = errors.New("smtp: connection refused")
			case name == "fails twice" && n <= 2:
				err = errors.New("smtp: try again")
			case name == "permanent":
				err = kafka.Permanent(errors.New("no such mailbox"))
			case name == "panics once" && n == 1, name == "always panics":
				var m map[string]int
				//lint:ignore SA5000 a nil-map panic, as a bug would, is what is tested
				m["boom"]++
			case name == "times out once" && n == 1:
				_, has := ctx.Deadline()
				<-ctx.Done()
				mu.Lock()
				sawDeadline = has
				mu.Unlock()
				err = ctx.Err()
			}
			if err == nil {
				mu.Lock()
				handled[name] = true
				mu.Unlock()
			}
			return err
		},
	})
	for _, name := range order {
		f.publish(events[name])
	}
	eventually(t, 30*time.Second, "the last event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return handled["fine"]
	})

	mu.Lock()
	wantCalls := map[string]int{"always fails": 3, "fails twice": 3, "permanent": 1, "panics once": 2,
		"always panics": 3, "times out once": 2, "fine": 1}
	for name, want := range wantCalls {
		if calls[name] != want {
			t.Errorf("%s: %d calls, want %d", name, calls[name], want)
		}
	}
	for _, name := range []string{"fails twice", "panics once", "times out once", "fine"} {
		if !handled[name] {
			t.Errorf("%s: not handled", name)
		}
	}
	if !sawDeadline {
		t.Error("the handler's context had no deadline")
	}
	mu.Unlock()

	ds := f.deadLetters()
	got := map[string]kafka.DeadLetter{}
	for _, d := range ds {
		got[nameOf[uuid.MustParse(d.EventID)]] = d
	}
	wantDLQ := map[string]struct {
		attempts int
		err      string
	}{
		"always fails":  {3, "smtp: connection refused"},
		"permanent":     {1, "no such mailbox"},
		"always panics": {3, "handler panicked: assignment to entry in nil map"},
	}
	if len(ds) != len(wantDLQ) {
		t.Errorf("%d dead letters, want %d: %+v", len(ds), len(wantDLQ), ds)
	}
	for name, w := range wantDLQ {
		d, ok := got[name]
		if !ok {
			t.Errorf("%s: not dead-lettered", name)
			continue
		}
		if d.Attempts != w.attempts || d.Error != w.err || d.Handler != "mailer" || d.EventType != kafka.TypePrefix+domain.TeacherDeactivatedType {
			t.Errorf("%s: dead letter attempts %d error %q handler %q type %q; want %d %q mailer", name, d.Attempts, d.Error, d.Handler, d.EventType, w.attempts, w.err)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"kafka_consumer_messages_total", []string{"handler", "mailer", "outcome", "ok"}, 4},
		{"kafka_consumer_messages_total", []string{"handler", "mailer", "outcome", "dead_lettered"}, 3},
		{"kafka_consumer_dead_letters_total", []string{"handler", "mailer", "reason", "retries_exhausted"}, 2},
		{"kafka_consumer_dead_letters_total", []string{"handler", "mailer", "reason", "permanent"}, 1},
		{"kafka_consumer_retries_total", []string{"handler", "mailer"}, 2 + 2 + 1 + 2 + 1},
		{"kafka_consumer_handle_duration_seconds", []string{"handler", "mailer"}, 7},
	} {
		if got := metric(t, f, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestRoutersOfOneHandlerNameSharePartitions(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	a, b := newRecorder(), newRecorder()
	handler := func(rec *recorder) kafka.Handler {
		return kafka.Handler{
			Name:     "scaled",
			Channels: []domain.Channel{domain.ChannelTeacher},
			Handle: func(ctx context.Context, e kafka.Event) error {
				rec.add(ctx, e)
				return nil
			},
		}
	}
	f.run(kafka.RouterConfig{}, handler(a))
	f.run(kafka.RouterConfig{}, handler(b))

	// Publish until both replicas have had some: the second one's join
	// moves partitions to it only once the group rebalanced.
	var sent []eventstore.RecordedEvent
	eventually(t, 45*time.Second, "both replicas to receive events", func() bool {
		for i := range 6 {
			e := testEvent(domain.TeacherDeactivatedType, fmt.Sprintf("teacher-%d", i), uint64(len(sent)/6+1))
			f.publish(e)
			sent = append(sent, e)
		}
		time.Sleep(100 * time.Millisecond)
		return a.count() > 0 && b.count() > 0
	})
	eventually(t, 20*time.Second, "every event", func() bool {
		ida, idb := a.ids(), b.ids()
		for _, e := range sent {
			if ida[e.ID]+idb[e.ID] == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("%d events: %d to one replica, %d to the other", len(sent), a.count(), b.count())
}

// A stop interrupts a handler: what it acknowledged before is never
// delivered again, what it was handling is, to the next run of the same
// handler name, with what came since. The same for a handler that takes
// events one at a time and one that takes them in batches.
func TestRouterResumesAfterItsCommittedOffset(t *testing.T) {
	t.Parallel()
	// handler makes a handler of each kind from what it does with one
	// event; the batch kind does that to each event of a batch.
	for _, kind := range []struct {
		name    string
		handler func(name string, handle func(context.Context, kafka.Event) error) kafka.Handler
	}{
		{"one at a time", func(name string, handle func(context.Context, kafka.Event) error) kafka.Handler {
			return kafka.Handler{Name: name, Channels: []domain.Channel{domain.ChannelTeacher}, Handle: handle}
		}},
		// Its Handle (the way a failed batch is retried) takes anything:
		// an interrupted batch retried there would be acknowledged, and
		// not delivered again.
		{"in batches", func(name string, handle func(context.Context, kafka.Event) error) kafka.Handler {
			return kafka.Handler{Name: name, Channels: []domain.Channel{domain.ChannelTeacher},
				Handle: func(context.Context, kafka.Event) error { return nil },
				HandleBatch: func(ctx context.Context, es []kafka.Event) error {
					for _, e := range es {
						if err := handle(ctx, e); err != nil {
							return err
						}
					}
					return nil
				}}
		}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			f := newConsumerFixture(t)
			topic := f.cfg.Topic(domain.ChannelTeacher)
			group := kafka.ConsumerGroup(f.cfg, "resumer")

			// First run: acknowledges a batch, then is stopped while
			// handling one more event, which it never acknowledges.
			first := newRecorder()
			unacked := testEvent(domain.TeacherDeactivatedType, "teacher-slow", 1)
			started := make(chan struct{})
			_, stop := f.run(kafka.RouterConfig{}, kind.handler("resumer", func(ctx context.Context, e kafka.Event) error {
				if e.ID == unacked.ID {
					close(started)
					<-ctx.Done() // stopped mid-handling
					return ctx.Err()
				}
				first.add(ctx, e)
				return nil
			}))
			var batch []eventstore.RecordedEvent
			for i := range 12 {
				batch = append(batch, testEvent(domain.TeacherDeactivatedType, fmt.Sprintf("teacher-%d", i), 1))
			}
			f.publish(batch...)
			eventually(t, 30*time.Second, "the first batch", func() bool { return first.count() == len(batch) })
			eventually(t, 10*time.Second, "the batch's offsets committed", func() bool { return f.committed(group, topic) == int64(len(batch)) })
			f.publish(unacked)
			select {
			case <-started:
			case <-time.After(30 * time.Second):
				t.Fatal("the last event never reached the handler")
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := metric(t, f, "kafka_consumer_messages_total", "handler", "resumer", "outcome", "requeued"); got != 1 {
				t.Errorf("requeued = %v, want 1 (the interrupted event)", got)
			}
			if ds := f.deadLetters(); len(ds) != 0 {
				t.Errorf("an interrupted handler dead-lettered: %+v", ds)
			}

			// Second run, same handler name: the unacknowledged event
			// again and what came since, none of the acknowledged ones.
			second := newRecorder()
			later := testEvent(domain.TeacherDeactivatedType, "teacher-0", 2)
			f.publish(later)
			f.run(kafka.RouterConfig{}, kind.handler("resumer", func(ctx context.Context, e kafka.Event) error {
				second.add(ctx, e)
				return nil
			}))
			eventually(t, 30*time.Second, "the unacknowledged and the later event", func() bool {
				return second.has(unacked.ID) && second.has(later.ID)
			})
			eventually(t, 10*time.Second, "all offsets committed", func() bool { return f.committed(group, topic) == int64(len(batch)+2) })
			ids := second.ids()
			for _, e := range batch {
				if ids[e.ID] > 0 {
					t.Errorf("event %s was acknowledged by the first run and delivered again", e.ID)
				}
			}
			if len(ids) != 2 {
				t.Errorf("second run got %d events, want 2", len(ids))
			}
		})
	}
}

func TestNewRouterNamesEveryProblem(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, kafka.Event) error { return nil }
	cfg := kafka.Config{Brokers: []string{"127.0.0.1:1"}}
	for _, c := range []struct {
		name     string
		rc       kafka.RouterConfig
		handlers []kafka.Handler
		want     []string
	}{
		{"no handlers", kafka.RouterConfig{Kafka: cfg}, nil, []string{"at least one handler"}},
		{"bad handlers", kafka.RouterConfig{Kafka: cfg}, []kafka.Handler{
			{Name: "", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok},
			{Name: "a b", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok},
			{Name: "twice", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok},
			{Name: "twice", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok},
			{Name: "nil", Channels: []domain.Channel{domain.ChannelTeacher}},
			{Name: "none", Handle: ok},
			{Name: "odd", Channels: []domain.Channel{"payroll", domain.ChannelStudent, domain.ChannelStudent}, Handle: ok},
			{Name: "slow", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok, FetchWait: time.Minute},
			{Name: "early", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok, FetchWait: -time.Second},
		}, []string{`handler 0 "": name`, `handler 1 "a b": name`, `handler 3 "twice": name used twice`,
			`"nil": Handle is nil`, `"none": no channels`, `unknown channel "payroll"`, `channel "student" listed twice`,
			`"slow": fetch wait must be between 0 and 5s, got 1m0s`, `"early": fetch wait must be between 0 and 5s, got -1s`}},
		{"bad settings", kafka.RouterConfig{
			Kafka:          kafka.Config{},
			Retry:          kafka.Retry{Attempts: -1, InitialBackoff: time.Second, MaxBackoff: time.Millisecond},
			HandlerTimeout: -time.Second,
		}, []kafka.Handler{{Name: "x", Channels: []domain.Channel{domain.ChannelTeacher}, Handle: ok}},
			[]string{"no brokers", "retry attempts must be at least 1", "retry backoff", "handler timeout"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kafka.NewRouterWithConfig(c.rc, c.handlers...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	if kafka.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	base := errors.New("no such mailbox")
	err := fmt.Errorf("notify guardian: %w", kafka.Permanent(base))
	if !kafka.IsPermanent(err) || !errors.Is(err, base) || err.Error() != "notify guardian: no such mailbox" {
		t.Errorf("wrapped permanent error: %v, permanent %v", err, kafka.IsPermanent(err))
	}
	if kafka.IsPermanent(base) {
		t.Error("a plain error is permanent")
	}
}
