package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/config"
)

// pingTimeout bounds the check that KurrentDB answers at start.
const pingTimeout = 15 * time.Second

// openEventStore returns the event store EVENTSTORE names: the PostgreSQL
// store on pool, or the KurrentDB store at KURRENTDB_URL, checked to
// answer. closeStore releases what it opened (nothing for PostgreSQL: the
// pool belongs to the caller).
func openEventStore(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, logger *slog.Logger) (store eventstore.Store, closeStore func() error, err error) {
	if cfg.EventStore != config.EventStoreKurrentDB {
		return postgres.New(pool), func() error { return nil }, nil
	}
	s, err := openKurrentDB(ctx, cfg.KurrentDBURL, logger)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("event store: KurrentDB; read models, idempotency keys and checkpoints in PostgreSQL")
	return s, s.Close, nil
}

// openKurrentDB opens the KurrentDB store at url and checks it answers.
func openKurrentDB(ctx context.Context, url string, logger *slog.Logger) (*kurrentdb.Store, error) {
	if url == "" {
		return nil, fmt.Errorf("KURRENTDB_URL is not set")
	}
	s, err := kurrentdb.Open(url, kurrentdb.WithLogger(logger.With("component", "kurrentdb")))
	if err != nil {
		return nil, fmt.Errorf("KURRENTDB_URL: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("KurrentDB (KURRENTDB_URL) unreachable: %w", err)
	}
	return s, nil
}
