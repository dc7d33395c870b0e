package kafka_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

var updateAsyncAPI = flag.Bool("update-asyncapi", false, "rewrite transport/kafka/asyncapi.json from kafka.AsyncAPI")

// The repository's asyncapi.json is the document of the default
// configuration, current with the event types and their schemas:
// `go test ./transport/kafka -run TestAsyncAPI -args -update-asyncapi` rewrites it.
func TestAsyncAPIDocumentInTheRepositoryIsCurrent(t *testing.T) {
	t.Parallel()
	doc, err := kafka.AsyncAPI(kafka.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if *updateAsyncAPI {
		if err := os.WriteFile("asyncapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := os.ReadFile("asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept, doc) {
		t.Fatal("transport/kafka/asyncapi.json is stale: run go test ./transport/kafka -run TestAsyncAPI -args -update-asyncapi")
	}
}

// The document lists every topic as a channel and every event type as a
// message of its channel, with the CloudEvents headers and its schema;
// every $ref in it resolves.
func TestAsyncAPIDocumentDescribesEveryTopicAndEventType(t *testing.T) {
	t.Parallel()
	cfg := kafka.Config{TopicPrefix: "acme", Partitions: 3, Brokers: []string{"k1:9092", "k2:9092"}}
	b, err := kafka.AsyncAPI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["asyncapi"] != "3.0.0" {
		t.Errorf("asyncapi = %v, want 3.0.0", doc["asyncapi"])
	}
	if host := pointer(t, doc, "/servers/kafka/host"); host != "k1:9092,k2:9092" {
		t.Errorf("server host = %v", host)
	}
	var addresses []string
	for _, ch := range pointer(t, doc, "/channels").(map[string]any) {
		addresses = append(addresses, ch.(map[string]any)["address"].(string))
	}
	for _, topic := range cfg.Topics() {
		if !slices.Contains(addresses, topic) {
			t.Errorf("topic %s is not a channel's address (have %v)", topic, addresses)
		}
	}
	for _, typ := range domain.EventTypes() {
		ch, _ := domain.ChannelOf(typ)
		if got := pointer(t, doc, "/channels/"+string(ch)+"/messages/"+escape(typ)+"/$ref"); got != "#/components/messages/"+typ {
			t.Errorf("channel %s does not list %s (%v)", ch, typ, got)
		}
		if got := pointer(t, doc, "/components/messages/"+escape(typ)+"/payload/$ref"); got != "#/components/schemas/"+typ {
			t.Errorf("message %s: payload %v", typ, got)
		}
		if got := pointer(t, doc, "/components/messages/"+escape(typ)+"/headers/allOf/1/properties/ce_type/const"); got != "edusmarthub."+typ {
			t.Errorf("message %s: ce_type %v", typ, got)
		}
		if got := pointer(t, doc, "/components/schemas/"+escape(typ)+"/$id"); got != kafka.SchemaURL(typ) {
			t.Errorf("schema of %s: $id %v", typ, got)
		}
	}
	required := pointer(t, doc, "/components/schemas/CloudEventsHeaders/required").([]any)
	for _, h := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_dataschema", "ce_partitionkey", "content-type"} {
		if !slices.Contains(required, any(h)) {
			t.Errorf("header %s is not required", h)
		}
	}
	checkRefs(t, doc, doc)
}

// escape makes a key a JSON pointer token.
func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

func pointer(t *testing.T, doc any, p string) any {
	t.Helper()
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i := 0
			for _, r := range tok {
				i = i*10 + int(r-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func checkRefs(t *testing.T, doc, node any) {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		if r, ok := n["$ref"].(string); ok {
			if !strings.HasPrefix(r, "#/") || pointer(t, doc, strings.TrimPrefix(r, "#")) == nil {
				t.Errorf("$ref %s does not resolve", r)
			}
		}
		for _, v := range n {
			checkRefs(t, doc, v)
		}
	case []any:
		for _, v := range n {
			checkRefs(t, doc, v)
		}
	}
}
