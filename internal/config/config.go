// Package config is the service's configuration: every setting, its
// environment variable and its default, parsed and validated in one place.
// Only cmd/ builds a Config (from the process environment, read once);
// every other package gets the values it needs passed in.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/internal/auth"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Event stores.
const (
	EventStorePostgres  = "postgres"
	EventStoreKurrentDB = "kurrentdb"
)

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

// Prefix is the prefix of the service's own variables (DATABASE_URL is the
// one conventional exception).
const Prefix = "EDUSMARTHUB_"

// Config is the whole configuration. The env tags are the public contract
// (README's configuration table); keep them and the README in step.
type Config struct {
	// DatabaseURL points at an existing PostgreSQL database. Empty starts
	// an embedded cluster under DataDir/postgres.
	DatabaseURL string `env:"DATABASE_URL"`
	// DataDir keeps the embedded cluster and the development JWT secret.
	DataDir  string `env:"EDUSMARTHUB_DATA_DIR" envDefault:"./.data"`
	HTTPAddr string `env:"EDUSMARTHUB_HTTP_ADDR" envDefault:":8080"`
	// JWTSecret signs and verifies bearer tokens (HS256). Empty in
	// development means a random secret kept in DataDir/jwt-secret.
	JWTSecret string `env:"EDUSMARTHUB_JWT_SECRET"`
	Env       string `env:"EDUSMARTHUB_ENV" envDefault:"development"`
	// LogFormat is json or text; empty picks text in development and json
	// in production.
	LogFormat       string        `env:"EDUSMARTHUB_LOG_FORMAT"`
	LogLevel        string        `env:"EDUSMARTHUB_LOG_LEVEL" envDefault:"info"`
	HTTPBodyLimit   int64         `env:"EDUSMARTHUB_HTTP_BODY_LIMIT" envDefault:"1048576"`
	EmbeddedPGPort  int           `env:"EDUSMARTHUB_EMBEDDED_PG_PORT" envDefault:"55432"`
	ShutdownTimeout time.Duration `env:"EDUSMARTHUB_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	PGBinDir        string        `env:"EDUSMARTHUB_PG_BIN_DIR" envDefault:"/usr/lib/postgresql/15/bin"`
	DBMaxConns      int32         `env:"EDUSMARTHUB_DB_MAX_CONNS" envDefault:"20"`
	// ReadYourWritesTimeout bounds how long a query with ?after= waits for
	// the read models to catch up before answering 503 with Retry-After.
	ReadYourWritesTimeout time.Duration `env:"EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT" envDefault:"3s"`
	// LiveFeedMaxStreams caps the live-feed (SSE) connections served at
	// once; one more gets 503 with Retry-After.
	LiveFeedMaxStreams int `env:"EDUSMARTHUB_LIVE_FEED_MAX_STREAMS" envDefault:"1000"`
	// EventStore is the event store: postgres (in DATABASE_URL's
	// database) or kurrentdb (at KurrentDBURL). Read models, idempotency
	// keys and checkpoints stay in PostgreSQL either way.
	EventStore string `env:"EVENTSTORE" envDefault:"postgres"`
	// KurrentDBURL is the KurrentDB connection string (esdb://,
	// kurrentdb:// or kdb://), required with EventStore kurrentdb and used
	// by `edusmarthub eventstore copy`.
	KurrentDBURL string `env:"KURRENTDB_URL"`

	// Kafka (transport/kafka). KafkaBrokers is a comma-separated list of
	// host:port; empty starts an embedded in-memory broker on
	// KafkaEmbeddedAddr (development only).
	KafkaBrokers      string `env:"EDUSMARTHUB_KAFKA_BROKERS"`
	KafkaEmbeddedAddr string `env:"EDUSMARTHUB_KAFKA_EMBEDDED_ADDR" envDefault:"127.0.0.1:9092"`
	KafkaVersion      string `env:"EDUSMARTHUB_KAFKA_VERSION" envDefault:"3.6.0"`
	KafkaClientID     string `env:"EDUSMARTHUB_KAFKA_CLIENT_ID" envDefault:"edusmarthub"`
	KafkaTopicPrefix  string `env:"EDUSMARTHUB_KAFKA_TOPIC_PREFIX" envDefault:"edusmarthub"`
	KafkaPartitions   int32  `env:"EDUSMARTHUB_KAFKA_PARTITIONS" envDefault:"12"`
	// KafkaReplicationFactor of the topics created at start; 0 leaves it
	// to the brokers' default.replication.factor (1 on the embedded one).
	KafkaReplicationFactor int16  `env:"EDUSMARTHUB_KAFKA_REPLICATION_FACTOR" envDefault:"0"`
	KafkaTLS               bool   `env:"EDUSMARTHUB_KAFKA_TLS" envDefault:"false"`
	KafkaTLSCAFile         string `env:"EDUSMARTHUB_KAFKA_TLS_CA_FILE"`
	KafkaTLSCertFile       string `env:"EDUSMARTHUB_KAFKA_TLS_CERT_FILE"`
	KafkaTLSKeyFile        string `env:"EDUSMARTHUB_KAFKA_TLS_KEY_FILE"`
	KafkaSASLMechanism     string `env:"EDUSMARTHUB_KAFKA_SASL_MECHANISM"`
	KafkaSASLUsername      string `env:"EDUSMARTHUB_KAFKA_SASL_USERNAME"`
	KafkaSASLPassword      string `env:"EDUSMARTHUB_KAFKA_SASL_PASSWORD"`

	// Workflows (sagas). Workflows is on (serve runs them: their Kafka
	// consumers, deadlines and deliveries) or off (an API replica: it
	// serves commands, queries and the read models, and other processes
	// with on run the workflows). InterventionFollowUp is how long an open
	// intervention may go without a follow-up before it is escalated;
	// LessonsPerWeek how many lessons a week each subject of a class needs
	// (the onboarding scheduler fills up to it); SagaTick how often due
	// deadlines are looked for.
	Workflows            string        `env:"EDUSMARTHUB_WORKFLOWS" envDefault:"on"`
	InterventionFollowUp time.Duration `env:"EDUSMARTHUB_INTERVENTION_FOLLOW_UP" envDefault:"336h"`
	LessonsPerWeek       int           `env:"EDUSMARTHUB_LESSONS_PER_WEEK" envDefault:"4"`
	SagaTick             time.Duration `env:"EDUSMARTHUB_SAGA_TICK" envDefault:"1s"`

	// Notification deliveries (package notify) of in-app messages: by
	// e-mail when SMTPHost is set, to a webhook when WebhookURL is.
	SMTPHost string `env:"EDUSMARTHUB_SMTP_HOST"`
	// SMTPPort 0 picks the port of SMTPTLS: 587 (starttls), 465 (tls), 25
	// (none).
	SMTPPort      int    `env:"EDUSMARTHUB_SMTP_PORT"`
	SMTPUsername  string `env:"EDUSMARTHUB_SMTP_USERNAME"`
	SMTPPassword  string `env:"EDUSMARTHUB_SMTP_PASSWORD"`
	SMTPFrom      string `env:"EDUSMARTHUB_SMTP_FROM"`
	SMTPTLS       string `env:"EDUSMARTHUB_SMTP_TLS" envDefault:"starttls"`
	WebhookURL    string `env:"EDUSMARTHUB_WEBHOOK_URL"`
	WebhookSecret string `env:"EDUSMARTHUB_WEBHOOK_SECRET"`
	// AdminEmails are the administrators' e-mail addresses, which no read
	// model holds: "key=address" entries separated by ";" (key
	// "<schoolId>", "<schoolId>/<adminId>", "<schoolId>/office" or "*";
	// internal/directory.ParseAdminAddresses checks them when serve
	// starts).
	AdminEmails string `env:"EDUSMARTHUB_ADMIN_EMAILS"`
}

// Values of EDUSMARTHUB_WORKFLOWS.
const (
	WorkflowsOn  = "on"
	WorkflowsOff = "off"
)

// SMTP TLS modes.
const (
	SMTPTLSNone     = "none"
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "tls"
)

// RunWorkflows reports whether serve runs the workflows (sagas) in its
// process: EDUSMARTHUB_WORKFLOWS is on.
func (c Config) RunWorkflows() bool { return c.Workflows != WorkflowsOff }

// KafkaEmbedded reports whether serve runs its own in-memory broker
// (EDUSMARTHUB_KAFKA_BROKERS is empty).
func (c Config) KafkaEmbedded() bool { return len(c.KafkaBrokerList()) == 0 }

// KafkaBrokerList is EDUSMARTHUB_KAFKA_BROKERS split at commas, trimmed.
func (c Config) KafkaBrokerList() []string {
	var out []string
	for b := range strings.SplitSeq(c.KafkaBrokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Load builds the configuration from environment variables (as from
// env.ToMap(os.Environ())), applies defaults and validates it. The error
// names every bad variable at once.
func Load(environ map[string]string) (Config, error) {
	var c Config
	var problems []problem
	failed := map[string]bool{}
	err := env.ParseWithOptions(&c, env.Options{Environment: environ})
	if agg, ok := errors.AsType[env.AggregateError](err); ok {
		for _, e := range agg.Errors {
			p, ok := explainParseError(e, environ)
			if !ok {
				return Config{}, err // a bug in the struct's tags, not bad input
			}
			failed[p.key] = true
			problems = append(problems, p)
		}
	} else if err != nil {
		return Config{}, err
	}
	c.defaults()
	for _, p := range c.problems() {
		if !failed[p.key] {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return c, nil
	}
	// Report in the order of the README's table, whatever failed where.
	order := Variables()
	slices.SortStableFunc(problems, func(a, b problem) int {
		return slices.Index(order, a.key) - slices.Index(order, b.key)
	})
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return Config{}, fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
}

// Validate reports every problem of c at once, nil if there is none.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// Embedded reports whether the service runs its own PostgreSQL cluster.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Production reports whether EDUSMARTHUB_ENV is production.
func (c Config) Production() bool { return c.Env == Production }

// SlogLevel is LogLevel parsed; Load has validated it.
func (c Config) SlogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// LogValue keeps secrets out of logs: the JWT secret is never printed and
// the database URL loses its password.
func (c Config) LogValue() slog.Value {
	secret := "dev file"
	if c.JWTSecret != "" {
		secret = "set"
	}
	db := "embedded"
	if c.DatabaseURL != "" {
		db = redactURL(c.DatabaseURL)
	}
	kafkaBrokers := c.KafkaBrokers
	if c.KafkaEmbedded() {
		kafkaBrokers = "embedded on " + c.KafkaEmbeddedAddr
	}
	kafkaPassword := ""
	if c.KafkaSASLPassword != "" {
		kafkaPassword = "set"
	}
	smtp := "off"
	if c.SMTPHost != "" {
		smtp = fmt.Sprintf("%s port %d (%s) from %q", c.SMTPHost, c.SMTPPort, c.SMTPTLS, c.SMTPFrom)
		if c.SMTPUsername != "" {
			smtp += " as " + c.SMTPUsername // the password never
		}
	}
	webhook := "off"
	if c.WebhookURL != "" {
		// Webhook URLs often carry a token in the path: the host only.
		webhook = "(set)"
		if u, err := url.Parse(c.WebhookURL); err == nil && u.Host != "" {
			webhook = u.Scheme + "://" + u.Host + "/…"
		}
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("database", db),
		slog.String("dataDir", c.DataDir),
		slog.String("httpAddr", c.HTTPAddr),
		slog.String("jwtSecret", secret),
		slog.String("logFormat", c.LogFormat),
		slog.String("logLevel", c.LogLevel),
		slog.Int64("httpBodyLimit", c.HTTPBodyLimit),
		slog.Int("embeddedPgPort", c.EmbeddedPGPort),
		slog.String("shutdownTimeout", c.ShutdownTimeout.String()),
		slog.String("pgBinDir", c.PGBinDir),
		slog.Int("dbMaxConns", int(c.DBMaxConns)),
		slog.String("readYourWritesTimeout", c.ReadYourWritesTimeout.String()),
		slog.Int("liveFeedMaxStreams", c.LiveFeedMaxStreams),
		slog.String("eventStore", c.EventStore),
		slog.String("kurrentdb", redactOptionalURL(c.KurrentDBURL)),
		slog.String("kafkaBrokers", kafkaBrokers),
		slog.String("kafkaVersion", c.KafkaVersion),
		slog.String("kafkaClientId", c.KafkaClientID),
		slog.String("kafkaTopicPrefix", c.KafkaTopicPrefix),
		slog.Int("kafkaPartitions", int(c.KafkaPartitions)),
		slog.Int("kafkaReplicationFactor", int(c.KafkaReplicationFactor)),
		slog.Bool("kafkaTls", c.KafkaTLS),
		slog.String("kafkaSaslMechanism", c.KafkaSASLMechanism),
		slog.String("kafkaSaslPassword", kafkaPassword),
		slog.String("workflows", c.Workflows),
		slog.String("interventionFollowUp", c.InterventionFollowUp.String()),
		slog.Int("lessonsPerWeek", c.LessonsPerWeek),
		slog.String("sagaTick", c.SagaTick.String()),
		slog.String("smtp", smtp),
		slog.String("webhook", webhook),
		slog.Bool("adminEmails", c.AdminEmails != ""),
	)
}

// UnknownVariables lists the EDUSMARTHUB_ variables in environ that no
// setting reads: most likely typos, worth a warning.
func UnknownVariables(environ map[string]string) []string {
	known := map[string]bool{}
	for _, k := range Variables() {
		known[k] = true
	}
	var out []string
	for k := range environ {
		// EDUSMARTHUB_TEST_* belong to the test harness, not the service.
		if strings.HasPrefix(k, Prefix) && !strings.HasPrefix(k, Prefix+"TEST_") && !known[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Variables lists every variable Config reads, in declaration order.
func Variables() []string {
	t := reflect.TypeFor[Config]()
	out := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		if k := envKey(f); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// problem is one bad setting; key is its variable.
type problem struct {
	key, msg string
}

func (p problem) Error() string { return p.key + ": " + p.msg }

// defaults fills the settings whose default depends on another one.
func (c *Config) defaults() {
	if c.LogFormat == "" {
		c.LogFormat = LogText
		if c.Env == Production {
			c.LogFormat = LogJSON
		}
	}
}

func (c Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}
	if c.DatabaseURL != "" {
		// pgx redacts the password in its parse errors.
		if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
			add("DATABASE_URL", "not a valid PostgreSQL connection string: %v", err)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("EDUSMARTHUB_DATA_DIR", "must not be empty")
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		add("EDUSMARTHUB_HTTP_ADDR", "%q is not a listen address like :8080 or 127.0.0.1:8080: %v", c.HTTPAddr, err)
	}
	switch c.Env {
	case Development, Production:
	default:
		add("EDUSMARTHUB_ENV", "%q is not one of development, production", c.Env)
	}
	switch {
	case c.JWTSecret == "" && c.Env == Production:
		add("EDUSMARTHUB_JWT_SECRET", "is required in production (at least %d bytes, e.g. `openssl rand -base64 48`)", auth.MinSecretLen)
	case c.JWTSecret != "" && len(c.JWTSecret) < auth.MinSecretLen:
		add("EDUSMARTHUB_JWT_SECRET", "is %d bytes; HS256 needs at least %d", len(c.JWTSecret), auth.MinSecretLen)
	}
	switch c.LogFormat {
	case LogText, LogJSON, "":
	default:
		add("EDUSMARTHUB_LOG_FORMAT", "%q is not one of json, text", c.LogFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("EDUSMARTHUB_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.HTTPBodyLimit <= 0 {
		add("EDUSMARTHUB_HTTP_BODY_LIMIT", "must be a positive number of bytes, got %d", c.HTTPBodyLimit)
	}
	if c.Embedded() {
		if c.EmbeddedPGPort < 1 || c.EmbeddedPGPort > 65535 {
			add("EDUSMARTHUB_EMBEDDED_PG_PORT", "must be a TCP port (1-65535), got %d", c.EmbeddedPGPort)
		}
		if strings.TrimSpace(c.PGBinDir) == "" {
			add("EDUSMARTHUB_PG_BIN_DIR", "must name the PostgreSQL binaries' folder when DATABASE_URL is empty")
		}
	}
	if c.ShutdownTimeout <= 0 {
		add("EDUSMARTHUB_SHUTDOWN_TIMEOUT", "must be a positive duration like 15s, got %s", c.ShutdownTimeout)
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 10000 {
		add("EDUSMARTHUB_DB_MAX_CONNS", "must be between 1 and 10000, got %d", c.DBMaxConns)
	}
	// A reader waits this long holding a request: past a minute it is a
	// hung client, not read-your-writes.
	if c.ReadYourWritesTimeout <= 0 || c.ReadYourWritesTimeout > time.Minute {
		add("EDUSMARTHUB_READ_YOUR_WRITES_TIMEOUT", "must be a duration from 1ms to 1m like 3s, got %s", c.ReadYourWritesTimeout)
	}
	if c.LiveFeedMaxStreams < 1 || c.LiveFeedMaxStreams > 100000 {
		add("EDUSMARTHUB_LIVE_FEED_MAX_STREAMS", "must be between 1 and 100000, got %d", c.LiveFeedMaxStreams)
	}
	switch c.EventStore {
	case EventStorePostgres, EventStoreKurrentDB:
	default:
		add("EVENTSTORE", "%q is not one of postgres, kurrentdb", c.EventStore)
	}
	switch {
	case c.KurrentDBURL == "" && c.EventStore == EventStoreKurrentDB:
		add("KURRENTDB_URL", "is required with EVENTSTORE=kurrentdb (e.g. kurrentdb://localhost:2113?tls=false)")
	case c.KurrentDBURL != "":
		// The adapter's parser redacts the password in its errors.
		if _, err := kurrentdb.ParseURL(c.KurrentDBURL); err != nil {
			add("KURRENTDB_URL", "%v", err)
		}
	}
	ps = append(ps, c.kafkaProblems()...)
	ps = append(ps, c.workflowProblems()...)
	return ps
}

// workflowProblems checks the workflows' and the deliveries' settings.
func (c Config) workflowProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}
	switch c.Workflows {
	case WorkflowsOn, WorkflowsOff:
	default:
		add("EDUSMARTHUB_WORKFLOWS", "%q is not one of on, off", c.Workflows)
	}
	if c.InterventionFollowUp < time.Minute || c.InterventionFollowUp > 365*24*time.Hour {
		add("EDUSMARTHUB_INTERVENTION_FOLLOW_UP", "must be a duration from 1m to 8760h like 336h (14 days), got %s", c.InterventionFollowUp)
	}
	// A week has at most 7 days of a few periods: more cannot be scheduled.
	if c.LessonsPerWeek < 1 || c.LessonsPerWeek > 50 {
		add("EDUSMARTHUB_LESSONS_PER_WEEK", "must be between 1 and 50, got %d", c.LessonsPerWeek)
	}
	if c.SagaTick < 10*time.Millisecond || c.SagaTick > time.Hour {
		add("EDUSMARTHUB_SAGA_TICK", "must be a duration from 10ms to 1h like 1s, got %s", c.SagaTick)
	}
	switch c.SMTPTLS {
	case SMTPTLSNone, SMTPTLSStartTLS, SMTPTLSImplicit:
	default:
		add("EDUSMARTHUB_SMTP_TLS", "%q is not one of starttls, tls, none", c.SMTPTLS)
	}
	if c.SMTPHost == "" {
		for _, f := range []struct{ key, v string }{
			{"EDUSMARTHUB_SMTP_USERNAME", c.SMTPUsername},
			{"EDUSMARTHUB_SMTP_PASSWORD", c.SMTPPassword},
			{"EDUSMARTHUB_SMTP_FROM", c.SMTPFrom},
		} {
			if f.v != "" {
				add(f.key, "is set but EDUSMARTHUB_SMTP_HOST is empty (no e-mail is sent)")
			}
		}
	} else {
		if strings.ContainsAny(c.SMTPHost, ":/ ") {
			add("EDUSMARTHUB_SMTP_HOST", "%q is not a host name (give the port in EDUSMARTHUB_SMTP_PORT)", c.SMTPHost)
		}
		if strings.TrimSpace(c.SMTPFrom) == "" {
			add("EDUSMARTHUB_SMTP_FROM", "is required with EDUSMARTHUB_SMTP_HOST (the sender, e.g. EduSmartHub <noreply@school.example>)")
		}
		if c.SMTPPassword != "" && c.SMTPUsername == "" {
			add("EDUSMARTHUB_SMTP_USERNAME", "is required with EDUSMARTHUB_SMTP_PASSWORD")
		}
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		add("EDUSMARTHUB_SMTP_PORT", "must be a TCP port (1-65535), or 0 for the TLS mode's, got %d", c.SMTPPort)
	}
	if c.WebhookURL == "" {
		if c.WebhookSecret != "" {
			add("EDUSMARTHUB_WEBHOOK_SECRET", "is set but EDUSMARTHUB_WEBHOOK_URL is empty (no webhook is called)")
		}
	} else {
		// The URL itself is not echoed: it may carry a token.
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("EDUSMARTHUB_WEBHOOK_URL", "is not an absolute http or https URL")
		}
		if len(c.WebhookSecret) < 16 {
			add("EDUSMARTHUB_WEBHOOK_SECRET", "is required with EDUSMARTHUB_WEBHOOK_URL, at least 16 bytes (e.g. whsec_ and `openssl rand -base64 32`), got %d", len(c.WebhookSecret))
		}
	}
	return ps
}

var kafkaVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// kafkaProblems checks the Kafka settings; transport/kafka checks them
// again, with the client library's rules, when serve starts.
func (c Config) kafkaProblems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}
	for _, b := range c.KafkaBrokerList() {
		if host, _, err := net.SplitHostPort(b); err != nil || host == "" || checkAddr(b) != nil {
			add("EDUSMARTHUB_KAFKA_BROKERS", "%q is not a host:port broker address (comma-separated list)", b)
		}
	}
	if c.KafkaEmbedded() {
		if err := checkAddr(c.KafkaEmbeddedAddr); err != nil {
			add("EDUSMARTHUB_KAFKA_EMBEDDED_ADDR", "%q is not a listen address like 127.0.0.1:9092: %v", c.KafkaEmbeddedAddr, err)
		}
	}
	if !kafkaVersion.MatchString(c.KafkaVersion) {
		add("EDUSMARTHUB_KAFKA_VERSION", "%q is not a Kafka version like 3.6.0", c.KafkaVersion)
	}
	if strings.TrimSpace(c.KafkaClientID) == "" {
		add("EDUSMARTHUB_KAFKA_CLIENT_ID", "must not be empty")
	}
	if !validTopicPrefix(c.KafkaTopicPrefix) {
		add("EDUSMARTHUB_KAFKA_TOPIC_PREFIX", "%q: use letters, digits, '.', '_' or '-' (at most 200)", c.KafkaTopicPrefix)
	}
	if c.KafkaPartitions < 1 || c.KafkaPartitions > 10000 {
		add("EDUSMARTHUB_KAFKA_PARTITIONS", "must be between 1 and 10000, got %d", c.KafkaPartitions)
	}
	if c.KafkaReplicationFactor < 0 {
		add("EDUSMARTHUB_KAFKA_REPLICATION_FACTOR", "must be 0 (the brokers' default) or more, got %d", c.KafkaReplicationFactor)
	}
	if !c.KafkaTLS {
		for _, f := range []struct{ key, v string }{
			{"EDUSMARTHUB_KAFKA_TLS_CA_FILE", c.KafkaTLSCAFile},
			{"EDUSMARTHUB_KAFKA_TLS_CERT_FILE", c.KafkaTLSCertFile},
			{"EDUSMARTHUB_KAFKA_TLS_KEY_FILE", c.KafkaTLSKeyFile},
		} {
			if f.v != "" {
				add(f.key, "is set but EDUSMARTHUB_KAFKA_TLS is false")
			}
		}
	}
	if (c.KafkaTLSCertFile == "") != (c.KafkaTLSKeyFile == "") {
		add("EDUSMARTHUB_KAFKA_TLS_CERT_FILE", "a client certificate needs both EDUSMARTHUB_KAFKA_TLS_CERT_FILE and EDUSMARTHUB_KAFKA_TLS_KEY_FILE")
	}
	switch c.KafkaSASLMechanism {
	case "":
		if c.KafkaSASLUsername != "" || c.KafkaSASLPassword != "" {
			add("EDUSMARTHUB_KAFKA_SASL_MECHANISM", "is empty but a SASL username or password is set")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.KafkaSASLUsername == "" {
			add("EDUSMARTHUB_KAFKA_SASL_USERNAME", "is required with SASL %s", c.KafkaSASLMechanism)
		}
		if c.KafkaSASLPassword == "" {
			add("EDUSMARTHUB_KAFKA_SASL_PASSWORD", "is required with SASL %s", c.KafkaSASLMechanism)
		}
	default:
		add("EDUSMARTHUB_KAFKA_SASL_MECHANISM", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.KafkaSASLMechanism)
	}
	return ps
}

func validTopicPrefix(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// explainParseError turns env's error, which names the Go field, into one
// that names the variable and says what was expected.
func explainParseError(err error, environ map[string]string) (problem, bool) {
	pe, ok := errors.AsType[env.ParseError](err)
	if !ok {
		return problem{}, false
	}
	f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name)
	if !ok {
		return problem{}, false
	}
	key := envKey(f)
	msg := fmt.Sprintf("%q is not a whole number", environ[key])
	switch {
	case pe.Type == reflect.TypeFor[time.Duration]():
		msg = fmt.Sprintf("%q is not a duration like 15s or 1m30s", environ[key])
	case pe.Type == reflect.TypeFor[bool]():
		msg = fmt.Sprintf("%q is not true or false", environ[key])
	case errors.Is(pe.Err, strconv.ErrRange):
		msg = fmt.Sprintf("%q is out of range", environ[key])
	}
	return problem{key, msg}, true
}

func envKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return k
}

func redactOptionalURL(s string) string {
	if s == "" {
		return "unset"
	}
	return redactURL(s)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(set)" // a keyword/value string may hold a password anywhere
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
