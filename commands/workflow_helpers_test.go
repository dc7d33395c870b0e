package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Helpers of the tests of the commands the workflows (sagas) issue.

// service is the metadata of a workflow acting in the fixture's school: a
// service token that names no school, as the saga runtime's, with a
// command ID like the ones sagas derive from their triggers.
func (f *fixture) service() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(), SchoolID: f.school,
		Actor: commands.Actor{ID: "saga:test", Roles: []commands.Role{commands.RoleService}}}
}

// platform is a platform admin addressing the fixture's school.
func (f *fixture) platform() commands.Meta {
	return commands.Meta{SchoolID: f.school, Actor: platformAdmin()}
}

// foreignService is a service whose token is bound to another school.
func (f *fixture) foreignService() commands.Meta {
	return commands.Meta{SchoolID: f.school,
		Actor: commands.Actor{ID: "svc-x", Roles: []commands.Role{commands.RoleService}, SchoolID: uuid.NewString()}}
}

// expectOnce runs a command twice with the same command ID (a saga's
// redelivery) and checks that both runs succeed with one result and that
// the stream holds the events of one run.
func expectOnce[C any](t *testing.T, f *fixture, h commands.Handler[C], m commands.Meta, cmd C, want ...string) commands.Result {
	t.Helper()
	if m.CommandID == "" {
		m.CommandID = uuid.NewString()
	}
	first, err := h.Handle(context.Background(), m, cmd)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	second, err := h.Handle(context.Background(), m, cmd)
	if err != nil {
		t.Fatalf("second run with the same command ID: %v", err)
	}
	if first != second {
		t.Fatalf("results differ: first %+v, second %+v", first, second)
	}
	f.expectEvents(t, first.Stream, want...)
	return first
}
