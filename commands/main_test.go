package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a fresh store in its own database, a repository over it with
// a fixed clock, and a registered school with an admin to act as.
type fixture struct {
	t      *testing.T
	store  eventstore.Store
	repo   *commands.Repository
	now    time.Time
	school string
}

var testNow = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // a Monday

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := postgres.New(pgtest.NewPool(t))
	f := &fixture{t: t, store: store, now: testNow}
	f.repo = commands.NewRepository(store, func() time.Time { return f.now })
	f.school = uuid.NewString()
	_, err := commands.NewRegisterSchoolHandler(f.repo).Handle(context.Background(),
		commands.Meta{Actor: platformAdmin()}, commands.RegisterSchool{SchoolID: f.school, Name: "Hillside", Timezone: "Europe/Berlin"})
	if err != nil {
		t.Fatalf("register school: %v", err)
	}
	return f
}

func platformAdmin() commands.Actor {
	return commands.Actor{ID: "platform-1", Roles: []commands.Role{commands.RolePlatformAdmin}}
}

// as returns command metadata for an actor of the fixture's school.
func (f *fixture) as(id string, roles ...commands.Role) commands.Meta {
	return commands.Meta{SchoolID: f.school, Actor: commands.Actor{ID: id, Roles: roles, SchoolID: f.school},
		CorrelationID: "corr-" + id}
}

func (f *fixture) admin() commands.Meta { return f.as("admin-1", commands.RoleSchoolAdmin) }

// events returns the types of a stream's events.
func (f *fixture) events(stream string) []string {
	f.t.Helper()
	recs, err := f.store.ReadStream(context.Background(), stream, 0, 0)
	if err != nil {
		f.t.Fatalf("read %s: %v", stream, err)
	}
	types := make([]string, len(recs))
	for i, r := range recs {
		types[i] = r.Type
	}
	return types
}
