package kafka

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The message format is the CloudEvents Kafka protocol binding in binary
// mode: the key is the stream ID, the value the event's JSON data as the
// store holds it, and the attributes are headers. Our extension attributes
// are lower-case alphanumeric, as CloudEvents requires.
const (
	HeaderSpecVersion   = "ce_specversion"
	HeaderID            = "ce_id"
	HeaderSource        = "ce_source"
	HeaderType          = "ce_type"
	HeaderTime          = "ce_time"
	HeaderSubject       = "ce_subject"
	HeaderDataSchema    = "ce_dataschema"
	HeaderPartitionKey  = "ce_partitionkey"
	HeaderContentType   = "content-type"
	HeaderSchoolID      = "ce_schoolid"
	HeaderStreamVersion = "ce_streamversion"
	HeaderPosition      = "ce_position"
	HeaderCorrelationID = "ce_correlationid"
	HeaderCausationID   = "ce_causationid"
	HeaderActorID       = "ce_actorid"
	HeaderActorRole     = "ce_actorrole"
	HeaderRequestID     = "ce_requestid"
)

// Fixed values of the format.
const (
	SpecVersion = "1.0"
	ContentType = "application/json"
	// TypePrefix prefixes event types in ce_type: edusmarthub.teacher.created.v1.
	TypePrefix = "edusmarthub."
	// SourcePrefix is ce_source without the school ID.
	SourcePrefix = "/edusmarthub/schools/"
	// SchemaBaseURL is where ce_dataschema points: SchemaBaseURL +
	// <event type> + ".json", the $id of the event type's JSON Schema
	// (domain.Schemas).
	SchemaBaseURL = "https://schemas.edusmarthub.dev/events/"
)

// ErrMalformed is matched by every error of DecodeMessage and DecodeHeaders:
// the message is not one of our events, and retrying will not change that.
var ErrMalformed = errors.New("kafka: malformed event message")

// SchemaURL is the ce_dataschema of an event type.
func SchemaURL(eventType string) string { return SchemaBaseURL + eventType + ".json" }

// Event is a stored event as a consumer receives it from Kafka.
type Event struct {
	ID       uuid.UUID
	Type     string // without TypePrefix: "teacher.created.v1"
	Channel  domain.Channel
	Stream   string
	Version  eventstore.Version
	Position eventstore.Position
	Time     time.Time
	Metadata eventstore.Metadata
	Data     json.RawMessage

	// body is Data decoded, once a consumer has checked that it decodes.
	body domain.Event
}

// Decode returns the typed domain event: the one the consumer decoded to
// check the message, if it did, else Data decoded now. Read it, do not
// change it.
func (e Event) Decode() (domain.Event, error) {
	if e.body != nil {
		return e.body, nil
	}
	return domain.DecodeEvent(e.Type, e.Data)
}

// Recorded returns the event in the store's shape, for code shared with
// rebuilds that read the store directly.
func (e Event) Recorded() eventstore.RecordedEvent {
	return eventstore.RecordedEvent{
		ID:         e.ID,
		StreamID:   e.Stream,
		Version:    e.Version,
		Position:   e.Position,
		Type:       e.Type,
		Data:       []byte(e.Data),
		Metadata:   e.Metadata,
		RecordedAt: e.Time,
	}
}

type header struct{ key, value string }

// headers lists the event's attributes in a fixed order; empty optional
// extensions are left out.
func headers(e eventstore.RecordedEvent) []header {
	h := make([]header, 0, 17)
	h = append(h,
		header{HeaderSpecVersion, SpecVersion},
		header{HeaderID, e.ID.String()},
		header{HeaderSource, SourcePrefix + e.Metadata.SchoolID},
		header{HeaderType, TypePrefix + e.Type},
		header{HeaderTime, e.RecordedAt.UTC().Format(time.RFC3339Nano)},
		header{HeaderSubject, e.StreamID},
		header{HeaderDataSchema, SchemaURL(e.Type)},
		header{HeaderPartitionKey, e.StreamID},
		header{HeaderContentType, ContentType},
		header{HeaderSchoolID, e.Metadata.SchoolID},
		header{HeaderStreamVersion, strconv.FormatUint(e.Version, 10)},
		header{HeaderPosition, strconv.FormatUint(e.Position, 10)},
	)
	for _, o := range []header{
		{HeaderCorrelationID, e.Metadata.CorrelationID},
		{HeaderCausationID, e.Metadata.CausationID},
		{HeaderActorID, e.Metadata.ActorID},
		{HeaderActorRole, e.Metadata.ActorRole},
		{HeaderRequestID, e.Metadata.RequestID},
	} {
		if o.value != "" {
			h = append(h, o)
		}
	}
	return h
}

