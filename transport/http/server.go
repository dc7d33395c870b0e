// Package httpapi is the HTTP edge of the service (gin): the command API
// under /v1, the audit read of a stream, health, metrics and the OpenAPI
// document. It owns the cross-cutting parts every route shares: request
// and correlation IDs, access logs, panic recovery, body limits, metrics,
// bearer-token authentication, school scoping, role checks, strict JSON
// binding, If-Match, Idempotency-Key and the mapping of every error to an
// RFC 9457 problem, in one place (problem.go).
//
// Adding a command route is one line in a routes_<resource>.go file plus
// its handler (see Server.command), and its entry in openapi.json.
package httpapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	"github.com/edusmarthub/edusmarthub/projections"
)

func init() {
	// gin's debug mode prints every route to stdout, outside our logs.
	// cmd/ may switch it back with gin.SetMode after importing us.
	gin.SetMode(gin.ReleaseMode)
}

// DefaultBodyLimit caps request bodies unless configured otherwise.
const DefaultBodyLimit = 1 << 20

// DefaultIdempotencyLockTimeout is how long a request in progress holds
// its Idempotency-Key before a retry may take it over.
const DefaultIdempotencyLockTimeout = time.Minute

// Config is the HTTP layer's configuration. cmd/ fills it once.
type Config struct {
	// JWTSecret verifies bearer tokens (HS256); at least
	// auth.MinSecretLen bytes. Required.
	JWTSecret []byte
	// BodyLimit caps request bodies in bytes (default 1 MiB); over it: 413.
	BodyLimit int64
	// Logger receives access logs and errors (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now): token expiry, timings.
	Now func() time.Time
	// Registerer takes the HTTP metrics and Gatherer serves /metrics.
	// Default: a new registry with the Go and process collectors, used
	// for both. If only Registerer is set it must also be a Gatherer
	// (a *prometheus.Registry is).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the client IP in logs (default none: the peer address).
	TrustedProxies []string
	// IdempotencyLockTimeout: see DefaultIdempotencyLockTimeout.
	IdempotencyLockTimeout time.Duration
	// AsyncAPI is the AsyncAPI document of the Kafka topics
	// (transport/kafka.AsyncAPI), served at /asyncapi.json; without one
	// that route answers 404.
	AsyncAPI []byte
	// ReadYourWritesTimeout bounds the wait of a query given
	// ?after=STREAM:VERSION (default DefaultReadYourWritesTimeout); past
	// it the answer is 503 with Retry-After.
	ReadYourWritesTimeout time.Duration
	// LiveFeedHeartbeat is the interval of the live feed's comment lines
	// (default DefaultLiveFeedHeartbeat).
	LiveFeedHeartbeat time.Duration
	// LiveFeedMaxStreams caps the live-feed connections open at once
	// (default DefaultLiveFeedMaxStreams); one more gets 503.
	LiveFeedMaxStreams int
}

func (c *Config) setDefaults() {
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Registerer == nil && c.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		c.Registerer, c.Gatherer = reg, reg
	}
	if c.Gatherer == nil {
		c.Gatherer, _ = c.Registerer.(prometheus.Gatherer)
	}
	if c.IdempotencyLockTimeout == 0 {
		c.IdempotencyLockTimeout = DefaultIdempotencyLockTimeout
	}
	if c.ReadYourWritesTimeout == 0 {
		c.ReadYourWritesTimeout = DefaultReadYourWritesTimeout
	}
	if c.LiveFeedHeartbeat == 0 {
		c.LiveFeedHeartbeat = DefaultLiveFeedHeartbeat
	}
	if c.LiveFeedMaxStreams == 0 {
		c.LiveFeedMaxStreams = DefaultLiveFeedMaxStreams
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.JWTSecret) < auth.MinSecretLen {
		errs = append(errs, fmt.Errorf("JWT secret is %d bytes, need at least %d", len(c.JWTSecret), auth.MinSecretLen))
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, fmt.Errorf("body limit must be positive, got %d", c.BodyLimit))
	}
	if c.IdempotencyLockTimeout < 0 {
		errs = append(errs, fmt.Errorf("idempotency lock timeout must be positive, got %s", c.IdempotencyLockTimeout))
	}
	if c.ReadYourWritesTimeout < 0 {
		errs = append(errs, fmt.Errorf("read-your-writes timeout must be positive, got %s", c.ReadYourWritesTimeout))
	}
	if c.LiveFeedHeartbeat < 0 {
		errs = append(errs, fmt.Errorf("live feed heartbeat must be positive, got %s", c.LiveFeedHeartbeat))
	}
	if c.LiveFeedMaxStreams < 0 {
		errs = append(errs, fmt.Errorf("live feed stream limit must be positive, got %d", c.LiveFeedMaxStreams))
	}
	if c.Registerer == nil {
		errs = append(errs, errors.New("no metrics Registerer"))
	}
	if c.Gatherer == nil {
		errs = append(errs, errors.New("no metrics Gatherer: the Registerer does not gather, set Gatherer"))
	}
	return errors.Join(errs...)
}

