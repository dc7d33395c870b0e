package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Teacher is a member of a school's staff with the subjects they teach and
// their scheduling preferences.
//
// The command layer derives a teacher's ID from the school and the
// normalized e-mail, so a second teacher with the same address in a school
// lands on the existing stream and Create rejects it: that is how e-mail
// uniqueness within a school is enforced without a cross-stream lookup.
type Teacher struct {
	Root
	schoolID    string
	name        string
	email       Email
	subjects    []Subject
	preferences TeacherPreferences
	created     bool
	active      bool
	onboarded   bool
}

// Sentinels of the teacher aggregate, matched with errors.Is.
var (
	ErrEmailTaken       = errors.New("email is already used by a teacher of this school")
	ErrTeacherNotFound  = errors.New("teacher not found")
	ErrTeacherInactive  = errors.New("teacher is deactivated")
	ErrUnknownTeacher   = errors.New("unknown teacher")
	ErrSubjectNotTaught = errors.New("teacher does not teach the subject")
	// ErrTeacherOnboarded: completing a teacher's onboarding twice.
	ErrTeacherOnboarded = errors.New("teacher onboarding already completed")
)

// TeacherPreferences are the scheduling wishes a timetable honours.
type TeacherPreferences struct {
	// PreferredTimeSlots is empty when the teacher has no preference; kept
	// in day order (morning, afternoon, late) so equal sets compare equal.
	PreferredTimeSlots []TimeOfDay `json:"preferredTimeSlots"`
	MaxClassesPerDay   int         `json:"maxClassesPerDay"`
}

// PreferencesInput is the unvalidated form of TeacherPreferences.
type PreferencesInput struct {
	PreferredTimeSlots []string
	MaxClassesPerDay   int
}

// ParseTeacherPreferences validates preferences; field prefixes the names
// in errors (e.g. "preferences" gives "preferences.maxClassesPerDay").
func ParseTeacherPreferences(field string, in PreferencesInput) (TeacherPreferences, error) {
	slots := make([]TimeOfDay, 0, len(in.PreferredTimeSlots))
	for i, s := range in.PreferredTimeSlots {
		f := fmt.Sprintf("%s.preferredTimeSlots[%d]", field, i)
		t, err := TimeOfDayFromString(f, s)
		if err != nil {
			return TeacherPreferences{}, err
		}
		if slices.Contains(slots, t) {
			return TeacherPreferences{}, Invalid(f, "time slot %q is listed twice", t)
		}
		slots = append(slots, t)
	}
	slices.SortFunc(slots, func(a, b TimeOfDay) int { return timeOfDayRank(a) - timeOfDayRank(b) })
	if in.MaxClassesPerDay < 1 || in.MaxClassesPerDay > MaxPeriod {
		return TeacherPreferences{}, Invalid(field+".maxClassesPerDay", "must be between 1 and %d, got %d", MaxPeriod, in.MaxClassesPerDay)
	}
	return TeacherPreferences{PreferredTimeSlots: slots, MaxClassesPerDay: in.MaxClassesPerDay}, nil
}

func timeOfDayRank(t TimeOfDay) int {
	switch t {
	case Morning:
		return 0
	case Afternoon:
		return 1
	}
	return 2
}

// Prefers reports whether a period falls in a preferred part of the day;
// with no preference every period is preferred.
func (p TeacherPreferences) Prefers(period int) bool {
	return len(p.PreferredTimeSlots) == 0 || slices.Contains(p.PreferredTimeSlots, TimeOfDayOf(period))
}

func (p TeacherPreferences) equal(o TeacherPreferences) bool {
	return p.MaxClassesPerDay == o.MaxClassesPerDay && slices.Equal(p.PreferredTimeSlots, o.PreferredTimeSlots)
}

func (p TeacherPreferences) clone() TeacherPreferences {
	p.PreferredTimeSlots = slices.Clone(p.PreferredTimeSlots)
	if p.PreferredTimeSlots == nil {
		p.PreferredTimeSlots = []TimeOfDay{}
	}
	return p
}

// TeacherInfo is what other aggregates (Class, Timetable) need to know of a
// teacher; the command layer reads it from the loaded Teacher (Info).
type TeacherInfo struct {
	SchoolID         string
	Subjects         []Subject
	MaxClassesPerDay int
	Active           bool
}

// Teaches reports whether the teacher teaches subject.
func (ti TeacherInfo) Teaches(subject Subject) bool { return slices.Contains(ti.Subjects, subject) }

