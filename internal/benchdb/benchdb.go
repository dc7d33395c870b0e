// Package benchdb gives the benchmark programs (cmd/storebench,
// cmd/httpbench) an empty database of their own: on a throwaway
// PostgreSQL cluster started for the run, or, when a server URL is given
// (DATABASE_URL), a fresh database on that server, dropped afterwards.
package benchdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/pgcluster"
)

// DB is a database to measure in.
type DB struct {
	// Where describes the server, for the table's header.
	Where   string
	url     string // the server's, or the cluster's database's
	name    string
	cleanup func() error
}

// Open creates an empty database named prefix_<random>. With serverURL
// empty it starts a throwaway cluster (fsync off unless durable; its
// binaries from EDUSMARTHUB_PG_BIN_DIR or the default directory); else it
// creates the database on that server, as serverURL's role. Close drops
// or stops whatever Open made.
func Open(ctx context.Context, serverURL, prefix string, durable bool) (*DB, error) {
	name := prefix + "_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if serverURL != "" {
		if err := pgcluster.CreateDatabase(ctx, serverURL, name); err != nil {
			return nil, err
		}
		drop := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return pgcluster.DropDatabase(ctx, serverURL, name)
		}
		return &DB{Where: "the server of DATABASE_URL", url: serverURL, name: name, cleanup: drop}, nil
	}

	dir, err := os.MkdirTemp("", prefix+"-*")
	if err != nil {
		return nil, err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		DataDir:   filepath.Join(dir, "data"),
		Port:      port,
		BinDir:    os.Getenv("EDUSMARTHUB_PG_BIN_DIR"),
		Throwaway: !durable,
	})
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return errors.Join(c.Stop(ctx), os.RemoveAll(dir))
	}
	if err := c.CreateDatabase(ctx, name); err != nil {
		return nil, errors.Join(err, stop())
	}
	where := "throwaway local cluster"
	if durable {
		where = "throwaway local cluster with durable settings"
	}
	return &DB{Where: where, url: c.ConnString(name), name: name, cleanup: stop}, nil
}

// PoolConfig is a pool configuration for the database, maxConns
// connections at most.
func (db *DB) PoolConfig(maxConns int) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(db.url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.ConnConfig.Database = db.name
	cfg.MaxConns = int32(maxConns)
	return cfg, nil
}

// Close drops the database, or stops the throwaway cluster and removes it.
func (db *DB) Close() error { return db.cleanup() }
