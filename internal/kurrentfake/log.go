package kurrentfake

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// KurrentDB's expected-version sentinels (EventStore.Core.Data.ExpectedVersion).
const (
	expectAny          int64 = -2
	expectNoStream     int64 = -1
	expectStreamExists int64 = -4
)

// firstPosition is where the first event goes: KurrentDB's transaction
// log starts with an epoch record at 0, so no event is ever at position 0.
const firstPosition = 128

// record is one event of the log. KurrentDB (log format v2) writes every
// event of a gRPC append as its own prepare record flagged IsCommitted,
// and $all reads report such an event at commit = prepare = the record's
// log position; positions are byte offsets, so they grow by the record's
// size and most numbers are not a record's position.
type record struct {
	pos         uint64
	stream      string
	rev         uint64
	id          uuid.UUID
	eventType   string
	contentType string
	data, meta  []byte
	created     time.Time
}

// size approximates a prepare record's length in the transaction file.
func (r *record) size() uint64 {
	return uint64(88 + len(r.stream) + len(r.eventType) + len(r.contentType) + len(r.data) + len(r.meta))
}

// ticks is the "created" system metadata: .NET ticks (100ns) since the
// Unix epoch, as the client parses it.
func (r *record) ticks() string { return strconv.FormatInt(r.created.UnixNano()/100, 10) }

// eventInfo is what KurrentDB's index writer remembers of a committed
// event ID (_committedEvents): its stream and event number.
type eventInfo struct {
	stream string
	rev    uint64
}

// db is the log. One mutex serialises appends, as KurrentDB's single
// writer thread does, so log order is commit order.
type db struct {
	mu        sync.Mutex
	log       []*record
	byPos     map[uint64]int   // position -> index in log
	streams   map[string][]int // stream -> indexes in log, by revision
	committed map[uuid.UUID]eventInfo
	next      uint64        // position of the next record
	changed   chan struct{} // closed (and replaced) after every append
}

func newDB() *db {
	return &db{
		byPos:     map[uint64]int{},
		streams:   map[string][]int{},
		committed: map[uuid.UUID]eventInfo{},
		next:      firstPosition,
		changed:   make(chan struct{}),
	}
}

// seedSystemEvents writes what a fresh node writes before any client
// does: its settings and the default users.
func (d *db) seedSystemEvents() {
	for _, e := range []struct{ stream, typ, data string }{
		{"$settings", "$settings", `{"$userStreamAcl":{"$r":"$all","$w":"$all"},"$systemStreamAcl":{"$r":"$admins","$w":"$admins"}}`},
		{"$user-admin", "$user", `{"loginName":"admin","fullName":"KurrentDB Administrator","groups":["$admins"]}`},
		{"$users", "$UserCreated", `"admin"`},
		{"$user-ops", "$user", `{"loginName":"ops","fullName":"KurrentDB Operations","groups":["$ops"]}`},
		{"$users", "$UserCreated", `"ops"`},
	} {
		d.appendSystem(e.stream, e.typ, []byte(e.data))
	}
}

func (d *db) appendSystem(stream, eventType string, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.write(stream, []proposed{{id: uuid.New(), eventType: eventType, contentType: "application/json", data: data}})
}

func (d *db) records() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.log)
}

// proposed is an event of an append request.
type proposed struct {
	id          uuid.UUID
	eventType   string
	contentType string
	data, meta  []byte
}

// appendOutcome is what an append request gets.
type appendOutcome struct {
	wrongVersion bool
	current      int64  // the revision answered: the stream's last, or the idempotent append's; -1 none
	position     uint64 // of the last event written (or found, when idempotent)
	hasPosition  bool
}

// append decides an append request as KurrentDB's index writer does
// (IndexWriter.CheckCommit) and writes it when the decision is "ok":
//
//   - any / stream exists: if every event ID is known and belongs to this
//     stream, the append is an idempotent success reporting the last of
//     them; if the first is unknown (or another stream's), the events are
//     written; if a later one is, wrong expected version ("corrupted
//     idempotency"). Order and contiguity are not checked.
//   - an expected number below the stream's: if the IDs are exactly the
//     events that follow that number, in order, idempotent success;
//     otherwise wrong expected version.
//   - above the stream's: wrong expected version.
//   - equal: the events are written (no ID check at all).
func (d *db) append(stream string, expected int64, events []proposed) appendOutcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	revs := d.streams[stream]
	cur := int64(len(revs)) - 1
	wrong := appendOutcome{wrongVersion: true, current: cur}

	if expected == expectStreamExists && cur < 0 {
		return wrong
	}
	if expected == expectAny || expected == expectStreamExists {
		var end uint64
		for i, e := range events {
			info, ok := d.committed[e.id]
			if !ok || info.stream != stream {
				if i == 0 {
					return d.write(stream, events)
				}
				return wrong // corrupted idempotency
			}
			end = info.rev
		}
		if len(events) == 0 {
			return appendOutcome{current: cur}
		}
		return d.idempotent(stream, end)
	}
	if expected < cur {
		n := expected
		for i, e := range events {
			n++
			if n > cur || d.log[revs[n]].id != e.id {
				if i == 0 {
					return wrong
				}
				return wrong // corrupted idempotency
			}
		}
		if n == expected {
			return wrong // no data in the append
		}
		return d.idempotent(stream, uint64(n))
	}
	if expected > cur {
		return wrong
	}
	return d.write(stream, events)
}

// idempotent answers a repeated append as KurrentDB does (ReturnCommitAt):
// the revision and position of the last event it names, which for "any"
// need not be the stream's last.
func (d *db) idempotent(stream string, end uint64) appendOutcome {
	r := d.log[d.streams[stream][end]]
	return appendOutcome{current: int64(end), position: r.pos, hasPosition: true}
}

// write appends events to the log. d.mu is held.
func (d *db) write(stream string, events []proposed) appendOutcome {
	now := time.Now()
	for _, e := range events {
		r := &record{
			pos:         d.next,
			stream:      stream,
			rev:         uint64(len(d.streams[stream])),
			id:          e.id,
			eventType:   e.eventType,
			contentType: e.contentType,
			data:        e.data,
			meta:        e.meta,
			created:     now,
		}
		d.next += r.size()
		d.byPos[r.pos] = len(d.log)
		d.streams[stream] = append(d.streams[stream], len(d.log))
		d.log = append(d.log, r)
		d.committed[e.id] = eventInfo{stream: stream, rev: r.rev}
	}
	if len(events) > 0 {
		close(d.changed)
		d.changed = make(chan struct{})
	}
	revs := d.streams[stream]
	out := appendOutcome{current: int64(len(revs)) - 1}
	if len(revs) > 0 && len(events) > 0 {
		out.position, out.hasPosition = d.log[revs[len(revs)-1]].pos, true
	}
	return out
}

// allIndex resolves a $all position to the index of the first record at
// or after it. ok is false for a number that is neither a record's
// position nor the end of the log (KurrentDB: "Trying to read from an
// invalid position.").
func (d *db) allIndex(commit, prepare uint64) (int, bool) {
	if commit != prepare || commit > math.MaxInt64 {
		return 0, false
	}
	if commit == 0 {
		return 0, true
	}
	if commit >= d.next {
		return len(d.log), commit == d.next
	}
	i, ok := d.byPos[commit]
	if !ok && commit < firstPosition {
		// Inside the epoch record: only 0 is a valid place there.
		return 0, false
	}
	if !ok {
		// Not a record boundary: a position inside a record.
		return sort.Search(len(d.log), func(i int) bool { return d.log[i].pos >= commit }), false
	}
	return i, true
}
