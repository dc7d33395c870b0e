package kurrentfake

import (
	"errors"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamsService implements event_store.client.streams.Streams: Append,
// and Read of a stream, of $all, and of $all as a catch-up subscription.
type streamsService struct {
	streams.UnimplementedStreamsServer
	db   *db
	opts Options
}

// Append reads the options message, then the proposed events, and
// answers once the stream is closed, as KurrentDB does.
func (s *streamsService) Append(srv streams.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first message of an append must carry its options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return status.Error(codes.InvalidArgument, "'stream_identifier' is a required argument")
	}
	var expected int64
	switch e := opts.ExpectedStreamRevision.(type) {
	case *streams.AppendReq_Options_Revision:
		if e.Revision > math.MaxInt64 {
			return status.Error(codes.InvalidArgument, "expected revision out of range")
		}
		expected = int64(e.Revision)
	case *streams.AppendReq_Options_NoStream:
		expected = expectNoStream
	case *streams.AppendReq_Options_Any:
		expected = expectAny
	case *streams.AppendReq_Options_StreamExists:
		expected = expectStreamExists
	default:
		return status.Error(codes.InvalidArgument, "'expected_stream_revision' is a required argument")
	}
	var events []proposed
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := req.GetProposedMessage()
		if m == nil {
			return status.Error(codes.InvalidArgument, "an append's messages after the first must be proposed events")
		}
		id, err := fromProtoUUID(m.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "event ID: %v", err)
		}
		typ, ok := m.Metadata["type"]
		if !ok {
			return status.Error(codes.InvalidArgument, "Required Metadata Property 'type' is missing")
		}
		ct, ok := m.Metadata["content-type"]
		if !ok {
			return status.Error(codes.InvalidArgument, "Required Metadata Property 'content-type' is missing")
		}
		events = append(events, proposed{id: id, eventType: typ, contentType: ct, data: m.Data, meta: m.CustomMetadata})
	}

	out := s.db.append(stream, expected, events)
	if out.wrongVersion {
		return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrongExpectedVersion(expected, out.current),
		}})
	}
	ok := &streams.AppendResp_Success{}
	if out.current < 0 {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(out.current)}
	}
	if out.hasPosition {
		// KurrentDB reports the last event's log position as both parts
		// (RequestManager WriteEvents: "CommitPosition, CommitPosition").
		ok.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: out.position, PreparePosition: out.position,
		}}
	} else {
		ok.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}})
}

// wrongExpectedVersion fills both the current and the 20.6.0 fields of
// the answer, as KurrentDB does.
func wrongExpectedVersion(expected, current int64) *streams.AppendResp_WrongExpectedVersion {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch expected {
	case expectAny:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(expected)}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: uint64(expected)}
	}
	return w
}

// Read serves reads of a stream, reads of $all and catch-up
// subscriptions to $all.
func (s *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "'options' is a required argument")
	}
	enc := encoder{uuidAsString: o.GetUuidOption().GetString_() != nil}
	flt, err := newFilter(o)
	if err != nil {
		return err
	}
	backwards := o.ReadDirection == streams.ReadReq_Options_Backwards
	switch c := o.CountOption.(type) {
	case *streams.ReadReq_Options_Count:
		if st := o.GetStream(); st != nil {
			return s.readStream(st, backwards, c.Count, enc, srv)
		}
		if all := o.GetAll(); all != nil {
			return s.readAll(all, backwards, c.Count, flt, enc, srv)
		}
	case *streams.ReadReq_Options_Subscription:
		if o.GetStream() != nil {
			return status.Error(codes.Unimplemented, "kurrentfake: subscriptions to a single stream are not implemented")
		}
		if all := o.GetAll(); all != nil {
			if backwards {
				return status.Error(codes.InvalidArgument, "subscriptions read forwards")
			}
			return s.subscribeAll(all, flt, enc, srv)
		}
	}
	return status.Error(codes.InvalidArgument, "a read needs a stream (or $all) and a count (or subscription) option")
}

