package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/migrations"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve does this on start too)",
		Long: `Apply every pending migration to the configured database: DATABASE_URL,
or without it the embedded cluster under $EDUSMARTHUB_DATA_DIR/postgres, which
is started for the purpose and stopped again (so not while serve runs on the
same data folder). Applying is idempotent: with nothing pending it does nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDatabase(cmd.Context(), func(ctx context.Context, db *database) error {
				return migrate(ctx, db, db.logger)
			})
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply pending migrations (the same as migrate)",
		Args:  cobra.NoArgs,
		RunE:  cmd.RunE,
	}, &cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDatabase(cmd.Context(), func(ctx context.Context, db *database) error {
				states, err := migrations.Status(ctx, db.Pool)
				if err != nil {
					return err
				}
				return printStatus(a.stdout, states)
			})
		},
	})
	return cmd
}

func printStatus(w io.Writer, states []migrations.State) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tAPPLIED AT\tFILE")
	pending := 0
	for _, s := range states {
		at := "pending"
		if s.Applied {
			at = s.AppliedAt.UTC().Format(time.RFC3339)
		} else {
			pending++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, at, s.Path)
	}
	fmt.Fprintf(tw, "\n%d migrations, %d pending\n", len(states), pending)
	return tw.Flush()
}

// migrate applies pending migrations and logs the outcome in one line:
// goose's own logging shows every SQL statement, too much for a start-up.
func migrate(ctx context.Context, db *database, logger *slog.Logger) error {
	start := time.Now()
	states, err := migrations.Status(ctx, db.Pool)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var latest int64
	pending := 0
	for _, s := range states {
		latest = max(latest, s.Version)
		if !s.Applied {
			pending++
		}
	}
	// Apply whatever Status said: another replica may be migrating too,
	// and Apply's lock makes that safe.
	if err := migrations.Apply(ctx, db.Pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	logger.Info("database migrated", "version", latest, "pending", pending, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// withDatabase opens the configured database for one task and closes it
// (stopping an embedded cluster) afterwards, whatever the task returned.
func (a *app) withDatabase(ctx context.Context, task func(context.Context, *database) error) (err error) {
	cfg, logger, err := a.setup()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	return task(ctx, db)
}
