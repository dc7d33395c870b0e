package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/config"
	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
)

// embeddedDatabase is the database the service creates in its own cluster.
const embeddedDatabase = "edusmarthub"

// stopTimeout bounds how long closing the database may take once the
// service is done (a fast shutdown of the embedded cluster takes a second).
const stopTimeout = 30 * time.Second

// database is an open pool and, in embedded mode, the cluster behind it.
type database struct {
	Pool    *pgxpool.Pool
	cluster *pgcluster.Cluster
	logger  *slog.Logger
}

// openDatabase connects to DATABASE_URL, or with none starts (or resumes)
// the embedded cluster under DATA_DIR/postgres and connects to its
// edusmarthub database. Close releases whatever it opened.
func openDatabase(ctx context.Context, cfg config.Config, logger *slog.Logger) (*database, error) {
	db := &database{logger: logger}
	url := cfg.DatabaseURL
	if cfg.Embedded() {
		dir := filepath.Join(cfg.DataDir, "postgres")
		logger.Info("starting embedded PostgreSQL", "dataDir", dir, "port", cfg.EmbeddedPGPort)
		c, err := pgcluster.Start(ctx, pgcluster.Options{
			DataDir: dir,
			Port:    cfg.EmbeddedPGPort,
			BinDir:  cfg.PGBinDir,
			Logger:  logger.With("component", "pgcluster"),
		})
		if err != nil {
			return nil, fmt.Errorf("start embedded PostgreSQL (set DATABASE_URL to use another server): %w", err)
		}
		db.cluster = c
		if err := c.CreateDatabase(ctx, embeddedDatabase); err != nil {
			return nil, errors.Join(fmt.Errorf("create database %s: %w", embeddedDatabase, err), db.Close())
		}
		url = c.ConnString(embeddedDatabase)
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("database: %w", err), db.Close())
	}
	pc.MaxConns = cfg.DBMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("database: %w", err), db.Close())
	}
	db.Pool = pool
	// The pool connects lazily: fail now, with the reason, rather than on
	// the first request.
	if err := pool.Ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("database %s unreachable: %w", pc.ConnConfig.Host, err), db.Close())
	}
	return db, nil
}

// Died is closed if the embedded cluster this process started exits
// under it; it never closes for DATABASE_URL or an adopted cluster.
func (db *database) Died() <-chan struct{} {
	if db.cluster == nil {
		return nil // blocks forever in a select
	}
	return db.cluster.Done()
}

// Close closes the pool, then stops the embedded cluster if there is one.
// It gets a context of its own: it runs after the signal that cancelled
// the service's.
func (db *database) Close() error {
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	db.logger.Info("stopping embedded PostgreSQL")
	if err := db.cluster.Stop(ctx); err != nil {
		return fmt.Errorf("stop embedded PostgreSQL: %w", err)
	}
	return nil
}
