package config_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/internal/config"
)

const goodSecret = "0123456789abcdef0123456789abcdef"

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatalf("Load(empty): %v", err)
	}
	want := config.Config{
		DataDir:         "./.data",
		HTTPAddr:        ":8080",
		Env:             config.Development,
		LogFormat:       config.LogText,
		LogLevel:        "info",
		HTTPBodyLimit:   1 << 20,
		EmbeddedPGPort:  55432,
		ShutdownTimeout: 15 * time.Second,
		PGBinDir:        "/usr/lib/postgresql/15/bin",
		DBMaxConns:      20,

		ReadYourWritesTimeout: 3 * time.Second,
		LiveFeedMaxStreams:    1000,
		EventStore:            config.EventStorePostgres,

		KafkaEmbeddedAddr: "127.0.0.1:9092",
		KafkaVersion:      "3.6.0",
		KafkaClientID:     "edusmarthub",
		KafkaTopicPrefix:  "edusmarthub",
		KafkaPartitions:   12,

		Workflows:            config.WorkflowsOn,
		InterventionFollowUp: 14 * 24 * time.Hour,
		LessonsPerWeek:       4,
		SagaTick:             time.Second,
		SMTPTLS:              config.SMTPTLSStartTLS,
	}
	if c != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if !c.RunWorkflows() {
		t.Error("the workflows are off by default")
	}
	if !c.Embedded() || c.Production() || c.SlogLevel() != slog.LevelInfo {
		t.Errorf("Embedded=%v Production=%v SlogLevel=%v", c.Embedded(), c.Production(), c.SlogLevel())
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{
		"DATABASE_URL":                 "postgres://app:pw@db.internal:5432/edusmarthub?sslmode=disable",
		"EDUSMARTHUB_DATA_DIR":         "/var/lib/edusmarthub",
		"EDUSMARTHUB_HTTP_ADDR":        "127.0.0.1:9090",
		"EDUSMARTHUB_JWT_SECRET":       goodSecret,
		"EDUSMARTHUB_ENV":              "production",
		"EDUSMARTHUB_LOG_LEVEL":        "debug",
		"EDUSMARTHUB_HTTP_BODY_LIMIT":  "4096",
		"EDUSMARTHUB_EMBEDDED_PG_PORT": "0", // ignored: not embedded
		"EDUSMARTHUB_SHUTDOWN_TIMEOUT": "1m30s",
		"EDUSMARTHUB_PG_BIN_DIR":       "",
		"EDUSMARTHUB_DB_MAX_CONNS":     "5",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Embedded() || !c.Production() {
		t.Errorf("Embedded=%v Production=%v", c.Embedded(), c.Production())
	}
	if c.LogFormat != config.LogJSON {
		t.Errorf("production log format = %q, want json", c.LogFormat)
	}
	if c.SlogLevel() != slog.LevelDebug || c.ShutdownTimeout != 90*time.Second || c.HTTPBodyLimit != 4096 || c.DBMaxConns != 5 {
		t.Errorf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate on a loaded config: %v", err)
	}
}

func TestLoadExplicitLogFormatWins(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{"EDUSMARTHUB_LOG_FORMAT": "json"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != config.LogJSON {
		t.Errorf("LogFormat = %q, want json", c.LogFormat)
	}
}

// Every bad value is named in the one error Load returns, parse failures
// and validation failures alike, and a variable that failed to parse is
// not reported a second time by validation.
func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ map[string]string
		want    []string // variables the error must name
	}{
		{"bad database url", map[string]string{"DATABASE_URL": "postgres://x:y@h:notaport/db"}, []string{"DATABASE_URL"}},
		{"blank data dir", map[string]string{"EDUSMARTHUB_DATA_DIR": "  "}, []string{"EDUSMARTHUB_DATA_DIR"}},
		{"addr without port", map[string]string{"EDUSMARTHUB_HTTP_ADDR": "localhost"}, []string{"EDUSMARTHUB_HTTP_ADDR"}},
		{"addr bad port", map[string]string{"EDUSMARTHUB_HTTP_ADDR": ":99999"}, []string{"EDUSMARTHUB_HTTP_ADDR"}},
		{"unknown env", map[string]string{"EDUSMARTHUB_ENV": "staging"}, []string{"EDUSMARTHUB_ENV"}},
		{"production without secret", map[string]string{"EDUSMARTHUB_ENV": "production"}, []string{"EDUSMARTHUB_JWT_SECRET"}},
		{"short secret", map[string]string{"EDUSMARTHUB_JWT_SECRET": "hunter2"}, []string{"EDUSMARTHUB_JWT_SECRET"}},
		{"log format", map[string]string{"EDUSMARTHUB_LOG_FORMAT": "xml"}, []string{"EDUSMARTHUB_LOG_FORMAT"}},
		{"log level", map[string]string{"EDUSMARTHUB_LOG_LEVEL": "loud"}, []string{"EDUSMARTHUB_LOG_LEVEL"}},
		{"body limit not a number", map[string]string{"EDUSMARTHUB_HTTP_BODY_LIMIT": "1MB"}, []string{"EDUSMARTHUB_HTTP_BODY_LIMIT"}},
		{"body limit zero", map[string]string{"EDUSMARTHUB_HTTP_BODY_LIMIT": "0"}, []string{"EDUSMARTHUB_HTTP_BODY_LIMIT"}},
		{"pg port range", map[string]string{"EDUSMARTHUB_EMBEDDED_PG_PORT": "70000"}, []string{"EDUSMARTHUB_EMBEDDED_PG_PORT"}},
		{"pg port not a number", map[string]string{"EDUSMARTHUB_EMBEDDED_PG_PORT": "pg"}, []string{"EDUSMARTHUB_EMBEDDED_PG_PORT"}},
		{"shutdown not a duration", map[string]string{"EDUSMARTHUB_SHUTDOWN_TIMEOUT": "15"}, []string{"EDUSMARTHUB_SHUTDOWN_TIMEOUT"}},
		{"shutdown negative", map[string]string{"EDUSMARTHUB_SHUTDOWN_TIMEOUT": "-1s"}, []string{"EDUSMARTHUB_SHUTDOWN_TIMEOUT"}},
		{"max conns zero", map[string]string{"EDUSMARTHUB_DB_MAX_CONNS": "0"}, []string{"EDUSMARTHUB_DB_MAX_CONNS"}},
		{"max conns overflow", map[string]string{"EDUSMARTHUB_DB_MAX_CONNS": "99999999999"}, []string{"EDUSMARTHUB_DB_MAX_CONNS"}},
		{"read-your-writes zero", map[string]string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT": "0s"}, []string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT"}},
		{"read-your-writes too long", map[string]string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT": "5m"}, []string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT"}},
		{"read-your-writes not a duration", map[string]string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT": "3"}, []string{"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT"}},
		{"live streams zero", map[string]string{"EDUSMARTHUB_LIVE_FEED_MAX_STREAMS": "0"}, []string{"EDUSMARTHUB_LIVE_FEED_MAX_STREAMS"}},
		{"unknown event store", map[string]string{"EVENTSTORE": "mongodb"}, []string{"EVENTSTORE"}},
		{"kurrentdb without url", map[string]string{"EVENTSTORE": "kurrentdb"}, []string{"KURRENTDB_URL"}},
		{"kurrentdb url scheme", map[string]string{"KURRENTDB_URL": "http://localhost:2113"}, []string{"KURRENTDB_URL"}},
		{"kurrentdb url port", map[string]string{"EVENTSTORE": "kurrentdb", "KURRENTDB_URL": "kurrentdb://h:port"}, []string{"KURRENTDB_URL"}},
		{"everything at once", map[string]string{
			"DATABASE_URL":                 "postgres://x:y@h:notaport/db",
			"EDUSMARTHUB_DATA_DIR":         "",
			"EDUSMARTHUB_HTTP_ADDR":        "nope",
			"EDUSMARTHUB_ENV":              "production",
			"EDUSMARTHUB_LOG_FORMAT":       "xml",
			"EDUSMARTHUB_LOG_LEVEL":        "loud",
			"EDUSMARTHUB_HTTP_BODY_LIMIT":  "-1",
			"EDUSMARTHUB_SHUTDOWN_TIMEOUT": "soon",
			"EDUSMARTHUB_DB_MAX_CONNS":     "many",
		}, []string{
			"DATABASE_URL", "EDUSMARTHUB_HTTP_ADDR", "EDUSMARTHUB_JWT_SECRET",
			"EDUSMARTHUB_LOG_FORMAT", "EDUSMARTHUB_LOG_LEVEL", "EDUSMARTHUB_HTTP_BODY_LIMIT",
			"EDUSMARTHUB_SHUTDOWN_TIMEOUT", "EDUSMARTHUB_DB_MAX_CONNS",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tt.environ)
			if err == nil {
				t.Fatalf("Load(%v) = nil error, want one naming %v", tt.environ, tt.want)
			}
			msg := err.Error()
			for _, key := range tt.want {
				if n := strings.Count(msg, key+":"); n != 1 {
					t.Errorf("error names %s %d times, want once:\n%s", key, n, msg)
				}
			}
			lines := strings.Count(msg, "\n") // one header line, then one line per problem
			if lines != len(tt.want) {
				t.Errorf("error has %d problems, want %d:\n%s", lines, len(tt.want), msg)
			}
		})
	}
}

