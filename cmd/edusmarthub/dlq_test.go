package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func TestDLQListAndRedrive(t *testing.T) {
	t.Parallel()
	b, err := kafka.StartEmbeddedBroker(t.Context(), "127.0.0.1:0", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kcfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 2}
	if err := kafka.EnsureTopics(t.Context(), kcfg, nil); err != nil {
		t.Fatal(err)
	}
	pc, err := kcfg.ProducerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := sarama.NewSyncProducer(kcfg.Brokers, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	// A dead letter as a router writes it: the original message plus the
	// dlq_ headers.
	ev := eventstore.RecordedEvent{
		ID: uuid.New(), StreamID: "teacher-1", Version: 3, Position: 17, Type: domain.TeacherDeactivatedType,
		Data:       []byte(`{"teacherId":"1","schoolId":"s","reason":"left","at":"2025-01-01T00:00:00Z"}`),
		Metadata:   eventstore.Metadata{SchoolID: "s", ActorID: "a"},
		RecordedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	pm, err := kcfg.ProducerMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	pm.Topic = kcfg.DLQTopic()
	for _, h := range [][2]string{
		{kafka.HeaderDLQError, "projection: relation \"teachers\" does not exist"},
		{kafka.HeaderDLQTopic, kcfg.Topic(domain.ChannelTeacher)},
		{kafka.HeaderDLQPartition, "1"},
		{kafka.HeaderDLQOffset, "42"},
		{kafka.HeaderDLQHandler, "teacher_directory"},
		{kafka.HeaderDLQTime, "2025-01-02T03:04:05Z"},
		{kafka.HeaderDLQAttempts, "5"},
	} {
		pm.Headers = append(pm.Headers, sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
	}
	if _, _, err := prod.SendMessage(pm); err != nil {
		t.Fatal(err)
	}

	environ := map[string]string{"EDUSMARTHUB_KAFKA_BROKERS": b.Addr(), "EDUSMARTHUB_DATA_DIR": t.TempDir()}
	code, out, errOut := edusmarthub(t, environ, "dlq", "list")
	if code != 0 {
		t.Fatalf("dlq list exited %d: %s", code, errOut)
	}
	for _, want := range []string{"TOPIC", "edusmarthub.teacher", "42", "teacher.deactivated.v1", ev.ID.String(),
		"teacher_directory", `projection: relation "teachers" does not exist`} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq list output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = edusmarthub(t, environ, "dlq", "list", "--json")
	if code != 0 {
		t.Fatalf("dlq list --json exited %d: %s", code, errOut)
	}
	var d struct {
		Topic     string
		Partition int32
		Offset    int64
		Type, ID  string
		Error     string
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("dlq list --json: %v\n%s", err, out)
	}
	if d.Topic != "edusmarthub.teacher" || d.Partition != 1 || d.Offset != 42 || d.Type != ev.Type || d.ID != ev.ID.String() {
		t.Errorf("dlq list --json: %+v", d)
	}

	code, _, errOut = edusmarthub(t, environ, "dlq", "redrive", "--id", "nope")
	if code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("redrive of an unknown ID exited %d: %s", code, errOut)
	}
	code, out, errOut = edusmarthub(t, environ, "dlq", "redrive", "--id", ev.ID.String())
	if code != 0 {
		t.Fatalf("dlq redrive exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "re-drove 0/0") && !strings.Contains(out, "re-drove 1/0") || !strings.Contains(out, "1 dead letter re-driven, 0 skipped") {
		t.Errorf("dlq redrive output:\n%s", out)
	}
	code, out, errOut = edusmarthub(t, environ, "dlq", "redrive")
	if code != 0 || !strings.Contains(out, "0 dead letters re-driven, 1 skipped") {
		t.Errorf("second redrive exited %d:\n%s%s", code, out, errOut)
	}
	code, out, _ = edusmarthub(t, environ, "dlq", "list")
	if code != 0 || !strings.Contains(out, "0 pending; 1 already re-driven") {
		t.Errorf("dlq list after the redrive:\n%s", out)
	}
	code, out, _ = edusmarthub(t, environ, "dlq", "list", "--all")
	if code != 0 || !strings.Contains(out, "edusmarthub.teacher/") {
		t.Errorf("dlq list --all does not say where it went:\n%s", out)
	}
}

func TestDLQWithoutARunningServeSaysSo(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	environ := map[string]string{"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR": addr, "EDUSMARTHUB_DATA_DIR": t.TempDir()}
	code, _, errOut := edusmarthub(t, environ, "dlq", "list")
	if code == 0 || !strings.Contains(errOut, addr) || !strings.Contains(errOut, "edusmarthub serve") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}
