package commands

import (
	"context"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RegisterSchool creates a tenant. Only platform admins may.
type RegisterSchool struct {
	SchoolID string // minted by the caller (NewID)
	Name     string
	Timezone string // IANA name, e.g. "Europe/Berlin"
}

// RegisterSchoolHandler handles RegisterSchool.
type RegisterSchoolHandler struct{ repo *Repository }

func NewRegisterSchoolHandler(repo *Repository) RegisterSchoolHandler {
	return RegisterSchoolHandler{repo: repo}
}

func (h RegisterSchoolHandler) Handle(ctx context.Context, m Meta, cmd RegisterSchool) (Result, error) {
	if !m.Actor.Has(RolePlatformAdmin) {
		return Result{}, forbidden("only platform admins register schools")
	}
	if cmd.Timezone != "" {
		// The domain does no I/O; the time zone database is read here.
		if _, err := time.LoadLocation(cmd.Timezone); err != nil || cmd.Timezone == "Local" {
			return Result{}, domain.Invalid("timezone", "%q is not an IANA time zone (e.g. Europe/Berlin)", cmd.Timezone)
		}
	}
	m.SchoolID = cmd.SchoolID // the new school is the event's tenant
	return Update(ctx, h.repo, m, func() *domain.School { return domain.NewSchool(cmd.SchoolID) },
		func(s *domain.School) error { return s.Register(cmd.Name, cmd.Timezone, h.repo.Now()) })
}
