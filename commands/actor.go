package commands

import "slices"

// Role is what a caller may do. Values reach tokens and event metadata:
// append-only, never rename.
type Role string

const (
	RolePlatformAdmin Role = "platform_admin"
	RoleSchoolAdmin   Role = "school_admin"
	RoleTeacher       Role = "teacher"
	RoleGuardian      Role = "guardian"
	RoleService       Role = "service"
)

// RoleFromString parses a role name; ok is false for anything unknown.
func RoleFromString(s string) (Role, bool) {
	switch r := Role(s); r {
	case RolePlatformAdmin, RoleSchoolAdmin, RoleTeacher, RoleGuardian, RoleService:
		return r, true
	}
	return "", false
}

// Actor is the authenticated caller: a user (teacher, guardian, admin) or a
// service (a saga). ID is the token's subject; for a teacher it is the
// teacher's ID, for a guardian the guardian's ID.
type Actor struct {
	ID       string
	Roles    []Role
	SchoolID string // empty for platform admins
}

// Has reports whether the actor holds one of roles.
func (a Actor) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// PrimaryRole is the most privileged role, recorded in event metadata.
func (a Actor) PrimaryRole() string {
	for _, r := range []Role{RolePlatformAdmin, RoleService, RoleSchoolAdmin, RoleTeacher, RoleGuardian} {
		if a.Has(r) {
			return string(r)
		}
	}
	return ""
}
