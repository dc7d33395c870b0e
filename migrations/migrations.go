// Package migrations holds the versioned SQL of the service's PostgreSQL
// schema (event store, read models, checkpoints, saga state), embedded in
// the binary and applied with goose.
//
// Files are sql/NNNNN_name.sql in goose's format (-- +goose Up / Down).
// Versions are append-only: never edit a migration that has shipped, add
// the next one.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var embedded embed.FS

// FS is the migration files, at the root of the returned file system.
func FS() fs.FS {
	sub, err := fs.Sub(embedded, "sql")
	if err != nil {
		panic(err) // "sql" is a valid path: cannot happen
	}
	return sub
}

// Option configures Apply and Status.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger logs each migration applied.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Apply brings the database up to the latest migration. It takes a
// PostgreSQL advisory lock first, so replicas starting together apply
// each migration once. WithLogger logs each migration it applies.
func Apply(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	p, closeDB, err := provider(pool, opts...)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return errors.Join(fmt.Errorf("migrations: apply: %w", err), closeDB())
	}
	return closeDB()
}

// State is one migration's status.
type State struct {
	Version   int64
	Path      string
	Applied   bool
	AppliedAt time.Time // zero when pending
}

// Status lists every known migration and whether it is applied.
func Status(ctx context.Context, pool *pgxpool.Pool, opts ...Option) ([]State, error) {
	p, closeDB, err := provider(pool, opts...)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migrations: status: %w", err), closeDB())
	}
	out := make([]State, 0, len(st))
	for _, s := range st {
		out = append(out, State{
			Version:   s.Source.Version,
			Path:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, closeDB()
}

func provider(pool *pgxpool.Pool, opts ...Option) (*goose.Provider, func() error, error) {
	if pool == nil {
		return nil, nil, errors.New("migrations: no database pool")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	gopts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true), // only our embedded SQL, no init()-registered Go migrations
	}
	if o.logger != nil {
		gopts = append(gopts, goose.WithVerbose(true), goose.WithSlog(o.logger))
	}
	// Closing this *sql.DB does not close the pool it borrows from.
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS(), gopts...)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("migrations: %w", err), db.Close())
	}
	closeDB := func() error {
		if err := db.Close(); err != nil {
			return fmt.Errorf("migrations: close: %w", err)
		}
		return nil
	}
	return p, closeDB, nil
}
