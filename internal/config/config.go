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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/auth"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
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
	return ps
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
	case errors.Is(pe.Err, strconv.ErrRange):
		msg = fmt.Sprintf("%q is out of range", environ[key])
	}
	return problem{key, msg}, true
}

func envKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return k
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