func (s *streamsService) readStream(o *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64, enc encoder, srv streams.Streams_ReadServer) error {
	name := string(o.GetStreamIdentifier().GetStreamName())
	s.db.mu.Lock()
	revs := s.db.streams[name]
	if len(revs) == 0 {
		s.db.mu.Unlock()
		// A missing stream is a message of the read, not an error status.
		return srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
		}}})
	}
	last := uint64(len(revs) - 1)
	var out []*record
	switch r := o.RevisionOption.(type) {
	case *streams.ReadReq_Options_StreamOptions_Start:
		if !backwards {
			out = s.pick(revs, 0, last, false, count)
		}
	case *streams.ReadReq_Options_StreamOptions_End:
		if backwards {
			out = s.pick(revs, 0, last, true, count)
		}
	case *streams.ReadReq_Options_StreamOptions_Revision:
		switch {
		case !backwards && r.Revision <= last:
			out = s.pick(revs, r.Revision, last, false, count)
		case backwards:
			out = s.pick(revs, 0, min(r.Revision, last), true, count)
		}
	}
	s.db.mu.Unlock()
	for _, rec := range out {
		if err := srv.Send(enc.event(rec)); err != nil {
			return err
		}
	}
	return nil
}

// pick returns up to count records of revs[from..to], in either order.
// s.db.mu is held.
func (s *streamsService) pick(revs []int, from, to uint64, backwards bool, count uint64) []*record {
	var out []*record
	for i := range to - from + 1 {
		if uint64(len(out)) >= count {
			break
		}
		r := from + i
		if backwards {
			r = to - i
		}
		out = append(out, s.db.log[revs[r]])
	}
	return out
}

func (s *streamsService) readAll(o *streams.ReadReq_Options_AllOptions, backwards bool, count uint64, flt *filter, enc encoder, srv streams.Streams_ReadServer) error {
	s.db.mu.Lock()
	var out []*record
	switch p := o.AllOption.(type) {
	case *streams.ReadReq_Options_AllOptions_Start:
		if !backwards {
			out = s.scan(0, false, count, flt)
		}
	case *streams.ReadReq_Options_AllOptions_End:
		if backwards {
			out = s.scan(len(s.db.log)-1, true, count, flt)
		}
	case *streams.ReadReq_Options_AllOptions_Position:
		i, ok := s.db.allIndex(p.Position.GetCommitPosition(), p.Position.GetPreparePosition())
		if !ok {
			s.db.mu.Unlock()
			return status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
		}
		// Forwards from a position includes the event there; backwards
		// starts before it (positions are post-positions then).
		if backwards {
			out = s.scan(i-1, true, count, flt)
		} else {
			out = s.scan(i, false, count, flt)
		}
	}
	s.db.mu.Unlock()
	for _, rec := range out {
		if err := srv.Send(enc.event(rec)); err != nil {
			return err
		}
	}
	return nil
}

// scan collects up to count matching records from index i on. s.db.mu is
// held.
func (s *streamsService) scan(i int, backwards bool, count uint64, flt *filter) []*record {
	var out []*record
	for i >= 0 && i < len(s.db.log) && uint64(len(out)) < count {
		if r := s.db.log[i]; flt.match(r) {
			out = append(out, r)
		}
		if backwards {
			i--
		} else {
			i++
		}
	}
	return out
}

