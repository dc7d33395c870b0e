package kafka_test

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func pubRecorded() eventstore.RecordedEvent {
	return eventstore.RecordedEvent{
		ID:       uuid.MustParse("0b6a3e4e-8a55-4c1e-9b84-2f1d7a0c9e11"),
		StreamID: "teacher-7d0f",
		Version:  3,
		Position: 42,
		Type:     domain.TeacherDeactivatedType,
		Data:     []byte(`{"teacherId":"7d0f","schoolId":"s-1","reason":"moved","at":"2025-09-01T08:30:00Z"}`),
		Metadata: eventstore.Metadata{SchoolID: "s-1", ActorID: "u-9", ActorRole: "school_admin",
			CorrelationID: "corr-1", CausationID: "cmd-1", RequestID: "req-1"},
		RecordedAt: time.Date(2025, 9, 1, 8, 30, 0, 123456789, time.FixedZone("CEST", 7200)),
	}
}

func pubHeaders(hs []sarama.RecordHeader) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[string(h.Key)] = string(h.Value)
	}
	return m
}

// The message of a stored event follows the CloudEvents Kafka binding in
// binary mode, exactly as kafka.md and the AsyncAPI document say.
func TestProducerMessageIsABinaryModeCloudEvent(t *testing.T) {
	t.Parallel()
	cfg := kafka.Config{Brokers: []string{"k:1"}}
	e := pubRecorded()
	pm, err := cfg.ProducerMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Topic != "edusmarthub.teacher" {
		t.Errorf("topic %s", pm.Topic)
	}
	if k, _ := pm.Key.Encode(); string(k) != e.StreamID {
		t.Errorf("key %q", k)
	}
	if v, _ := pm.Value.Encode(); string(v) != string(e.Data) {
		t.Errorf("value %s", v)
	}
	want := map[string]string{
		"ce_specversion":   "1.0",
		"ce_id":            e.ID.String(),
		"ce_source":        "/edusmarthub/schools/s-1",
		"ce_type":          "edusmarthub.teacher.deactivated.v1",
		"ce_time":          "2025-09-01T06:30:00.123456789Z",
		"ce_subject":       "teacher-7d0f",
		"ce_dataschema":    "https://schemas.edusmarthub.dev/events/teacher.deactivated.v1.json",
		"ce_partitionkey":  "teacher-7d0f",
		"content-type":     "application/json",
		"ce_schoolid":      "s-1",
		"ce_streamversion": "3",
		"ce_position":      "42",
		"ce_correlationid": "corr-1",
		"ce_causationid":   "cmd-1",
		"ce_actorid":       "u-9",
		"ce_actorrole":     "school_admin",
		"ce_requestid":     "req-1",
	}
	if got := pubHeaders(pm.Headers); !maps.Equal(got, want) {
		t.Errorf("headers:\n got %v\nwant %v", got, want)
	}
	// Empty optional extensions are left out.
	e.Metadata = eventstore.Metadata{SchoolID: "s-1", ActorID: "u-9"}
	pm, _ = cfg.ProducerMessage(e)
	for _, h := range []string{"ce_correlationid", "ce_causationid", "ce_actorrole", "ce_requestid"} {
		if _, ok := pubHeaders(pm.Headers)[h]; ok {
			t.Errorf("empty %s is sent", h)
		}
	}
	e.Type = "legacy.thing.v1"
	if _, err := cfg.ProducerMessage(e); err == nil || !strings.Contains(err.Error(), "legacy.thing.v1") {
		t.Errorf("an unregistered type: %v", err)
	}
}