// TopicOf is the topic of a stored event: its channel's. An event type
// this build does not know has no channel: the error says so.
func (c Config) TopicOf(eventType string) (string, error) {
	ch, ok := domain.ChannelOf(eventType)
	if !ok {
		return "", fmt.Errorf("kafka: event type %q is not registered: no channel, so no topic", eventType)
	}
	return c.Topic(ch), nil
}

// ProducerMessage encodes a stored event for its channel's topic.
func (c Config) ProducerMessage(e eventstore.RecordedEvent) (*sarama.ProducerMessage, error) {
	topic, err := c.TopicOf(e.Type)
	if err != nil {
		return nil, err
	}
	return producerMessage(topic, e), nil
}

// producerMessage is the relay's hot path: it writes the same headers as
// headers(), in the same order, but all values into one buffer and the
// type's constant ones from a cache, so an event costs a few allocations
// instead of dozens.
func producerMessage(topic string, e eventstore.RecordedEvent) *sarama.ProducerMessage {
	th := typeHeadersOf(e.Type)
	m := e.Metadata
	buf := make([]byte, 0, 36+len(SourcePrefix)+len(m.SchoolID)+len(time.RFC3339Nano)+len(e.StreamID)+2*20+
		len(m.CorrelationID)+len(m.CausationID)+len(m.ActorID)+len(m.ActorRole)+len(m.RequestID))
	// Slices of buf stay valid: its capacity is never exceeded.
	take := func(from int) []byte { return buf[from:len(buf):len(buf)] }
	rh := make([]sarama.RecordHeader, 0, 17)
	add := func(key []byte, value []byte) { rh = append(rh, sarama.RecordHeader{Key: key, Value: value}) }

	add(keySpecVersion, valueSpecVersion)
	start := len(buf)
	buf = appendUUID(buf, e.ID)
	add(keyID, take(start))
	start = len(buf)
	buf = append(buf, SourcePrefix...)
	schoolAt := len(buf)
	buf = append(buf, m.SchoolID...)
	add(keySource, take(start))
	school := take(schoolAt)
	add(keyType, th.ceType)
	start = len(buf)
	buf = e.RecordedAt.UTC().AppendFormat(buf, time.RFC3339Nano)
	add(keyTime, take(start))
	start = len(buf)
	buf = append(buf, e.StreamID...)
	stream := take(start)
	add(keySubject, stream)
	add(keyDataSchema, th.schema)
	add(keyPartitionKey, stream)
	add(keyContentType, valueContentType)
	add(keySchoolID, school)
	start = len(buf)
	buf = strconv.AppendUint(buf, e.Version, 10)
	add(keyStreamVersion, take(start))
	start = len(buf)
	buf = strconv.AppendUint(buf, e.Position, 10)
	add(keyPosition, take(start))
	for _, o := range []struct {
		key   []byte
		value string
	}{
		{keyCorrelationID, m.CorrelationID},
		{keyCausationID, m.CausationID},
		{keyActorID, m.ActorID},
		{keyActorRole, m.ActorRole},
		{keyRequestID, m.RequestID},
	} {
		if o.value != "" {
			start = len(buf)
			buf = append(buf, o.value...)
			add(o.key, take(start))
		}
	}
	return &sarama.ProducerMessage{
		Topic:   topic,
		Key:     sarama.StringEncoder(e.StreamID),
		Value:   sarama.ByteEncoder(e.Data),
		Headers: rh,
	}
}

