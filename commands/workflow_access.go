package commands

// Authorization of the commands only workflows (services) and platform
// admins issue.

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
