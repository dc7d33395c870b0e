package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/notify"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// book is an address book from a map; err, when set, is every lookup's.
type book struct {
	mu    sync.Mutex
	addrs map[domain.Recipient]notify.Address
	err   error
}

func (b *book) Address(_ context.Context, _ string, r domain.Recipient) (notify.Address, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return notify.Address{}, false, b.err
	}
	a, ok := b.addrs[r]
	return a, ok, nil
}

var (
	teacherAda = domain.Recipient{Kind: domain.RecipientTeacher, ID: "t-ada"}
	teacherBen = domain.Recipient{Kind: domain.RecipientTeacher, ID: "t-ben"}
	guardianCy = domain.Recipient{Kind: domain.RecipientGuardian, ID: "g-cy"}
	adminNone  = domain.Recipient{Kind: domain.RecipientAdmin, ID: "office"}
)

// testBook knows Ada and Ben (teachers) and Cy (a guardian), not the
// office.
func testBook() *book {
	return &book{addrs: map[domain.Recipient]notify.Address{
		teacherAda: {Email: "ada@school.example.org", Name: "Ada Lovelace"},
		teacherBen: {Email: "ben@school.example.org", Name: "Benoît Mandelbrot"},
		guardianCy: {Email: "cy@family.example.org", Name: "Cy"},
	}}
}

const testSchool = "school-1"

// sentEvent is a stored message.sent.v1 to the recipients.
func sentEvent(t *testing.T, messageID, subject, body string, to ...domain.Recipient) eventstore.RecordedEvent {
	t.Helper()
	at := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	data, err := json.Marshal(domain.MessageSent{
		MessageID: messageID, SchoolID: testSchool, From: "admin-1", Recipients: to,
		Subject: subject, Body: body, Category: domain.CategoryWelcome, RelatedTo: "teacher-t-ada", At: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.RecordedEvent{
		ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(messageID)), StreamID: "message-" + messageID, Version: 1, Position: 1,
		Type: domain.MessageSentType, Data: data,
		Metadata:   eventstore.Metadata{SchoolID: testSchool, ActorID: "admin-1"},
		RecordedAt: at,
	}
}

// rig is a dispatcher on a fresh database with a test clock and its own
// metrics registry.
type rig struct {
	pool  *pgxpool.Pool
	clock *testClock
	reg   *prometheus.Registry
	book  *book
	d     *notify.Dispatcher
}

func newRig(t *testing.T, pool *pgxpool.Pool, cfg notify.DispatcherConfig) *rig {
	t.Helper()
	if pool == nil {
		pool = pgtest.NewPool(t)
	}
	r := &rig{pool: pool, clock: newTestClock(), reg: prometheus.NewRegistry(), book: testBook()}
	cfg.Pool, cfg.Clock, cfg.Registerer = pool, r.clock, r.reg
	if cfg.Addresses == nil {
		cfg.Addresses = r.book
	}
	d, err := notify.NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	return r
}

func (r *rig) handle(t *testing.T, e eventstore.RecordedEvent) {
	t.Helper()
	if err := r.d.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) retryDue(t *testing.T) int {
	t.Helper()
	n, err := r.d.RetryDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// deliveries maps "kind/id/channel" to the delivery.
func (r *rig) deliveries(t *testing.T, messageID string) map[string]notify.DeliveryRecord {
	t.Helper()
	ds, err := notify.Deliveries(context.Background(), r.pool, testSchool, messageID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]notify.DeliveryRecord{}
	for _, d := range ds {
		out[string(d.Recipient.Kind)+"/"+d.Recipient.ID+"/"+d.Channel] = d
	}
	return out
}

// counter reads a counter of the rig's registry by its labels.
func (r *rig) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return 0
}

var errLookup = errors.New("directory down")
