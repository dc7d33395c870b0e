package kafka

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AsyncAPI returns the AsyncAPI 3.0 document of the service's topics for
// cfg: one channel per topic (every domain channel, and the dead-letter
// topic), one message per event type with its CloudEvents headers and its
// payload's JSON Schema (from domain.Schemas), and the relay's send
// operations. The document for the default configuration is kept in the
// repository as transport/kafka/asyncapi.json (a test checks it is
// current); the HTTP API serves the one of the running configuration.
func AsyncAPI(cfg Config) ([]byte, error) {
	cfg.setDefaults()
	host := strings.Join(cfg.Brokers, ",")
	if host == "" {
		host = DefaultEmbeddedAddr
	}
	channels := map[string]any{}
	operations := map[string]any{}
	messages := map[string]any{}
	schemas := map[string]any{"CloudEventsHeaders": cloudEventsHeaders()}

	byChannel := map[domain.Channel][]string{}
	for _, typ := range domain.EventTypes() {
		ch, _ := domain.ChannelOf(typ)
		byChannel[ch] = append(byChannel[ch], typ)
		b, err := fs.ReadFile(domain.Schemas(), typ+".json")
		if err != nil {
			return nil, fmt.Errorf("kafka: asyncapi: schema of %s: %w", typ, err)
		}
		var schema map[string]any
		if err := json.Unmarshal(b, &schema); err != nil {
			return nil, fmt.Errorf("kafka: asyncapi: schema of %s: %w", typ, err)
		}
		// AsyncAPI's default schema format is a superset of draft 07;
		// ours use only keywords that mean the same there.
		delete(schema, "$schema")
		schemas[typ] = schema
		messages[typ] = map[string]any{
			"name":        typ,
			"title":       typ,
			"summary":     fmt.Sprintf("%s event on the %s channel.", typ, ch),
			"contentType": ContentType,
			"headers": map[string]any{
				"allOf": []any{
					ref("#/components/schemas/CloudEventsHeaders"),
					map[string]any{
						"type": "object",
						"properties": map[string]any{
							HeaderType:       map[string]any{"const": TypePrefix + typ},
							HeaderDataSchema: map[string]any{"const": SchemaURL(typ)},
						},
					},
				},
			},
			"payload":       ref("#/components/schemas/" + typ),
			"correlationId": map[string]any{"location": "$message.header#/" + HeaderCorrelationID},
			"bindings": map[string]any{"kafka": map[string]any{
				"key":            map[string]any{"type": "string", "description": "The stream ID (also ce_subject and ce_partitionkey): a stream's events share a partition, in order."},
				"bindingVersion": "0.5.0",
			}},
			"externalDocs": map[string]any{"url": SchemaURL(typ), "description": "The payload's JSON Schema ($id)."},
		}
	}

	for _, ch := range domain.Channels() {
		msgs := map[string]any{}
		var sends []any
		for _, typ := range byChannel[ch] {
			msgs[typ] = ref("#/components/messages/" + typ)
			sends = append(sends, ref("#/channels/"+string(ch)+"/messages/"+typ))
		}
		channels[string(ch)] = map[string]any{
			"address":     cfg.Topic(ch),
			"title":       cfg.Topic(ch),
			"description": fmt.Sprintf("Every event of the %s channel, as the relay publishes it from the event store: at least once, keyed by stream, so each stream's events are in order on one partition. Deduplicate by ce_id.", ch),
			"messages":    msgs,
			"bindings":    topicBinding(cfg, cfg.Topic(ch)),
		}
		if len(sends) == 0 {
			continue // no event type yet: the topic exists, nothing is sent
		}
		operations["publish-"+string(ch)] = map[string]any{
			"action":   "send",
			"channel":  ref("#/channels/" + string(ch)),
			"summary":  "The relay publishes the store's " + string(ch) + " events.",
			"messages": sends,
		}
	}
	channels["dlq"] = map[string]any{
		"address":     cfg.DLQTopic(),
		"title":       cfg.DLQTopic(),
		"description": "Dead letters: messages a consumer gave up on (after bounded retries, or at once when undecodable), with their original key, value and headers plus dlq_ headers saying why and where from. Listed and re-driven with `edusmarthub dlq`.",
		"messages":    map[string]any{"deadLetter": ref("#/components/messages/deadLetter")},
		"bindings":    topicBinding(cfg, cfg.DLQTopic()),
	}
	messages["deadLetter"] = map[string]any{
		"name":    "deadLetter",
		"title":   "Dead letter",
		"summary": "A message of any of the other topics, as it was, with the dlq_ headers added.",
		"headers": map[string]any{
			"type": "object",
			"properties": map[string]any{
				HeaderDLQError:     map[string]any{"type": "string", "description": "Why the consumer gave up: the last error."},
				HeaderDLQTopic:     map[string]any{"type": "string", "description": "The topic the message was consumed from (empty: the relay could not route it)."},
				HeaderDLQPartition: map[string]any{"type": "string", "description": "Its partition."},
				HeaderDLQOffset:    map[string]any{"type": "string", "description": "Its offset."},
				HeaderDLQHandler:   map[string]any{"type": "string", "description": "The handler (consumer group <prefix>.<handler>) that gave up."},
				HeaderDLQTime:      map[string]any{"type": "string", "format": "date-time", "description": "When, RFC 3339 UTC."},
				HeaderDLQAttempts:  map[string]any{"type": "string", "description": "How many times the handler ran."},
			},
			"required": []any{HeaderDLQError, HeaderDLQTime},
		},
		"payload": map[string]any{"description": "The original message's value, as it was (it may not be JSON)."},
	}

	doc := map[string]any{
		"asyncapi": "3.0.0",
		"id":       "urn:edusmarthub:events",
		"info": map[string]any{
			"title":   "EduSmartHub events",
			"version": "1.0.0",
			"description": "The events of the EduSmartHub event store, published to Kafka by the relay: one topic per channel, " +
				"CloudEvents Kafka protocol binding in binary mode (ce_ headers, JSON value), key = stream ID. " +
				"Event types are versioned and never changed in place; each has a JSON Schema (ce_dataschema).",
		},
		"defaultContentType": ContentType,
		"servers": map[string]any{
			"kafka": map[string]any{
				"host":            host,
				"protocol":        "kafka",
				"protocolVersion": cfg.Version,
				"description":     "The configured brokers (EDUSMARTHUB_KAFKA_BROKERS); by default the embedded development broker.",
			},
		},
		"channels":   channels,
		"operations": operations,
		"components": map[string]any{"messages": messages, "schemas": schemas},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("kafka: asyncapi: %w", err)
	}
	return append(b, '\n'), nil
}

