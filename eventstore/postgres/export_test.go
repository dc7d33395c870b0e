package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetAppendHook makes s run each append attempt in an explicit
// transaction and call hook in it first.
func SetAppendHook(s *Store, hook func(ctx context.Context, tx pgx.Tx, attempt int) error) {
	s.appendHook = hook
}