// TeacherCreated: a teacher joined a school.
type TeacherCreated struct {
	TeacherID   string             `json:"teacherId"`
	SchoolID    string             `json:"schoolId"`
	Name        string             `json:"name"`
	Email       Email              `json:"email"`
	Subjects    []Subject          `json:"subjects"`
	Preferences TeacherPreferences `json:"preferences"`
	At          time.Time          `json:"at"`
}

// TeacherPreferencesUpdated: a teacher's preferences were replaced.
type TeacherPreferencesUpdated struct {
	TeacherID   string             `json:"teacherId"`
	SchoolID    string             `json:"schoolId"`
	Preferences TeacherPreferences `json:"preferences"`
	At          time.Time          `json:"at"`
}

// TeacherDeactivated: a teacher left or was suspended; they can no longer
// be scheduled.
type TeacherDeactivated struct {
	TeacherID string    `json:"teacherId"`
	SchoolID  string    `json:"schoolId"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// TeacherOnboarded: the teacher_onboarding workflow completed for a
// teacher: the timetable version that gave them their lessons (0 when
// none was published for them), how many lessons it assigned and how many
// it could not fill, and the welcome message sent.
type TeacherOnboarded struct {
	TeacherID        string    `json:"teacherId"`
	SchoolID         string    `json:"schoolId"`
	TimetableVersion int       `json:"timetableVersion"`
	LessonsAssigned  int       `json:"lessonsAssigned"`
	LessonsUnfilled  int       `json:"lessonsUnfilled"`
	WelcomeMessageID string    `json:"welcomeMessageId"`
	At               time.Time `json:"at"`
}

var (
	TeacherCreatedType            = register[TeacherCreated](ChannelTeacher)
	TeacherPreferencesUpdatedType = register[TeacherPreferencesUpdated](ChannelTeacher)
	TeacherDeactivatedType        = register[TeacherDeactivated](ChannelTeacher)
	TeacherOnboardedType          = register[TeacherOnboarded](ChannelTeacher)
)

func (TeacherCreated) EventType() string            { return "teacher.created.v1" }
func (TeacherPreferencesUpdated) EventType() string { return "teacher.preferences_updated.v1" }
func (TeacherDeactivated) EventType() string        { return "teacher.deactivated.v1" }
func (TeacherOnboarded) EventType() string          { return "teacher.onboarded.v1" }

// NewTeacher returns the blank teacher with the given ID, for loading its
// stream. It validates nothing: Create does, when the teacher is created.
func NewTeacher(id string) *Teacher { return &Teacher{Root: Root{id: id}} }

// StreamID is "teacher-<id>".
func (t *Teacher) StreamID() string { return "teacher-" + t.id }

// Create registers the teacher in a school. On a teacher that already
// exists it fails with a conflict on "email" (ErrEmailTaken), since the ID
// is derived from the e-mail.
func (t *Teacher) Create(schoolID, name, email string, subjects []string, prefs PreferencesInput, at time.Time) error {
	if err := RequireID("id", t.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", schoolID); err != nil {
		return err
	}
	name, err := RequireText("name", name, maxNameLen)
	if err != nil {
		return err
	}
	addr, err := ParseEmail("email", email)
	if err != nil {
		return err
	}
	subs, err := ParseSubjects("subjects", subjects)
	if err != nil {
		return err
	}
	p, err := ParseTeacherPreferences("preferences", prefs)
	if err != nil {
		return err
	}
	if t.created {
		return ruleError(KindConflict, "email", ErrEmailTaken, "%s is already used by a teacher of this school", addr)
	}
	raise(t, TeacherCreated{TeacherID: t.id, SchoolID: schoolID, Name: name, Email: addr,
		Subjects: subs, Preferences: p, At: at.UTC()})
	return nil
}

// UpdatePreferences replaces the teacher's preferences. Unchanged
// preferences raise nothing.
func (t *Teacher) UpdatePreferences(prefs PreferencesInput, at time.Time) error {
	p, err := ParseTeacherPreferences("preferences", prefs)
	if err != nil {
		return err
	}
	if err := t.requireActive(); err != nil {
		return err
	}
	if p.equal(t.preferences) {
		return nil
	}
	raise(t, TeacherPreferencesUpdated{TeacherID: t.id, SchoolID: t.schoolID, Preferences: p, At: at.UTC()})
	return nil
}

// Deactivate takes the teacher off duty. reason is optional free text.
func (t *Teacher) Deactivate(reason string, at time.Time) error {
	reason, err := optionalText("reason", reason, maxReasonLen)
	if err != nil {
		return err
	}
	if err := t.requireActive(); err != nil {
		return err
	}
	raise(t, TeacherDeactivated{TeacherID: t.id, SchoolID: t.schoolID, Reason: reason, At: at.UTC()})
	return nil
}

// OnboardingInput is the outcome of a teacher's onboarding.
type OnboardingInput struct {
	TimetableVersion int // the version that assigned the lessons; 0 when none was published
	LessonsAssigned  int
	LessonsUnfilled  int
	WelcomeMessageID string
}

// CompleteOnboarding records that an active teacher's onboarding is done,
// once. Lessons assigned need the timetable version they are in.
func (t *Teacher) CompleteOnboarding(in OnboardingInput, at time.Time) error {
	switch {
	case in.TimetableVersion < 0:
		return Invalid("timetableVersion", "must not be negative, got %d", in.TimetableVersion)
	case in.LessonsAssigned < 0:
		return Invalid("lessonsAssigned", "must not be negative, got %d", in.LessonsAssigned)
	case in.LessonsUnfilled < 0:
		return Invalid("lessonsUnfilled", "must not be negative, got %d", in.LessonsUnfilled)
	case in.LessonsAssigned > 0 && in.TimetableVersion == 0:
		return Invalid("timetableVersion", "is required: %d lessons were assigned in some timetable version", in.LessonsAssigned)
	}
	if err := RequireID("welcomeMessageId", in.WelcomeMessageID); err != nil {
		return err
	}
	if err := t.requireActive(); err != nil {
		return err
	}
	if t.onboarded {
		return ruleError(KindConflict, "", ErrTeacherOnboarded, "the onboarding of teacher %s is already completed", t.id)
	}
	raise(t, TeacherOnboarded{TeacherID: t.id, SchoolID: t.schoolID, TimetableVersion: in.TimetableVersion,
		LessonsAssigned: in.LessonsAssigned, LessonsUnfilled: in.LessonsUnfilled, WelcomeMessageID: in.WelcomeMessageID,
		At: at.UTC()})
	return nil
}

func (t *Teacher) requireActive() error {
	if !t.created {
		return ruleError(KindNotFound, "", ErrTeacherNotFound, "teacher %s not found", t.id)
	}
	if !t.active {
		return ruleError(KindConflict, "", ErrTeacherInactive, "teacher %s is deactivated", t.id)
	}
	return nil
}

func (t *Teacher) apply(e Event) {
	switch e := e.(type) {
	case TeacherCreated:
		t.created, t.active = true, true
		t.schoolID, t.name, t.email = e.SchoolID, e.Name, e.Email
		t.subjects = slices.Clone(e.Subjects)
		t.preferences = e.Preferences.clone()
	case TeacherPreferencesUpdated:
		t.preferences = e.Preferences.clone()
	case TeacherDeactivated:
		t.active = false
	case TeacherOnboarded:
		t.onboarded = true
	}
}

// RequireInSchool returns a not-found error (ErrTeacherNotFound) unless
// the teacher exists in schoolID. The command layer calls it before acting
// on a teacher named by a request, so another school's teacher is never
// touched nor revealed.
func (t *Teacher) RequireInSchool(schoolID string) error {
	if !t.created || t.schoolID != schoolID {
		return ruleError(KindNotFound, "", ErrTeacherNotFound, "teacher %s not found", t.id)
	}
	return nil
}

// Exists reports whether the teacher has been created.
func (t *Teacher) Exists() bool     { return t.created }
func (t *Teacher) Active() bool     { return t.active }
func (t *Teacher) Onboarded() bool  { return t.onboarded }
func (t *Teacher) SchoolID() string { return t.schoolID }
func (t *Teacher) Name() string     { return t.name }
func (t *Teacher) Email() Email     { return t.email }

// Subjects returns a copy of the subjects the teacher teaches.
func (t *Teacher) Subjects() []Subject { return slices.Clone(t.subjects) }

// Teaches reports whether the teacher teaches subject.
func (t *Teacher) Teaches(subject Subject) bool { return slices.Contains(t.subjects, subject) }

// Preferences returns a copy of the teacher's preferences.
func (t *Teacher) Preferences() TeacherPreferences { return t.preferences.clone() }

func (t *Teacher) PreferredTimeSlots() []TimeOfDay {
	return slices.Clone(t.preferences.PreferredTimeSlots)
}
func (t *Teacher) MaxClassesPerDay() int { return t.preferences.MaxClassesPerDay }

// Info is the teacher as Class and Timetable see it.
func (t *Teacher) Info() TeacherInfo {
	return TeacherInfo{SchoolID: t.schoolID, Subjects: t.Subjects(), MaxClassesPerDay: t.preferences.MaxClassesPerDay, Active: t.active}
}

// optionalText trims s and bounds its length; empty is allowed.
func optionalText(field, s string, maxLen int) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return RequireText(field, s, maxLen)
}
