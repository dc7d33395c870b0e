package domain

import (
	"errors"
	"time"
)

// GuardianAccount is a guardian's access to the school's services (stream
// guardian-<guardianId>): created when the guardian is invited, from what
// a student's enrolment recorded of them. A guardian of several children
// of a school is one guardian (one ID) and is invited once.
type GuardianAccount struct {
	Root
	schoolID  string
	studentID string // the student the invitation was made for
	name      string
	email     Email
	invitedAt time.Time
}

// Sentinels of the guardian account.
var (
	// ErrGuardianAlreadyInvited: the guardian was invited before (perhaps
	// for another of their children); workflows count it as done.
	ErrGuardianAlreadyInvited = errors.New("guardian already invited")
	// ErrNotGuardian: the guardian is not one of the student's.
	ErrNotGuardian = errors.New("not a guardian of the student")
)

// NewGuardianAccount returns the blank account of a guardian, to load its
// stream into. It validates nothing: Invite checks the ID.
func NewGuardianAccount(guardianID string) *GuardianAccount {
	return &GuardianAccount{Root: Root{id: guardianID}}
}

// StreamID is "guardian-<guardianId>".
func (g *GuardianAccount) StreamID() string { return "guardian-" + g.id }

// Invite invites the guardian, who must be one of guardians (the student's,
// as enrolled), with the name and address recorded there.
func (g *GuardianAccount) Invite(schoolID, studentID string, guardians []Guardian, at time.Time) error {
	if err := RequireID("guardianId", g.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", schoolID); err != nil {
		return err
	}
	if err := RequireID("studentId", studentID); err != nil {
		return err
	}
	var found *Guardian
	for i := range guardians {
		if guardians[i].GuardianID == g.id {
			found = &guardians[i]
			break
		}
	}
	if found == nil {
		return ruleError(KindNotFound, "guardianId", ErrNotGuardian, "%s is not a guardian of student %s", g.id, studentID)
	}
	if g.Invited() {
		return ruleError(KindConflict, "", ErrGuardianAlreadyInvited, "guardian %s was already invited at %s",
			g.id, g.invitedAt.Format(time.RFC3339))
	}
	raise(g, GuardianInvited{
		GuardianID: g.id,
		SchoolID:   schoolID,
		StudentID:  studentID,
		Name:       found.Name,
		Email:      found.Email,
		At:         at.UTC(),
	})
	return nil
}

func (g *GuardianAccount) apply(e Event) {
	switch e := e.(type) {
	case GuardianInvited:
		g.schoolID, g.studentID, g.name, g.email, g.invitedAt = e.SchoolID, e.StudentID, e.Name, e.Email, e.At
	}
}

// Invited reports whether the guardian has been invited.
func (g *GuardianAccount) Invited() bool        { return !g.invitedAt.IsZero() }
func (g *GuardianAccount) InvitedAt() time.Time { return g.invitedAt }
func (g *GuardianAccount) SchoolID() string     { return g.schoolID }
func (g *GuardianAccount) StudentID() string    { return g.studentID }
func (g *GuardianAccount) Name() string         { return g.name }
func (g *GuardianAccount) Email() Email         { return g.email }

// Events of the guardian account, on the auth channel.
var GuardianInvitedType = register[GuardianInvited](ChannelAuth)

// GuardianInvited: a guardian was invited to the school's services, at
// the address the student's enrolment recorded; StudentID is the child the
// invitation was made for.
type GuardianInvited struct {
	GuardianID string    `json:"guardianId"`
	SchoolID   string    `json:"schoolId"`
	StudentID  string    `json:"studentId"`
	Name       string    `json:"name"`
	Email      Email     `json:"email"`
	At         time.Time `json:"at"`
}

func (GuardianInvited) EventType() string { return "guardian.invited.v1" }