func ref(to string) map[string]any { return map[string]any{"$ref": to} }

func topicBinding(cfg Config, topic string) map[string]any {
	k := map[string]any{"topic": topic, "partitions": cfg.Partitions, "bindingVersion": "0.5.0"}
	if cfg.ReplicationFactor > 0 {
		k["replicas"] = cfg.ReplicationFactor
	}
	return map[string]any{"kafka": k}
}

// cloudEventsHeaders is the schema of the headers every event message
// carries (CloudEvents Kafka binding, binary mode, plus our extensions).
func cloudEventsHeaders() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	// Platform-wide events (maintenance windows) belong to no school: their
	// tenant is the reserved school domain.PlatformSchoolID.
	sourceDesc := SourcePrefix + "<school ID>: the tenant the event belongs to; " + SourcePrefix + domain.PlatformSchoolID +
		" for platform-wide events (maintenance.*), which belong to no school."
	schoolDesc := `Extension: the school (tenant) ID; the reserved school "` + domain.PlatformSchoolID +
		`" (never a school's ID) for platform-wide events (maintenance.*, on the system topic).`
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			HeaderSpecVersion:   map[string]any{"const": SpecVersion, "description": "CloudEvents spec version."},
			HeaderID:            map[string]any{"type": "string", "format": "uuid", "description": "The event ID: unique, stable across re-deliveries; deduplicate by it."},
			HeaderSource:        map[string]any{"type": "string", "format": "uri-reference", "description": sourceDesc},
			HeaderType:          map[string]any{"type": "string", "pattern": "^" + strings.ReplaceAll(TypePrefix, ".", `\.`), "description": "The versioned event type with the product prefix, e.g. edusmarthub.teacher.created.v1."},
			HeaderTime:          map[string]any{"type": "string", "format": "date-time", "description": "When the event was recorded: RFC 3339, nanoseconds, UTC."},
			HeaderSubject:       str("The stream ID, e.g. teacher-<uuid>."),
			HeaderDataSchema:    map[string]any{"type": "string", "format": "uri", "description": "The JSON Schema of the value: " + SchemaBaseURL + "<event type>.json."},
			HeaderPartitionKey:  str("The partition key: the stream ID (also the Kafka key)."),
			HeaderContentType:   map[string]any{"const": ContentType},
			HeaderSchoolID:      str(schoolDesc),
			HeaderStreamVersion: map[string]any{"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Extension: the event's version in its stream (1 is the first)."},
			HeaderPosition:      map[string]any{"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Extension: the event's position in the store's global log (unique; not ordered across streams)."},
			HeaderCorrelationID: str("Extension, optional: the correlation ID of the request or workflow."),
			HeaderCausationID:   str("Extension, optional: the ID of what caused the event (a command or an event)."),
			HeaderActorID:       str("Extension: who caused the event."),
			HeaderActorRole:     str("Extension, optional: the actor's role."),
			HeaderRequestID:     str("Extension, optional: the HTTP request ID."),
		},
		"required": []any{HeaderSpecVersion, HeaderID, HeaderSource, HeaderType, HeaderTime, HeaderSubject,
			HeaderDataSchema, HeaderPartitionKey, HeaderContentType, HeaderSchoolID, HeaderStreamVersion, HeaderPosition},
	}
}