// Through Watermill (NewMessage, Marshaler) and back (Marshaler.Unmarshal,
// DecodeMessage) an event comes out as it went in; the Watermill path
// writes the same Kafka message as the relay's.
func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := kafka.Config{Brokers: []string{"k:1"}}
	e := pubRecorded()
	direct, _ := cfg.ProducerMessage(e)
	msg := kafka.NewMessage(e)
	if msg.UUID != e.ID.String() {
		t.Errorf("watermill UUID %s", msg.UUID)
	}
	viaWatermill, err := kafka.Marshaler{}.Marshal("edusmarthub.teacher", msg)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(pubHeaders(viaWatermill.Headers), pubHeaders(direct.Headers)) {
		t.Errorf("watermill headers %v\n differ from the relay's %v", pubHeaders(viaWatermill.Headers), pubHeaders(direct.Headers))
	}
	k1, _ := viaWatermill.Key.Encode()
	k2, _ := direct.Key.Encode()
	if string(k1) != string(k2) {
		t.Errorf("keys %q and %q", k1, k2)
	}

	var hs []*sarama.RecordHeader
	for _, h := range direct.Headers {
		hs = append(hs, &h)
	}
	value, _ := direct.Value.Encode()
	consumed := &sarama.ConsumerMessage{Topic: direct.Topic, Key: k2, Value: value, Headers: hs}
	got, err := kafka.Marshaler{}.Unmarshal(consumed)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := kafka.DecodeMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	// The batch consumers' way, straight from the record, decodes the same.
	if rec, err := kafka.DecodeRecord(consumed); err != nil || !reflect.DeepEqual(rec, ev) {
		t.Errorf("from the record: %+v, %v\nthrough Watermill: %+v", rec, err, ev)
	}
	want := e
	want.RecordedAt = e.RecordedAt.UTC()
	if rec := ev.Recorded(); !reflect.DeepEqual(rec, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", rec, want)
	}
	if ev.Channel != domain.ChannelTeacher || ev.Type != "teacher.deactivated.v1" {
		t.Errorf("channel %s type %s", ev.Channel, ev.Type)
	}
	typed, err := ev.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := typed.(domain.TeacherDeactivated); !ok || d.Reason != "moved" {
		t.Errorf("typed event %#v", typed)
	}
}

// A message that is not one of our events is rejected with an error
// naming what is wrong, matching ErrMalformed (a consumer dead-letters it
// at once).
func TestDecodeRejectsMalformedMessages(t *testing.T) {
	t.Parallel()
	cfg := kafka.Config{Brokers: []string{"k:1"}}
	pm, _ := cfg.ProducerMessage(pubRecorded())
	good := pubHeaders(pm.Headers)
	data, _ := pm.Value.Encode()
	tests := []struct {
		name   string
		change func(h map[string]string) []byte
		want   string
	}{
		{"no specversion", func(h map[string]string) []byte { delete(h, "ce_specversion"); return data }, "ce_specversion"},
		{"bad id", func(h map[string]string) []byte { h["ce_id"] = "42"; return data }, "ce_id"},
		{"foreign type", func(h map[string]string) []byte { h["ce_type"] = "com.other.thing"; return data }, "ce_type"},
		{"unknown type", func(h map[string]string) []byte { h["ce_type"] = "edusmarthub.teacher.teleported.v1"; return data }, "unknown to this build"},
		{"no subject", func(h map[string]string) []byte { delete(h, "ce_subject"); return data }, "ce_subject"},
		{"bad time", func(h map[string]string) []byte { h["ce_time"] = "yesterday"; return data }, "ce_time"},
		{"bad version", func(h map[string]string) []byte { h["ce_streamversion"] = "0"; return data }, "ce_streamversion"},
		{"bad position", func(h map[string]string) []byte { h["ce_position"] = "-1"; return data }, "ce_position"},
		{"xml", func(h map[string]string) []byte { h["content-type"] = "application/xml"; return data }, "content-type"},
		{"no school", func(h map[string]string) []byte { delete(h, "ce_schoolid"); return data }, "ce_schoolid"},
		{"not json", func(map[string]string) []byte { return []byte(`{"teacherId": 7`) }, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := maps.Clone(good)
			body := tt.change(h)
			_, err := kafka.DecodeHeaders(h, body)
			if !errors.Is(err, kafka.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrMalformed naming %s", err, tt.want)
			}
			km := &sarama.ConsumerMessage{Value: body}
			for k, v := range h {
				km.Headers = append(km.Headers, &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
			}
			if _, err := kafka.DecodeRecord(km); !errors.Is(err, kafka.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("from the record: err = %v, want ErrMalformed naming %s", err, tt.want)
			}
		})
	}
	if _, err := kafka.DecodeMessage(nil); !errors.Is(err, kafka.ErrMalformed) {
		t.Errorf("nil message: %v", err)
	}
}
