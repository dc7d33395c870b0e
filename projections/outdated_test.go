package projections_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edusmarthub/edusmarthub/projections"
)

// Outdated is true exactly while the live tables are not what the code
// reads (status missing, incomplete or outdated), as the query API asks
// when a query failed during serve's start-up build.
func TestOutdated(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no projections yet
	e.school(2)
	ctx := context.Background()
	unset := func(version int) *projections.Registry { // a registry whose Setup has not run
		t.Helper()
		reg, err := projections.NewRegistry(projections.Config{DB: e.pool, Store: e.store}, ledger{name: "ledger", version: version})
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	check := func(step string, reg *projections.Registry, want bool, wantState projections.State) {
		t.Helper()
		got, err := reg.Outdated(ctx, "ledger")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got != want {
			t.Errorf("%s: Outdated = %v, want %v", step, got, want)
		}
		st, err := reg.StatusOf(ctx, "ledger")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if st.State != wantState {
			t.Errorf("%s: state = %s, want %s", step, st.State, wantState)
		}
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	check("no schema yet", unset(1), true, projections.StateMissing)

	e.registry(ledger{name: "ledger", version: 1}) // built at start
	check("built", unset(1), false, projections.StateLive)

	// The next release bumps the version: outdated until its Setup rebuilt it.
	check("another version", unset(2), true, projections.StateOutdated)
	check("an older version", unset(0), true, projections.StateOutdated)
	reg := e.registry(ledger{name: "ledger", version: 2})
	check("rebuilt", reg, false, projections.StateLive)

	// A build that never finished.
	exec(`UPDATE rm_ledger.projection_info SET complete = false`)
	check("incomplete", reg, true, projections.StateIncomplete)
	exec(`UPDATE rm_ledger.projection_info SET complete = true`)
	check("complete again", reg, false, projections.StateLive)

	// A schema without its info row (made by hand, half-created).
	exec(`DROP TABLE rm_ledger.projection_info`)
	check("no info row", reg, true, projections.StateIncomplete)
	exec(`DROP SCHEMA rm_ledger CASCADE`)
	check("schema dropped", reg, true, projections.StateMissing)

	if _, err := reg.Outdated(ctx, "nope"); !errors.Is(err, projections.ErrUnknownProjection) {
		t.Errorf("unknown projection: %v", err)
	}
	// The database's failure is reported, not taken for an answer.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := reg.Outdated(cancelled, "ledger"); err == nil {
		t.Errorf("Outdated with a cancelled context: no error")
	}
}