func TestLoadIgnoresEmbeddedSettingsWithDatabaseURL(t *testing.T) {
	t.Parallel()
	_, err := config.Load(map[string]string{
		"DATABASE_URL":                 "postgres://localhost/edusmarthub",
		"EDUSMARTHUB_EMBEDDED_PG_PORT": "0",
		"EDUSMARTHUB_PG_BIN_DIR":       " ",
	})
	if err != nil {
		t.Errorf("embedded settings checked although DATABASE_URL is set: %v", err)
	}
}

func TestErrorsDoNotLeakSecrets(t *testing.T) {
	t.Parallel()
	_, err := config.Load(map[string]string{
		"DATABASE_URL":           "postgres://app:s3cr3tpw@h:notaport/db",
		"EDUSMARTHUB_JWT_SECRET": "tooshort-s3cr3t",
	})
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestLogValueRedacts(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{
		"DATABASE_URL":           "postgres://app:s3cr3tpw@db:5432/edusmarthub",
		"EDUSMARTHUB_JWT_SECRET": goodSecret + "-s3cr3t",
	})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "config", c)
	out := sb.String()
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("log line leaks a secret: %s", out)
	}
	if !strings.Contains(out, "db:5432") {
		t.Errorf("log line lost the database host: %s", out)
	}
}

