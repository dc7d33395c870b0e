package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Authorization of the commands only workflows (services) and platform
// admins issue, and the shared path of the maintenance window's commands.

// allowService lets through a service acting in m's school: one whose
// token names no school (the saga runtime's) or names this one. Platform
// admins are not services: what only a workflow may record, nobody
// records by hand.
func allowService(m Meta) error {
	a := m.Actor
	if !a.Has(RoleService) {
		return forbidden("only the workflows (services) may do this; role %q may not", a.PrimaryRole())
	}
	if a.SchoolID != "" && a.SchoolID != m.SchoolID {
		return forbidden("service %s may not act in school %s", a.ID, m.SchoolID)
	}
	return nil
}

// allowPlatform lets through platform admins and, when servicesToo, a
// service whose token names no school: platform-wide commands (maintenance
// windows) act in no school.
func allowPlatform(m Meta, servicesToo bool) error {
	a := m.Actor
	switch {
	case a.Has(RolePlatformAdmin):
		return nil
	case servicesToo && a.Has(RoleService) && a.SchoolID == "":
		return nil
	}
	return forbidden("only platform admins may do this; role %q may not", a.PrimaryRole())
}

// updateMaintenance lets through who may act on a maintenance window
// (allowPlatform), checks its ID, and runs decide on the window, in the
// platform tenant whatever school m names.
func updateMaintenance(ctx context.Context, repo *Repository, m Meta, servicesToo bool, id string,
	decide func(*domain.Maintenance) error) (Result, error) {
	if err := allowPlatform(m, servicesToo); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("maintenanceId", id); err != nil {
		return Result{}, err
	}
	m.SchoolID = domain.PlatformSchoolID
	return Update(ctx, repo, m, func() *domain.Maintenance { return domain.NewMaintenance(id) }, decide)
}
