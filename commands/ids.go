package commands

import (
	"strings"

	"github.com/google/uuid"
)

// Namespaces of the name-based (v5) IDs. Changing one changes every derived
// ID: never do it.
var (
	teacherIDSpace  = uuid.MustParse("5f0c6a2e-3d0b-4f5e-9d1c-1a7e8b2c4d01")
	guardianIDSpace = uuid.MustParse("5f0c6a2e-3d0b-4f5e-9d1c-1a7e8b2c4d02")
	newIDSpace      = uuid.MustParse("5f0c6a2e-3d0b-4f5e-9d1c-1a7e8b2c4d03")
)

// TeacherID is a teacher's ID within a school, derived from the normalized
// e-mail: two teachers with one address in one school land on one stream,
// which is what makes the address unique without a second write.
func TeacherID(schoolID, email string) string {
	return uuid.NewSHA1(teacherIDSpace, []byte(schoolID+"\x00"+normalizeEmail(email))).String()
}

// GuardianID is a guardian's ID within a school, derived from the e-mail, so
// a parent of two children is one guardian (and one login subject).
func GuardianID(schoolID, email string) string {
	return uuid.NewSHA1(guardianIDSpace, []byte(schoolID+"\x00"+normalizeEmail(email))).String()
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NewID mints the ID of an aggregate a command creates. With a command ID
// (an Idempotency-Key, a saga's triggering event) the ID is derived from
// it, so a repeat of the command targets the same aggregate; else random.
// purpose tells apart several IDs minted by one command.
func NewID(m Meta, purpose string) string {
	if m.CommandID == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(newIDSpace, []byte(m.CommandID+"\x00"+purpose)).String()
}