// Header keys and constant values as bytes, shared by every message
// (sarama only reads them).
var (
	keySpecVersion    = []byte(HeaderSpecVersion)
	keyID             = []byte(HeaderID)
	keySource         = []byte(HeaderSource)
	keyType           = []byte(HeaderType)
	keyTime           = []byte(HeaderTime)
	keySubject        = []byte(HeaderSubject)
	keyDataSchema     = []byte(HeaderDataSchema)
	keyPartitionKey   = []byte(HeaderPartitionKey)
	keyContentType    = []byte(HeaderContentType)
	keySchoolID       = []byte(HeaderSchoolID)
	keyStreamVersion  = []byte(HeaderStreamVersion)
	keyPosition       = []byte(HeaderPosition)
	keyCorrelationID  = []byte(HeaderCorrelationID)
	keyCausationID    = []byte(HeaderCausationID)
	keyActorID        = []byte(HeaderActorID)
	keyActorRole      = []byte(HeaderActorRole)
	keyRequestID      = []byte(HeaderRequestID)
	valueSpecVersion  = []byte(SpecVersion)
	valueContentType  = []byte(ContentType)
	typeHeadersByType sync.Map // event type -> typeHeaders
)

// typeHeaders are the headers that depend on the event type only.
type typeHeaders struct{ ceType, schema []byte }

func typeHeadersOf(eventType string) typeHeaders {
	if th, ok := typeHeadersByType.Load(eventType); ok {
		return th.(typeHeaders)
	}
	th := typeHeaders{ceType: []byte(TypePrefix + eventType), schema: []byte(SchemaURL(eventType))}
	typeHeadersByType.Store(eventType, th)
	return th
}

// appendUUID appends the canonical text form of id, as id.String() would.
func appendUUID(b []byte, id uuid.UUID) []byte {
	var text [36]byte
	hex.Encode(text[0:8], id[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], id[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], id[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], id[8:10])
	text[23] = '-'
	hex.Encode(text[24:], id[10:])
	return append(b, text[:]...)
}

// NewMessage encodes a stored event as a Watermill message: UUID = event
// ID, metadata = the CloudEvents headers, payload = the data. Publish it
// through a Watermill Kafka publisher with Marshaler, which keys it by
// stream.
func NewMessage(e eventstore.RecordedEvent) *message.Message {
	msg := message.NewMessage(e.ID.String(), message.Payload(e.Data))
	for _, h := range headers(e) {
		msg.Metadata.Set(h.key, h.value)
	}
	return msg
}

// Marshaler is the Watermill Kafka (un)marshaler of our messages. It
// differs from watermill-kafka's default in two ways: the key is the
// message's ce_partitionkey (the stream), so per-stream order holds on
// every path that publishes through Watermill (DLQ, redrive, replay); and
// the message UUID is ce_id, not a Watermill-only header, so a message
// decodes the same whichever producer wrote it (the relay writes with
// sarama directly).
type Marshaler struct{}

var _ wmkafka.MarshalerUnmarshaler = Marshaler{}