func TestUnknownVariables(t *testing.T) {
	t.Parallel()
	got := config.UnknownVariables(map[string]string{
		"EDUSMARTHUB_LOGLEVEL":          "debug", // typo
		"EDUSMARTHUB_ENV":               "development",
		"HOME":                          "/root",
		"EDUSMARTHUB_TEST_DATABASE_URL": "postgres://localhost/x", // the test harness's
	})
	if want := []string{"EDUSMARTHUB_LOGLEVEL"}; !slices.Equal(got, want) {
		t.Errorf("UnknownVariables = %v, want %v", got, want)
	}
	// Declaration order, each once (a count would break on every new setting).
	vars := config.Variables()
	if len(vars) < 14 || vars[0] != "DATABASE_URL" || len(slices.Compact(slices.Sorted(slices.Values(vars)))) != len(vars) ||
		!slices.Contains(vars, "EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT") {
		t.Errorf("Variables() = %v", vars)
	}
}

func TestLoadEventStore(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{
		"EVENTSTORE":    "kurrentdb",
		"KURRENTDB_URL": "kurrentdb://admin:s3cr3t@kurrentdb:2113?tls=false",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.EventStore != config.EventStoreKurrentDB || c.KurrentDBURL == "" {
		t.Errorf("parsed %+v", c)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "config", c)
	if out := sb.String(); strings.Contains(out, "s3cr3t") || !strings.Contains(out, "kurrentdb:2113") {
		t.Errorf("log line: %s", out)
	}
	if _, err := config.Load(map[string]string{"KURRENTDB_URL": "kurrentdb://u:s3cr3t@h:port"}); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("bad KURRENTDB_URL: %v", err)
	}
}

