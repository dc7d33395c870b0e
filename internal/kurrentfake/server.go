// Package kurrentfake is an in-process test double of KurrentDB's gRPC
// protocol: the parts that eventstore/kurrentdb uses, built on the service
// definitions the EventStore-Client-Go v4 module publishes (protos/streams,
// protos/serverfeatures). Tests and the benchmark talk to it through the
// real client, over a real TCP connection, so everything on the client
// side of the wire is production code.
//
// It is a test double, never used by the product: cmd/edusmarthub imports
// it only from its tests (a test there checks the binary does not depend
// on it). What it reproduces of KurrentDB, and how each behaviour was
// checked against KurrentDB's documentation and source, is written down
// in behaviour_test.go, next to the tests of each behaviour.
//
// What it does not reproduce: durability (the log lives in memory),
// clusters and gossip, TLS and authentication (ACLs on $all and system
// streams), stream deletion and tombstones, stream metadata ($$ streams,
// $maxAge, truncation), projections and the link events they write,
// persistent subscriptions, BatchAppend, subscriptions to a single stream,
// the 1 MiB default append size limit, and the bounded size of
// KurrentDB's cache of recently committed event IDs (the double never
// forgets one, so its idempotency with "any" never expires).
package kurrentfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
)

// Options configure a Server. The zero value is a server like a fresh
// single-node KurrentDB in insecure mode.
type Options struct {
	// Addr is the address to listen on (default 127.0.0.1:0, a free port).
	Addr string
	// Version is the server version reported by the server features
	// service (default "24.10.0").
	Version string
	// NoSystemEvents leaves the log empty at start. By default the log
	// begins with the system events a fresh KurrentDB writes ($settings,
	// the default users), so that readers meet system events first.
	NoSystemEvents bool
	// StatsInterval, when positive, appends a $statsCollected event to
	// $stats-127.0.0.1:2113 at that interval, as KurrentDB does every 30s
	// by default: system events interleaved with the application's.
	StatsInterval time.Duration
	// LiveBuffer is how many events a live subscription may fall behind
	// the log before the server drops it back to catch-up with a "fell
	// behind" message (default 512).
	LiveBuffer int
	// ReadBatch is how many records a subscription reads per page
	// (default 32, like KurrentDB's catch-up read batch).
	ReadBatch int
}

func (o *Options) setDefaults() {
	if o.Version == "" {
		o.Version = "24.10.0"
	}
	if o.LiveBuffer <= 0 {
		o.LiveBuffer = 512
	}
	if o.ReadBatch <= 0 {
		o.ReadBatch = 32
	}
}

// Server is a running test double.
type Server struct {
	opts Options
	db   *db

	mu     sync.Mutex // guards the fields below
	addr   string
	grpc   *grpc.Server
	served chan struct{} // closed when the current grpc server's Serve returned
	closed bool

	stopStats context.CancelFunc
	statsDone chan struct{}
}

// Start starts a server on a free port of 127.0.0.1.
func Start(opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{opts: opts, db: newDB()}
	if !opts.NoSystemEvents {
		s.db.seedSystemEvents()
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("kurrentfake: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	if opts.StatsInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopStats, s.statsDone = cancel, make(chan struct{})
		go s.writeStats(ctx)
	}
	return s, nil
}

// serve starts a gRPC server on ln. s.mu is held or s is not shared yet.
func (s *Server) serve(ln net.Listener) {
	g := grpc.NewServer()
	streams.RegisterStreamsServer(g, &streamsService{db: s.db, opts: s.opts})
	serverfeatures.RegisterServerFeaturesServer(g, &featuresService{version: s.opts.Version})
	served := make(chan struct{})
	s.grpc, s.served = g, served
	go func() {
		defer close(served)
		_ = g.Serve(ln) // returns when stopped
	}()
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is a connection string for the server, as KURRENTDB_URL takes it.
func (s *Server) URL() string { return "esdb://" + s.Addr() + "?tls=false" }

// Restart drops every connection (subscriptions end with an error on the
// client side, as when a node restarts) and serves again on the same
// address, with the same log.
func (s *Server) Restart() error { return s.RestartAfter(0) }

// RestartAfter is Restart with the server away for d: connections are
// refused meanwhile.
func (s *Server) RestartAfter(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("kurrentfake: restart of a closed server")
	}
	s.grpc.Stop()
	<-s.served
	time.Sleep(d)
	var ln net.Listener
	var err error
	// The port was just released; the kernel may take a moment.
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("kurrentfake: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	g, served := s.grpc, s.served
	s.mu.Unlock()
	if s.stopStats != nil {
		s.stopStats()
		<-s.statsDone
	}
	g.Stop()
	<-served
}

// AppendSystemEvent appends an event as KurrentDB's own subsystems do
// (a $-prefixed stream and type), for tests of filtering.
func (s *Server) AppendSystemEvent(stream, eventType string) {
	s.db.appendSystem(stream, eventType, []byte(`{}`))
}

// Records is the number of events in the log, system events included.
func (s *Server) Records() int { return s.db.records() }

func (s *Server) writeStats(ctx context.Context) {
	defer close(s.statsDone)
	t := time.NewTicker(s.opts.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.db.appendSystem("$stats-127.0.0.1:2113", "$statsCollected",
				fmt.Appendf(nil, `{"proc-startTime":%q,"proc-cpu":0.1}`, now.UTC().Format(time.RFC3339Nano)))
		}
	}
}

// featuresService answers the client's first call on a new connection.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
	version string
}

func (f *featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: f.version,
		Methods: []*serverfeatures.SupportedMethod{
			{MethodName: "read", ServiceName: svc},
			{MethodName: "append", ServiceName: svc},
		},
	}, nil
}
