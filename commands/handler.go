package commands

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Handler handles one command type.
type Handler[C any] interface {
	Handle(ctx context.Context, m Meta, cmd C) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc[C any] func(ctx context.Context, m Meta, cmd C) (Result, error)

func (f HandlerFunc[C]) Handle(ctx context.Context, m Meta, cmd C) (Result, error) {
	return f(ctx, m, cmd)
}

// Outcome classifies how a command ended, for metrics and logs. Values are
// metric label values: append-only.
type Outcome string

const (
	OutcomeOK        Outcome = "ok"
	OutcomeRejected  Outcome = "rejected"  // the domain said no (invalid, not found, state)
	OutcomeForbidden Outcome = "forbidden" // the actor may not
	OutcomeConflict  Outcome = "conflict"  // concurrent update or If-Match mismatch
	OutcomeError     Outcome = "error"     // infrastructure failure
)

// OutcomeOf classifies a handler's error.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, eventstore.ErrVersionConflict), errors.Is(err, ErrConcurrentUpdate):
		return OutcomeConflict
	}
	switch domain.KindOf(err) {
	case domain.KindForbidden:
		return OutcomeForbidden
	case domain.KindInvalid, domain.KindNotFound, domain.KindConflict:
		return OutcomeRejected
	}
	return OutcomeError
}

// Observer records handled commands (Prometheus in production).
type Observer interface {
	CommandHandled(command string, outcome Outcome, took time.Duration)
}

// Observed wraps a handler with logging and metrics, so handlers stay free
// of both.
func Observed[C any](name string, h Handler[C], log *slog.Logger, obs Observer) Handler[C] {
	return HandlerFunc[C](func(ctx context.Context, m Meta, cmd C) (Result, error) {
		start := time.Now()
		res, err := h.Handle(ctx, m, cmd)
		outcome := OutcomeOf(err)
		took := time.Since(start)
		if obs != nil {
			obs.CommandHandled(name, outcome, took)
		}
		if log != nil {
			attrs := []any{
				slog.String("command", name), slog.String("outcome", string(outcome)),
				slog.String("school", m.SchoolID), slog.String("actor", m.Actor.ID),
				slog.String("correlation_id", m.CorrelationID), slog.String("request_id", m.RequestID),
				slog.Duration("took", took),
			}
			switch outcome {
			case OutcomeOK:
				log.DebugContext(ctx, "command handled", append(attrs, slog.String("stream", res.Stream), slog.Uint64("version", res.Version))...)
			case OutcomeError:
				log.ErrorContext(ctx, "command failed", append(attrs, slog.Any("error", err))...)
			default:
				log.InfoContext(ctx, "command refused", append(attrs, slog.Any("error", err))...)
			}
		}
		return res, err
	})
}

// forbidden is the error for an actor acting outside its rights.
func forbidden(format string, args ...any) error {
	e := domain.Invalid("", format, args...)
	e.Kind = domain.KindForbidden
	return e
}

// notFound is the error for a referenced aggregate that does not exist (or
// belongs to another school, which callers must not be able to tell apart).
func notFound(field, format string, args ...any) error {
	e := domain.Invalid(field, format, args...)
	e.Kind = domain.KindNotFound
	return e
}

// allow checks the actor's role and school for a command on school
// m.SchoolID. Platform admins act in any school; a service (a saga) acts in
// any school unless its token names one.
func allow(m Meta, roles ...Role) error {
	a := m.Actor
	if a.Has(RolePlatformAdmin) {
		return nil
	}
	sameSchool := m.SchoolID != "" && a.SchoolID == m.SchoolID
	if !sameSchool && !(a.Has(RoleService) && a.SchoolID == "") {
		return forbidden("actor %s may not act in school %s", a.ID, m.SchoolID)
	}
	if a.Has(RoleService) || a.Has(roles...) {
		return nil
	}
	return forbidden("role %q may not do this", a.PrimaryRole())
}