func TestLoadKafka(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{
		"EDUSMARTHUB_KAFKA_BROKERS":            " k1:9092, k2:9093 ,",
		"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR": "3",
		"EDUSMARTHUB_KAFKA_TLS":                "true",
		"EDUSMARTHUB_KAFKA_SASL_MECHANISM":     "SCRAM-SHA-512",
		"EDUSMARTHUB_KAFKA_SASL_USERNAME":      "svc",
		"EDUSMARTHUB_KAFKA_SASL_PASSWORD":      "hunter2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KafkaBrokerList(); !slices.Equal(got, []string{"k1:9092", "k2:9093"}) || c.KafkaEmbedded() {
		t.Errorf("brokers %v, embedded %v", got, c.KafkaEmbedded())
	}
	if c.KafkaReplicationFactor != 3 || !c.KafkaTLS {
		t.Errorf("replication %d, tls %v", c.KafkaReplicationFactor, c.KafkaTLS)
	}
	if logged := fmt.Sprint(c.LogValue()); strings.Contains(logged, "hunter2") {
		t.Errorf("the SASL password is logged: %s", logged)
	}

	for _, tc := range []struct {
		name    string
		environ map[string]string
		want    []string
	}{
		{"bad broker", map[string]string{"EDUSMARTHUB_KAFKA_BROKERS": "k1"}, []string{"EDUSMARTHUB_KAFKA_BROKERS"}},
		{"bad embedded addr", map[string]string{"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR": "nowhere"}, []string{"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR"}},
		{"bad version", map[string]string{"EDUSMARTHUB_KAFKA_VERSION": "latest"}, []string{"EDUSMARTHUB_KAFKA_VERSION"}},
		{"bad prefix", map[string]string{"EDUSMARTHUB_KAFKA_TOPIC_PREFIX": "a b"}, []string{"EDUSMARTHUB_KAFKA_TOPIC_PREFIX"}},
		{"no partitions", map[string]string{"EDUSMARTHUB_KAFKA_PARTITIONS": "0"}, []string{"EDUSMARTHUB_KAFKA_PARTITIONS"}},
		{"negative replication", map[string]string{"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR": "-1"}, []string{"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR"}},
		{"replication overflow", map[string]string{"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR": "70000"}, []string{"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR"}},
		{"tls not a bool", map[string]string{"EDUSMARTHUB_KAFKA_TLS": "yes please"}, []string{"EDUSMARTHUB_KAFKA_TLS"}},
		{"tls file without tls", map[string]string{"EDUSMARTHUB_KAFKA_TLS_CA_FILE": "/ca.pem"}, []string{"EDUSMARTHUB_KAFKA_TLS_CA_FILE"}},
		{"sasl unknown", map[string]string{"EDUSMARTHUB_KAFKA_SASL_MECHANISM": "GSSAPI"}, []string{"EDUSMARTHUB_KAFKA_SASL_MECHANISM"}},
		{"sasl without user", map[string]string{"EDUSMARTHUB_KAFKA_SASL_MECHANISM": "PLAIN"},
			[]string{"EDUSMARTHUB_KAFKA_SASL_USERNAME", "EDUSMARTHUB_KAFKA_SASL_PASSWORD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.environ)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, key := range tc.want {
				if !strings.Contains(err.Error(), key+":") {
					t.Errorf("error does not name %s:\n%v", key, err)
				}
			}
		})
	}
}