// Marshal implements wmkafka.Marshaler. Metadata become headers, sorted by
// name so equal messages encode alike.
func (Marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	keys := make([]string, 0, len(msg.Metadata))
	for k := range msg.Metadata {
		if k == wmkafka.UUIDHeaderKey {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	hs := make([]sarama.RecordHeader, 0, len(keys)+1)
	for _, k := range keys {
		hs = append(hs, sarama.RecordHeader{Key: []byte(k), Value: []byte(msg.Metadata[k])})
	}
	if msg.Metadata.Get(HeaderID) == "" && msg.UUID != "" {
		// Not one of our events (e.g. a test message): keep its UUID.
		hs = append(hs, sarama.RecordHeader{Key: []byte(wmkafka.UUIDHeaderKey), Value: []byte(msg.UUID)})
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(msg.Payload), Headers: hs}
	key := msg.Metadata.Get(HeaderPartitionKey)
	if key == "" {
		key = msg.Metadata.Get(HeaderSubject)
	}
	if key != "" {
		pm.Key = sarama.StringEncoder(key)
	}
	return pm, nil
}

// Unmarshal implements wmkafka.Unmarshaler: every header becomes metadata
// and the UUID is ce_id (or watermill's UUID header for other messages).
func (Marshaler) Unmarshal(km *sarama.ConsumerMessage) (*message.Message, error) {
	md := make(message.Metadata, len(km.Headers))
	var wmID string
	for _, h := range km.Headers {
		if h == nil {
			continue
		}
		if string(h.Key) == wmkafka.UUIDHeaderKey {
			wmID = string(h.Value)
			continue
		}
		md.Set(string(h.Key), string(h.Value))
	}
	id := md.Get(HeaderID)
	if id == "" {
		id = wmID
	}
	msg := message.NewMessage(id, km.Value)
	msg.Metadata = md
	return msg, nil
}

// DecodeMessage decodes one of our messages (see Marshaler.Unmarshal).
// Errors match ErrMalformed and name the bad header.
func DecodeMessage(msg *message.Message) (Event, error) {
	if msg == nil {
		return Event{}, fmt.Errorf("%w: no message", ErrMalformed)
	}
	return DecodeHeaders(msg.Metadata, msg.Payload)
}

// DecodeHeaders decodes a message from its headers and value, for
// consumers that do not go through Watermill. Errors match ErrMalformed
// and name the bad header.
func DecodeHeaders(h map[string]string, data []byte) (Event, error) {
	return decodeHeaders(func(key string) string { return h[key] }, data)
}

// decodeRecord decodes a consumed Kafka record as DecodeHeaders does,
// without first copying its headers into a map: the way of the batch
// consumers, which decode every message of every batch.
func decodeRecord(km *sarama.ConsumerMessage) (Event, error) {
	return decodeHeaders(func(key string) string {
		for _, h := range km.Headers {
			if h != nil && string(h.Key) == key {
				return string(h.Value)
			}
		}
		return ""
	}, km.Value)
}

// decodeHeaders is DecodeHeaders over h, which returns a header's value
// ("" if absent).
func decodeHeaders(h func(key string) string, data []byte) (Event, error) {
	bad := func(key, format string, args ...any) (Event, error) {
		return Event{}, fmt.Errorf("%w: header %s: %s", ErrMalformed, key, fmt.Sprintf(format, args...))
	}
	if v := h(HeaderSpecVersion); v != SpecVersion {
		return bad(HeaderSpecVersion, "is %q, want %q", v, SpecVersion)
	}
	var e Event
	id, err := uuid.Parse(h(HeaderID))
	if err != nil || id == uuid.Nil {
		return bad(HeaderID, "%q is not an event ID (a UUID)", h(HeaderID))
	}
	e.ID = id
	typ, ok := strings.CutPrefix(h(HeaderType), TypePrefix)
	if !ok || typ == "" {
		return bad(HeaderType, "%q is not an event type starting with %q", h(HeaderType), TypePrefix)
	}
	e.Type = typ
	if e.Channel, ok = domain.ChannelOf(typ); !ok {
		return bad(HeaderType, "event type %q is unknown to this build", typ)
	}
	if e.Stream = h(HeaderSubject); e.Stream == "" {
		return bad(HeaderSubject, "is missing: it names the event's stream")
	}
	if e.Time, err = time.Parse(time.RFC3339Nano, h(HeaderTime)); err != nil {
		return bad(HeaderTime, "%q is not an RFC 3339 time", h(HeaderTime))
	}
	if e.Version, err = strconv.ParseUint(h(HeaderStreamVersion), 10, 64); err != nil || e.Version == 0 {
		return bad(HeaderStreamVersion, "%q is not a stream version (1 or more)", h(HeaderStreamVersion))
	}
	if e.Position, err = strconv.ParseUint(h(HeaderPosition), 10, 64); err != nil || e.Position == 0 {
		return bad(HeaderPosition, "%q is not a log position (1 or more)", h(HeaderPosition))
	}
	if ct := h(HeaderContentType); ct != "" && ct != ContentType {
		return bad(HeaderContentType, "is %q, want %q", ct, ContentType)
	}
	e.Metadata = eventstore.Metadata{
		SchoolID:      h(HeaderSchoolID),
		ActorID:       h(HeaderActorID),
		ActorRole:     h(HeaderActorRole),
		CorrelationID: h(HeaderCorrelationID),
		CausationID:   h(HeaderCausationID),
		RequestID:     h(HeaderRequestID),
	}
	if e.Metadata.SchoolID == "" {
		return bad(HeaderSchoolID, "is missing: every event belongs to a school")
	}
	if !json.Valid(data) {
		return Event{}, fmt.Errorf("%w: the value is not JSON (event %s, type %s)", ErrMalformed, e.ID, e.Type)
	}
	e.Data = json.RawMessage(data)
	return e, nil
}