// Deps are the services the HTTP layer drives.
type Deps struct {
	// Store is read by the audit route.
	Store eventstore.Store
	// Pool is the PostgreSQL pool: readiness and idempotency keys.
	Pool *pgxpool.Pool
	// Commands is the command side's repository, over Store.
	Commands *commands.Repository
	// Projections waits for the read models to apply a write, for queries
	// given ?after=STREAM:VERSION. Without it such a query fails (500).
	Projections AppliedWaiter
	// DeadLetters counts the messages waiting on the dead-letter topic,
	// for GET /v1/system/monitoring (optional: the count is then absent).
	DeadLetters func(ctx context.Context) (int, error)
	// ConsumerLag returns the read models' Kafka consumer lag by
	// projection name, for GET /v1/system/monitoring (optional: each lag
	// is then the head minus the read model's position, an upper bound).
	ConsumerLag func(ctx context.Context) (map[string]int64, error)
	// Backlog counts the store's events after a position in log order,
	// the log readers' lag in GET /v1/system/monitoring (optional: the
	// head minus their position instead).
	Backlog func(ctx context.Context, after eventstore.Position) (uint64, error)

	// ---- Command handlers: wire them here. ----
	// The command routes (routes_*.go) build their handlers from Commands:
	// every handler in commands/ needs only the repository. When one grows
	// dependencies of its own, add them as fields below and check them in
	// validate.
}

func (d Deps) validate() error {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("no event store"))
	}
	if d.Pool == nil {
		errs = append(errs, errors.New("no database pool"))
	}
	if d.Commands == nil {
		errs = append(errs, errors.New("no command repository"))
	}
	return errors.Join(errs...)
}

// Server is the HTTP API.
type Server struct {
	cfg        Config
	deps       Deps
	engine     *gin.Engine
	metrics    *metrics
	idem       *idemStore
	routeErrs  []error
	v1         *gin.RouterGroup
	school     *gin.RouterGroup
	readModels []projections.Projection
	feed       *feedHub      // the live feed's shared subscription
	streams    chan struct{} // a token per open live-feed stream
}

// NewServer builds the API from its configuration and dependencies. It
// registers its metrics on cfg.Registerer, so it is called once per
// registry.
func NewServer(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := errors.Join(cfg.Validate(), deps.validate()); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		deps:       deps,
		metrics:    m,
		idem:       &idemStore{pool: deps.Pool, lockTimeout: cfg.IdempotencyLockTimeout},
		readModels: projections.All(),
		feed:       newFeedHub(deps.Store, cfg.Logger, liveRing, liveQueue),
		streams:    make(chan struct{}, cfg.LiveFeedMaxStreams),
	}
	if err := s.registerLiveMetrics(); err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}

	e := gin.New()
	e.ContextWithFallback = true    // c is a context.Context carrying the request's
	e.HandleMethodNotAllowed = true // 405 with Allow, not 404
	e.RedirectTrailingSlash = false // an API answers, it does not redirect
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	e.Use(s.requestIDs, s.observe, s.accessLog, recovery, s.bodyLimit)
	e.NoRoute(s.noRoute)
	e.NoMethod(s.noMethod)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", serveOpenAPI)
	e.GET("/asyncapi.json", s.serveAsyncAPI)

	s.v1 = e.Group("/v1", s.authenticate, s.readOnlyGuard()) // readonly.go: maintenance windows
	s.school = s.v1.Group("/schools/:schoolId", s.scopeSchool)
	s.engine = e
	s.routes(s.v1, s.school)
	if err := errors.Join(s.routeErrs...); err != nil {
		return nil, fmt.Errorf("httpapi: routes: %w", err)
	}
	return s, nil
}

// routes registers the API's routes. v1 is /v1 (authenticated); school is
// /v1/schools/:schoolId (authenticated and scoped to the school). Each
// routes_<resource>.go file adds one call here, and its paths to
// openapi.json (TestOpenAPICoversEveryRoute fails otherwise).
func (s *Server) routes(v1, school *gin.RouterGroup) {
	s.auditRoutes(school)
	s.schoolRoutes(v1) // POST /v1/schools
	s.teacherRoutes(school)
	s.classRoutes(school)
	s.studentRoutes(school)
	s.performanceRoutes(school)
	s.attendanceRoutes(school)
	s.timetableRoutes(school)
	s.examRoutes(school)
	s.meetingRoutes(school)
	s.interventionRoutes(school)
	s.messageRoutes(school)
	s.maintenanceRoutes(v1)
	s.liveRoutes(school) // GET /events/stream

	// Queries (GET), from the read models.
	s.peopleQueries(v1, school)
	s.academicQueries(school)
	s.schoolLifeQueries(school)
	s.inboxQueries(school)
	s.dashboardQueries(v1, school)
	s.workflowQueries(v1, school) // the sagas' status
}

// Handler is the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// DeleteExpiredIdempotencyKeys deletes idempotency keys older than
// IdempotencyRetention and returns how many. Run it periodically.
func (s *Server) DeleteExpiredIdempotencyKeys(ctx context.Context) (int64, error) {
	return s.idem.deleteExpired(ctx, s.cfg.Now())
}

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the API's OpenAPI 3 document (JSON).
func OpenAPI() []byte { return openapiDoc }

func serveOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openapiDoc)
}

func (s *Server) serveAsyncAPI(c *gin.Context) {
	if len(s.cfg.AsyncAPI) == 0 {
		s.noRoute(c)
		return
	}
	c.Data(http.StatusOK, "application/json", s.cfg.AsyncAPI)
}