// subscribeAll is a catch-up subscription to $all, following KurrentDB's
// enumerator (Enumerators.AllSubscriptionFiltered): a confirmation first;
// the events after the start position (exclusive), page by page; for a
// filtered subscription a checkpoint every checkpointIntervalMultiplier ×
// maxSearchWindow events considered and one when it goes live; "caught
// up" when it reaches the end of the log; then live events as they are
// appended; "fell behind" (and catch-up again) when the log runs more
// than LiveBuffer events ahead of what was sent.
func (s *streamsService) subscribeAll(o *streams.ReadReq_Options_AllOptions, flt *filter, enc encoder, srv streams.Streams_ReadServer) error {
	s.db.mu.Lock()
	var next int // index of the next record to consider
	var lastPos uint64
	var havePos bool
	switch p := o.AllOption.(type) {
	case *streams.ReadReq_Options_AllOptions_Start:
	case *streams.ReadReq_Options_AllOptions_End:
		next = len(s.db.log)
	case *streams.ReadReq_Options_AllOptions_Position:
		i, ok := s.db.allIndex(p.Position.GetCommitPosition(), p.Position.GetPreparePosition())
		if !ok {
			s.db.mu.Unlock()
			return status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
		}
		next = i
		if i < len(s.db.log) && s.db.log[i].pos == p.Position.GetCommitPosition() {
			next = i + 1 // subscription positions are exclusive
		}
		lastPos, havePos = p.Position.GetCommitPosition(), true
	}
	s.db.mu.Unlock()

	if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}}); err != nil {
		return err
	}
	ctx := srv.Context()
	live := false
	considered := 0
	for {
		s.db.mu.Lock()
		end := min(next+s.opts.ReadBatch, len(s.db.log))
		page := append([]*record(nil), s.db.log[next:end]...)
		behind := len(s.db.log) - next
		changed := s.db.changed
		s.db.mu.Unlock()

		if len(page) == 0 {
			if !live {
				if flt != nil && havePos {
					if err := srv.Send(checkpoint(lastPos)); err != nil {
						return err
					}
				}
				if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
					return err
				}
				live = true
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if live && behind > s.opts.LiveBuffer {
			if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_FellBehind_{FellBehind: &streams.ReadResp_FellBehind{}}}); err != nil {
				return err
			}
			live = false
		}
		for _, r := range page {
			next++
			considered++
			lastPos, havePos = r.pos, true
			if flt.match(r) {
				if err := srv.Send(enc.event(r)); err != nil {
					return err
				}
			}
			if flt != nil && considered >= flt.checkpointEvery {
				considered = 0
				if err := srv.Send(checkpoint(r.pos)); err != nil {
					return err
				}
			}
		}
	}
}

func checkpoint(pos uint64) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: pos, PreparePosition: pos,
	}}}
}

// filter is a server-side filter on the event type or the stream name:
// any of the prefixes, or the regular expression (matched anywhere in
// the name, like .NET's Regex.IsMatch).
type filter struct {
	onStream        bool
	prefixes        []string
	re              *regexp.Regexp
	checkpointEvery int
}

func newFilter(o *streams.ReadReq_Options) (*filter, error) {
	f := o.GetFilter()
	if f == nil {
		return nil, nil // no_filter
	}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	flt := &filter{}
	switch {
	case f.GetStreamIdentifier() != nil:
		expr, flt.onStream = f.GetStreamIdentifier(), true
	case f.GetEventType() != nil:
		expr = f.GetEventType()
	default:
		return nil, status.Error(codes.InvalidArgument, "a filter needs a stream identifier or event type expression")
	}
	if len(expr.Prefix) > 0 && expr.Regex != "" {
		return nil, status.Error(codes.InvalidArgument, "a filter takes prefixes or a regex, not both")
	}
	flt.prefixes = expr.Prefix
	if expr.Regex != "" {
		re, err := regexp.Compile(expr.Regex)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
		flt.re = re
	}
	window := 32 // KurrentDB's default max search window
	if m, ok := f.Window.(*streams.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = int(m.Max)
	}
	mult := max(int(f.CheckpointIntervalMultiplier), 1)
	flt.checkpointEvery = window * mult
	return flt, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.eventType
	if f.onStream {
		subject = r.stream
	}
	if f.re != nil {
		return f.re.MatchString(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return len(f.prefixes) == 0
}

// encoder writes events in the UUID form the request asked for.
type encoder struct{ uuidAsString bool }

func (e encoder) event(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               e.uuid(r.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.rev,
			PreparePosition:  r.pos,
			CommitPosition:   r.pos,
			Metadata: map[string]string{
				"type":         r.eventType,
				"content-type": r.contentType,
				"created":      r.ticks(),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.pos},
	}}}
}

func (e encoder) uuid(id uuid.UUID) *shared.UUID {
	if e.uuidAsString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(beUint64(id[:8])),
		LeastSignificantBits: int64(beUint64(id[8:])),
	}}}
}

func fromProtoUUID(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		var id uuid.UUID
		putBeUint64(id[:8], uint64(s.MostSignificantBits))
		putBeUint64(id[8:], uint64(s.LeastSignificantBits))
		return id, nil
	}
	if str := u.GetString_(); str != "" {
		return uuid.Parse(str)
	}
	return uuid.Nil, errors.New("missing")
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}

func putBeUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
