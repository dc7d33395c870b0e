package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The live feed: GET /v1/schools/{schoolId}/events/stream as Server-Sent
// Events. Every event of the school's log, as it is appended, as
//
//	id: <global position>
//	event: <event type>
//	data: {"id","type","channel","stream","version","position","time","data","metadata"}
//
// What a caller sees:
//   - platform and school admins: every event of the school;
//   - teachers and guardians: a personal feed, only the events that name
//     them (messages they sent or receive, meetings requested or scheduled
//     with them, a teacher's calendar and own record). Deciding more needs
//     the read models (which students a guardian has, which classes a
//     teacher teaches), whose state at the event's moment a live feed
//     cannot know cheaply; the query API answers those questions.
//
// ?channel= (repeatable, or comma-separated) narrows to channels.
// Last-Event-ID (the header a browser's EventSource sends when it
// reconnects, or ?lastEventId= on a first connection) resumes after that
// position: nothing missed, nothing twice. Comment lines every
// LiveFeedHeartbeat keep proxies from closing an idle stream; they also
// carry the position reached (an id-only message), so a client resuming
// after a quiet spell does not re-scan the events of other schools.

// HeaderLastEventID is the SSE resume header.
const HeaderLastEventID = "Last-Event-ID"

// Live-feed defaults.
const (
	DefaultLiveFeedHeartbeat  = 15 * time.Second
	DefaultLiveFeedMaxStreams = 1000
	// liveRing is how many recent events the hub keeps for resuming
	// clients; liveQueue how many one client may have unsent before it is
	// dropped (it reconnects and catches up from the store).
	liveRing  = 4096
	liveQueue = 8192
	// liveBatch is the store read size when catching up.
	liveBatch = 500
	// liveWriteTimeout: a client that cannot take a write for this long is
	// gone.
	liveWriteTimeout = 30 * time.Second
	// liveRetryMillis is the reconnection delay suggested to EventSource.
	liveRetryMillis = 2000
)

func (s *Server) liveRoutes(school *gin.RouterGroup) {
	s.query(school, http.MethodGet, "/events/stream",
		roles(commands.RolePlatformAdmin, commands.RoleSchoolAdmin, commands.RoleTeacher, commands.RoleGuardian),
		s.liveFeed)
}

func (s *Server) registerLiveMetrics() error {
	return s.cfg.Registerer.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "live_feed_streams",
		Help: "Live-feed (Server-Sent Events) connections open.",
	}, func() float64 { return float64(len(s.streams)) }))
}

// CloseStreams ends every live-feed stream and stops the shared
// subscription to the event log; streams opened afterwards get 503. Call
// it when shutting down, before or with http.Server.Shutdown (e.g. with
// RegisterOnShutdown): Shutdown waits for responses to finish, and a
// stream never finishes by itself.
func (s *Server) CloseStreams() { s.feed.close() }

// feedFilter decides which events one client sees.
type feedFilter struct {
	school   string
	channels map[domain.Channel]bool // nil: all
	party    string                  // set: a personal feed, only events naming this ID
}

func (f feedFilter) match(ev *feedEvent) bool {
	switch {
	case ev.school != f.school:
		return false
	case f.channels != nil && !f.channels[ev.channel]:
		return false
	case f.party != "" && !slices.Contains(ev.parties, f.party):
		return false
	}
	return true
}

func liveFilter(c *gin.Context) (feedFilter, error) {
	f := feedFilter{school: c.GetString(ctxSchoolID)}
	a := actorFrom(c)
	if !a.Has(commands.RolePlatformAdmin, commands.RoleSchoolAdmin) {
		f.party = a.ID
	}
	// The feed's parameters: a typo (?chanel=) would otherwise stream
	// every channel.
	p := &params{c: c, used: map[string]bool{"channel": true, "lastEventId": true}}
	if err := p.done(); err != nil {
		return f, err
	}
	known := domain.Channels()
	for _, raw := range c.QueryArray("channel") {
		for name := range strings.SplitSeq(raw, ",") {
			ch := domain.Channel(strings.TrimSpace(name))
			if !slices.Contains(known, ch) {
				names := make([]string, len(known))
				for i, k := range known {
					names[i] = string(k)
				}
				return f, badRequest("channel", "%q is not a channel; channels: %s", string(ch), strings.Join(names, ", "))
			}
			if f.channels == nil {
				f.channels = map[domain.Channel]bool{}
			}
			f.channels[ch] = true
		}
	}
	return f, nil
}

// lastEventID is where the client resumes: the header, else ?lastEventId.
// The header wins: EventSource sends it on reconnection, while the query
// string still holds the position of the first connection.
func lastEventID(c *gin.Context) (eventstore.Position, bool, error) {
	field, raw := HeaderLastEventID, strings.TrimSpace(c.GetHeader(HeaderLastEventID))
	if raw == "" {
		field, raw = "lastEventId", c.Query("lastEventId")
	}
	if raw == "" {
		return 0, false, nil
	}
	p, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, false, badRequest(field, "must be the id of an event received (a global position), got %q", raw)
	}
	return p, true, nil
}