func TestLoadWorkflowsAndDeliveries(t *testing.T) {
	t.Parallel()
	c, err := config.Load(map[string]string{
		"EDUSMARTHUB_WORKFLOWS":              "off",
		"EDUSMARTHUB_INTERVENTION_FOLLOW_UP": "72h",
		"EDUSMARTHUB_LESSONS_PER_WEEK":       "5",
		"EDUSMARTHUB_SAGA_TICK":              "250ms",
		"EDUSMARTHUB_SMTP_HOST":              "smtp.school.example",
		"EDUSMARTHUB_SMTP_PORT":              "465",
		"EDUSMARTHUB_SMTP_USERNAME":          "mailer",
		"EDUSMARTHUB_SMTP_PASSWORD":          "s3cr3t-smtp",
		"EDUSMARTHUB_SMTP_FROM":              "EduSmartHub <noreply@school.example>",
		"EDUSMARTHUB_SMTP_TLS":               "tls",
		"EDUSMARTHUB_WEBHOOK_URL":            "https://hooks.example/services/T0K3N-s3cr3t",
		"EDUSMARTHUB_WEBHOOK_SECRET":         "whsec_czNjcjN0LWtleS1mb3Itd2ViaG9va3M=",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.RunWorkflows() || c.InterventionFollowUp != 72*time.Hour || c.LessonsPerWeek != 5 || c.SagaTick != 250*time.Millisecond ||
		c.SMTPHost != "smtp.school.example" || c.SMTPPort != 465 || c.SMTPTLS != config.SMTPTLSImplicit ||
		c.WebhookURL == "" || c.WebhookSecret == "" {
		t.Errorf("parsed %+v", c)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "config", c)
	if out := sb.String(); strings.Contains(out, "s3cr3t") || strings.Contains(out, "whsec") || strings.Contains(out, "T0K3N") ||
		!strings.Contains(out, "smtp.school.example") || !strings.Contains(out, "hooks.example") {
		t.Errorf("log line: %s", out)
	}

	for _, tc := range []struct {
		name    string
		environ map[string]string
		want    []string
	}{
		{"workflows neither on nor off", map[string]string{"EDUSMARTHUB_WORKFLOWS": "false"}, []string{"EDUSMARTHUB_WORKFLOWS"}},
		{"follow-up not a duration", map[string]string{"EDUSMARTHUB_INTERVENTION_FOLLOW_UP": "14d"}, []string{"EDUSMARTHUB_INTERVENTION_FOLLOW_UP"}},
		{"follow-up zero", map[string]string{"EDUSMARTHUB_INTERVENTION_FOLLOW_UP": "0s"}, []string{"EDUSMARTHUB_INTERVENTION_FOLLOW_UP"}},
		{"lessons zero", map[string]string{"EDUSMARTHUB_LESSONS_PER_WEEK": "0"}, []string{"EDUSMARTHUB_LESSONS_PER_WEEK"}},
		{"tick too short", map[string]string{"EDUSMARTHUB_SAGA_TICK": "1ms"}, []string{"EDUSMARTHUB_SAGA_TICK"}},
		{"smtp tls", map[string]string{"EDUSMARTHUB_SMTP_TLS": "ssl"}, []string{"EDUSMARTHUB_SMTP_TLS"}},
		{"smtp without from", map[string]string{"EDUSMARTHUB_SMTP_HOST": "smtp.example"}, []string{"EDUSMARTHUB_SMTP_FROM"}},
		{"smtp host with port", map[string]string{"EDUSMARTHUB_SMTP_HOST": "smtp.example:25", "EDUSMARTHUB_SMTP_FROM": "a@b.example"},
			[]string{"EDUSMARTHUB_SMTP_HOST"}},
		{"smtp port", map[string]string{"EDUSMARTHUB_SMTP_PORT": "70000"}, []string{"EDUSMARTHUB_SMTP_PORT"}},
		{"smtp settings without host", map[string]string{"EDUSMARTHUB_SMTP_USERNAME": "u", "EDUSMARTHUB_SMTP_FROM": "a@b.example"},
			[]string{"EDUSMARTHUB_SMTP_USERNAME", "EDUSMARTHUB_SMTP_FROM"}},
		{"webhook url", map[string]string{"EDUSMARTHUB_WEBHOOK_URL": "ftp://x/T0K3N", "EDUSMARTHUB_WEBHOOK_SECRET": "0123456789abcdef"},
			[]string{"EDUSMARTHUB_WEBHOOK_URL"}},
		{"webhook without secret", map[string]string{"EDUSMARTHUB_WEBHOOK_URL": "https://x.example/h"}, []string{"EDUSMARTHUB_WEBHOOK_SECRET"}},
		{"webhook secret without url", map[string]string{"EDUSMARTHUB_WEBHOOK_SECRET": "0123456789abcdef"}, []string{"EDUSMARTHUB_WEBHOOK_SECRET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.environ)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, key := range tc.want {
				if !strings.Contains(err.Error(), key+":") {
					t.Errorf("error does not name %s:\n%v", key, err)
				}
			}
			if strings.Contains(err.Error(), "T0K3N") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
		})
	}
}