func (s *Server) liveFeed(c *gin.Context) {
	filter, err := liveFilter(c)
	if err != nil {
		abortWithError(c, err)
		return
	}
	last, resume, err := lastEventID(c)
	if err != nil {
		abortWithError(c, err)
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		c.Header("Retry-After", "5")
		abortWithError(c, newProblem(http.StatusServiceUnavailable, TypeUnavailable,
			"too many live-feed connections are open: retry later"))
		return
	}

	// Join the hub, or find where to catch up from, before answering, so a
	// bad Last-Event-ID is a 400 and not a broken stream.
	var (
		sub     *feedSub
		backlog []eventstore.RecordedEvent
	)
	if resume {
		var ok bool
		sub, ok, err = s.feed.joinAfter(c, last)
		if err == nil && !ok {
			backlog, err = s.deps.Store.ReadAll(c, last, liveBatch)
			if errors.Is(err, eventstore.ErrPositionNotFound) {
				field := HeaderLastEventID
				if c.GetHeader(HeaderLastEventID) == "" {
					field = "lastEventId"
				}
				abortWithError(c, badRequest(field, "no event has position %d", last))
				return
			}
		}
	} else {
		sub, err = s.feed.joinLive(c)
	}
	if err != nil {
		if errors.Is(err, errFeedClosed) {
			c.Header("Retry-After", "1")
			err = newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the server is shutting down: reconnect")
		}
		abortWithError(c, err)
		return
	}
	st := &liveStream{s: s, c: c, rc: http.NewResponseController(c.Writer), filter: filter, lastID: last, sentID: last}
	if sub != nil {
		defer s.feed.leave(sub)
	}
	st.start()
	if sub == nil {
		if sub = st.catchUp(last, backlog); sub == nil {
			return
		}
		defer s.feed.leave(sub)
	}
	st.follow(sub)
}

// liveStream writes one client's response.
type liveStream struct {
	s      *Server
	c      *gin.Context
	rc     *http.ResponseController
	filter feedFilter
	lastID eventstore.Position // the last event passed, sent or filtered out
	sentID eventstore.Position // the last id the client was told
	failed bool
}

func (st *liveStream) start() {
	// http.Server.ReadTimeout leaves a read deadline on the connection
	// that, once passed, cancels the request: a stream outlives it.
	_ = st.rc.SetReadDeadline(time.Time{})
	h := st.c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	st.c.Status(http.StatusOK)
	st.write([]byte(": edusmarthub live feed\nretry: " + strconv.Itoa(liveRetryMillis) + "\n\n"))
	st.flush()
}

func (st *liveStream) write(b []byte) {
	if st.failed {
		return
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
	if _, err := st.c.Writer.Write(b); err != nil {
		st.failed = true
	}
}

func (st *liveStream) flush() {
	if !st.failed {
		st.c.Writer.Flush()
	}
}

// send writes ev if the client may see it.
func (st *liveStream) send(ev *feedEvent) {
	st.lastID = ev.position
	if st.filter.match(ev) {
		st.write(ev.frame)
		st.sentID = ev.position
	}
}

// heartbeat is a comment line, with the position reached when events were
// filtered out since the last id sent: an id-only message moves the
// client's Last-Event-ID without dispatching an event.
func (st *liveStream) heartbeat() {
	if st.lastID != st.sentID {
		st.write([]byte("id: " + strconv.FormatUint(st.lastID, 10) + "\n: heartbeat\n\n"))
		st.sentID = st.lastID
	} else {
		st.write([]byte(": heartbeat\n\n"))
	}
	st.flush()
}

// catchUp sends the store's events after position from (backlog is the
// first batch, already read) until it reaches events the hub still holds,
// and returns the hub subscription that continues from there; nil when
// the stream ended (client gone, shutdown, store failure).
func (st *liveStream) catchUp(from eventstore.Position, backlog []eventstore.RecordedEvent) *feedSub {
	ctx := st.c.Request.Context()
	cur := from
	for {
		for _, r := range backlog {
			st.send(newFeedEvent(r))
			cur = r.Position
			sub, ok, err := st.s.feed.joinAfter(ctx, cur)
			if err != nil {
				st.end(err)
				return nil
			}
			if ok {
				st.flush()
				return sub
			}
		}
		st.flush()
		if st.failed {
			return nil
		}
		if len(backlog) < liveBatch {
			// At the head of the log, which the hub has not reached yet:
			// wait for it to move (or poll, should it be restarting).
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-st.s.feed.changedCh():
			case <-t.C:
			}
			t.Stop()
			sub, ok, err := st.s.feed.joinAfter(ctx, cur)
			if err != nil {
				st.end(err)
				return nil
			}
			if ok {
				return sub
			}
		}
		var err error
		if backlog, err = st.s.deps.Store.ReadAll(ctx, cur, liveBatch); err != nil {
			st.end(err)
			return nil
		}
	}
}

// follow writes the hub's events until the client leaves, the hub drops
// it, or the server shuts down.
func (st *liveStream) follow(sub *feedSub) {
	ctx := st.c.Request.Context()
	beat := time.NewTicker(st.s.cfg.LiveFeedHeartbeat)
	defer beat.Stop()
	for !st.failed {
		select {
		case <-ctx.Done():
			return
		case <-sub.gone:
			// Send what was queued before the drop: it is in order and
			// complete up to there, so the client resumes right after it.
			for _, ev := range sub.take() {
				st.send(ev)
			}
			st.heartbeat()
			if sub.why != dropShutdown {
				logger(st.c).InfoContext(ctx, "live feed: client dropped", "reason", sub.why)
			}
			return
		case <-sub.wake:
			for _, ev := range sub.take() {
				st.send(ev)
			}
			st.flush()
		case <-beat.C:
			st.heartbeat()
		}
	}
}

func (st *liveStream) end(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, errFeedClosed) {
		return
	}
	logger(st.c).ErrorContext(st.c, "live feed: stream ended", "err", err)
}
