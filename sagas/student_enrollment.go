package sagas

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// StudentEnrollmentName is the student_enrollment_complete workflow's name
// (and consumer group suffix): never rename.
const StudentEnrollmentName = "student_enrollment_complete"

// enrollmentRetry is the deadline that tries a waiting student's placement
// again.
const enrollmentRetry = "placement_retry"

// NewStudentEnrollment is the student_enrollment_complete workflow. A
// student.enrolled.v1 starts an instance (business ID: the student's ID,
// key "student-<id>"):
//
//   - placement: the school's classes of the student's grade level
//     (Directory.Classes lists them, each is loaded from the store, which
//     decides) are tried with AssignStudentToClass, most room first, then
//     by name; a class that turns out full is skipped for the next. When
//     none has room the instance waits, with the reason ("no grade-5 class
//     has room: 5A 30/30, 5B 28/28"), tells the school's office once, and
//     tries again every Settings.PlacementRetry (the "placement_retry"
//     deadline);
//   - guardian accounts: InviteGuardian for each guardian (one invited
//     before, e.g. for a sibling, counts as done);
//   - welcome: a message to the guardians and one to the class's teachers;
//   - records ready: the student is on the class roster (loaded from the
//     store), so registers and assessments of the class include them;
//     then the instance completes.
//
// Everything after the placement runs in the handling that placed the
// student: each command is idempotent (in.Meta), so a retried handling
// repeats nothing, and a student found already in a class (placed by an
// earlier attempt, or by an administrator) goes straight on.
//
// A student withdrawn while waiting ends the instance as completed, not
// failed: nothing went wrong, the school decided the student leaves, and
// the reason says so ("ended: … withdrawn while waiting for a place").
//
// A class created or a student leaving a class could give waiting
// students a chance before the next retry, but every waiting student of
// that school and grade would need the event, and the runtime routes an
// event to one instance. A key "waiting-<school>-<grade>" does not do it:
// keys are unique among running instances, so only one waiting student
// could hold it, and an instance cannot tell whether another holds it (a
// second one setting it would break the unique index on every attempt).
// Until the runtime can route an event to all the running instances of a
// group, waiting students rely on the retry deadline.
func NewStudentEnrollment(d Deps) Saga { return &studentEnrollment{d: d} }

type studentEnrollment struct{ d Deps }

func (*studentEnrollment) Name() string { return StudentEnrollmentName }

func (*studentEnrollment) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelStudent}
}

func (*studentEnrollment) Correlate(t Trigger) (Route, bool) {
	switch e := t.Event.(type) {
	case domain.StudentEnrolled:
		return Route{ID: e.StudentID, Key: "student-" + e.StudentID, Start: true}, true
	case domain.StudentWithdrawn:
		return Route{ID: e.StudentID}, true
	}
	return Route{}, false
}

// enrollmentState is the instance's own state (shown in its status).
type enrollmentState struct {
	StudentID   string `json:"studentId"`
	StudentName string `json:"studentName"`
	GradeLevel  int    `json:"gradeLevel"`
	ClassID     string `json:"classId,omitempty"`
	ClassName   string `json:"className,omitempty"`
	// Waiting is why the student has no class yet (empty once placed);
	// Attempts counts the placement attempts.
	Waiting      string    `json:"waiting,omitempty"`
	WaitingSince time.Time `json:"waitingSince,omitzero"`
	Attempts     int       `json:"attempts"`
	OfficeTold   bool      `json:"officeTold,omitempty"`
	// Invited and AlreadyInvited are guardians' names.
	Invited            []string `json:"invited,omitempty"`
	AlreadyInvited     []string `json:"alreadyInvited,omitempty"`
	GuardianMessageIDs []string `json:"guardianMessageIds,omitempty"`
	TeacherMessageID   string   `json:"teacherMessageId,omitempty"`
}

func (s *studentEnrollment) Handle(ctx context.Context, in *Instance, t Trigger) error {
	switch e := t.Event.(type) {
	case domain.StudentEnrolled:
		if !in.New() {
			return nil // a student is enrolled once
		}
		in.SetSchool(e.SchoolID)
		return s.place(ctx, in)
	case domain.StudentWithdrawn:
		// A running instance is waiting for a place: a placed student's
		// instance completes in the handling that placed them.
		var st enrollmentState
		if err := in.Load(&st); err != nil {
			return err
		}
		s.withdrawn(in, st, e.Reason)
	}
	return nil
}

func (s *studentEnrollment) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	if d.Name != enrollmentRetry {
		return nil
	}
	return s.place(ctx, in)
}

func (s *studentEnrollment) withdrawn(in *Instance, st enrollmentState, reason string) {
	why := ""
	if reason != "" {
		why = " (" + reason + ")"
	}
	in.Record("withdrawn", fmt.Sprintf("%s was withdrawn from the school%s", st.StudentName, why))
	if st.ClassID == "" {
		in.Complete(fmt.Sprintf("ended: %s was withdrawn while waiting for a place in grade %d; no class, no invitation, no message",
			st.StudentName, st.GradeLevel))
		return
	}
	in.Complete(fmt.Sprintf("ended: %s was withdrawn after being placed in %s, before the enrollment was complete; the steps above were done, the rest is not needed",
		st.StudentName, st.ClassName))
}

// place tries to place the student and, once placed, runs the rest.
func (s *studentEnrollment) place(ctx context.Context, in *Instance) error {
	var st enrollmentState
	if err := in.Load(&st); err != nil {
		return err
	}
	student, recs, err := commands.Load(ctx, s.d.Repo, domain.NewStudent(in.ID()))
	if err != nil {
		return err
	}
	if student.RequireInSchool(in.SchoolID()) != nil {
		return fmt.Errorf("student %s of school %s is not in the store", in.ID(), in.SchoolID())
	}
	st.StudentID, st.StudentName, st.GradeLevel = student.ID(), student.Name(), int(student.GradeLevel())
	if !student.Active() {
		s.withdrawn(in, st, "")
		return nil
	}
	st.Attempts++
	// A student in a class by this very trigger's placement (a retry after
	// a crash) goes through the placement again: the command repeats
	// nothing and the step is recorded as the placement it was.
	mine := student.ClassID() != "" && hasEvent(recs,
		commands.EventID(in.Meta("place:"+student.ClassID()).CommandID, student.StreamID(), 0))
	if student.ClassID() == "" || mine {
		placed, err := s.assign(ctx, in, &st, student)
		if err != nil || !placed || in.State().Finished() {
			return err
		}
	} else {
		class, _, err := commands.Load(ctx, s.d.Repo, domain.NewClass(student.ClassID()))
		if err != nil {
			return err
		}
		st.ClassID, st.ClassName, st.Waiting = class.ID(), class.Name(), ""
		in.Record("placed", fmt.Sprintf("%s is already in %s (%d/%d)", student.Name(), class.Name(), len(class.Roster()), class.Capacity()))
	}
	if err := in.Save(st); err != nil {
		return err
	}
	return s.welcome(ctx, in, &st, student)
}

// enrollmentCandidate is a class of the student's grade, as stored.
type enrollmentCandidate struct {
	class *domain.Class
	has   bool // the student is on its roster already
	full  bool // refused the student as full
}

// room is the number of free places before the student joined.
func (c enrollmentCandidate) room() int {
	if c.full {
		return 0
	}
	n := c.class.Capacity() - len(c.class.Roster())
	if c.has {
		n++
	}
	return n
}

// assign places the student in the class of their grade with the most
// room, or records why they wait. placed reports the former.
func (s *studentEnrollment) assign(ctx context.Context, in *Instance, st *enrollmentState, student *domain.Student) (placed bool, err error) {
	school, grade, current := in.SchoolID(), student.GradeLevel(), student.ClassID()
	list, err := s.d.Directory.Classes(ctx, school)
	if err != nil {
		return false, fmt.Errorf("list the classes of school %s: %w", school, err)
	}
	if current != "" && !slices.ContainsFunc(list, func(c ClassSummary) bool { return c.ID == current }) {
		list = append(list, ClassSummary{ID: current, GradeLevel: int(grade)}) // the directory lags
	}
	var cands []enrollmentCandidate
	seen := map[string]bool{}
	for _, c := range list {
		if c.GradeLevel != int(grade) || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		class, _, err := commands.Load(ctx, s.d.Repo, domain.NewClass(c.ID))
		if err != nil {
			return false, err
		}
		if class.RequireInSchool(school) != nil || class.GradeLevel() != grade {
			continue
		}
		cands = append(cands, enrollmentCandidate{class: class, has: class.HasStudent(student.ID())})
	}
	// Most room first (counting the places as they were before this
	// student), then by name: the order of the decision, which a retry
	// reproduces for its record.
	slices.SortFunc(cands, func(a, b enrollmentCandidate) int {
		return cmp.Or(cmp.Compare(b.room(), a.room()), cmp.Compare(a.class.Name(), b.class.Name()),
			cmp.Compare(a.class.ID(), b.class.ID()))
	})
	// A class whose roster has the student comes first: an earlier
	// attempt of this trigger put them there (and maybe recorded the
	// student's side: then current names it, and no other class is
	// tried); finishing that move keeps them on one roster.
	order := slices.Clone(cands)
	slices.SortStableFunc(order, func(a, b enrollmentCandidate) int { return -enrollmentCmpBool(a.has, b.has) })
	for _, c := range order {
		if current != "" && c.class.ID() != current || c.room() <= 0 && !c.has {
			continue
		}
		// The student must be as loaded: one an administrator placed
		// meanwhile is theirs to keep, not to be moved to the class with
		// the most room (the conflict is retried, and the retry finds the
		// student in a class).
		m := in.Meta("place:" + c.class.ID())
		loaded := student.Version()
		m.ExpectedVersion = &loaded
		res, err := commands.NewAssignStudentToClassHandler(s.d.Repo).Handle(ctx, m, commands.AssignStudentToClass{
			StudentID: student.ID(), ClassID: c.class.ID()})
		switch {
		case errors.Is(err, domain.ErrClassFull):
			// Filled up since it was loaded: try the next.
			i := slices.IndexFunc(cands, func(x enrollmentCandidate) bool { return x.class.ID() == c.class.ID() })
			cands[i].full = true
			continue
		case errors.Is(err, domain.ErrStudentWithdrawn):
			s.withdrawn(in, *st, "")
			return false, nil
		case err != nil:
			return false, failIfRefused(in, err, "placed",
				fmt.Sprintf("placing %s in %s was refused", student.Name(), c.class.Name()))
		}
		class, _, err := commands.Load(ctx, s.d.Repo, domain.NewClass(c.class.ID()))
		if err != nil {
			return false, err
		}
		// Why this class, with the figures as the decision saw them
		// (classes found full on trying them count as full).
		withRoom, best := 0, ""
		for _, x := range cands {
			if x.room() > 0 {
				withRoom++
				if best == "" {
					best = x.class.ID()
				}
			}
		}
		why := fmt.Sprintf("the only grade-%d class with room", grade)
		switch {
		case best != c.class.ID():
			why = "completing a placement started earlier"
		case withRoom > 1:
			why = fmt.Sprintf("the most room of %d grade-%d classes with room", withRoom, grade)
		}
		waited := ""
		if st.Waiting != "" {
			waited = fmt.Sprintf(", after waiting since %s", st.WaitingSince.Format("2006-01-02 15:04 MST"))
		}
		st.ClassID, st.ClassName, st.Waiting = class.ID(), class.Name(), ""
		in.Issued("placed", fmt.Sprintf("placed in %s (%d/%d), %s%s", class.Name(), len(class.Roster()), class.Capacity(),
			why, waited), m, res)
		return true, nil
	}
	if current != "" {
		return false, fmt.Errorf("student %s: class %s, where this workflow placed them, is not a grade-%d class of the school", student.ID(), current, grade)
	}
	return false, s.wait(ctx, in, st, enrollmentWaitReason(int(grade), cands))
}

// wait records why the student has no class (when the reason changed),
// tells the office the first time, and sets the next attempt.
func (s *studentEnrollment) wait(ctx context.Context, in *Instance, st *enrollmentState, reason string) error {
	if reason != st.Waiting {
		if st.Waiting == "" {
			st.WaitingSince = in.Now()
		}
		st.Waiting = reason
		in.Record("waiting", reason)
	}
	if !st.OfficeTold {
		_, err := s.d.notify(ctx, in, "office_waiting", Notification{
			Recipients: []domain.RecipientInput{officeRecipient},
			Subject:    clip(fmt.Sprintf("%s is waiting for a place in grade %d", st.StudentName, st.GradeLevel), 200),
			Body: fmt.Sprintf("%s was enrolled in grade %d but could not be placed in a class: %s.\n\n"+
				"The placement is tried again every %s: as soon as a class of grade %d has room, the student is placed "+
				"and their guardians are invited and welcomed.", st.StudentName, st.GradeLevel, reason, enrollmentEvery(s.retry()), st.GradeLevel),
			Category: string(domain.CategoryGeneral), RelatedTo: "student-" + st.StudentID,
		}, "office_notified", "the school's office was told that "+st.StudentName+" is waiting for a place")
		if err != nil {
			return failIfRefused(in, err, "office_notified", "telling the school's office that "+st.StudentName+" waits was refused")
		}
		st.OfficeTold = true
	}
	if err := in.Save(st); err != nil {
		return err
	}
	return in.Schedule(enrollmentRetry, in.Now().Add(s.retry()), nil)
}

func (s *studentEnrollment) retry() time.Duration {
	if s.d.Settings.PlacementRetry > 0 {
		return s.d.Settings.PlacementRetry
	}
	return DefaultSettings().PlacementRetry
}

// welcome runs the steps after the placement: invitations, welcome
// messages, roster check, completion.
func (s *studentEnrollment) welcome(ctx context.Context, in *Instance, st *enrollmentState, student *domain.Student) error {
	guardians := student.Guardians()
	st.Invited, st.AlreadyInvited = nil, nil
	for _, g := range guardians {
		m := in.Meta("invite:" + g.GuardianID)
		res, err := commands.NewInviteGuardianHandler(s.d.Repo).Handle(ctx, m, commands.InviteGuardian{
			StudentID: student.ID(), GuardianID: g.GuardianID})
		switch {
		case errors.Is(err, domain.ErrStudentWithdrawn):
			s.withdrawn(in, *st, "")
			return nil
		case errors.Is(err, domain.ErrGuardianAlreadyInvited):
			st.AlreadyInvited = append(st.AlreadyInvited, g.Name)
			in.Record("guardian_invited", fmt.Sprintf("%s (%s, %s) has an account already", g.Name, g.Relationship, g.Email))
			continue
		case err != nil:
			return failIfRefused(in, err, "guardian_invited", "inviting "+g.Name+" was refused")
		}
		st.Invited = append(st.Invited, g.Name)
		in.Issued("guardian_invited", fmt.Sprintf("%s (%s) invited to an account at %s", g.Name, g.Relationship, g.Email), m, res)
	}

	class, _, err := commands.Load(ctx, s.d.Repo, domain.NewClass(st.ClassID))
	if err != nil {
		return err
	}
	school, _, err := commands.Load(ctx, s.d.Repo, domain.NewSchool(in.SchoolID()))
	if err != nil {
		return err
	}
	related := "student-" + student.ID()
	// Each guardian gets the welcome, addressed to them, and a newly
	// invited one the invitation to their account (which the e-mail
	// delivery of messages takes to their address).
	for _, g := range guardians {
		to := recipients(domain.RecipientGuardian, g.GuardianID)
		if slices.Contains(st.Invited, g.Name) {
			subject, body := drafting.GuardianInvitation(drafting.Invitation{SchoolName: school.Name(),
				StudentName: student.Name(), GuardianName: g.Name, Email: g.Email.String()})
			if _, err := s.d.notify(ctx, in, "invitation:"+g.GuardianID, Notification{Recipients: to, Subject: subject, Body: body,
				Category: string(domain.CategoryGeneral), RelatedTo: related}, "guardian_welcomed", "account invitation sent to "+g.Name); err != nil {
				return failIfRefused(in, err, "guardian_welcomed", "the account invitation to "+g.Name+" was refused")
			}
		}
		subject, body := drafting.EnrollmentWelcome(drafting.Enrollment{SchoolName: school.Name(),
			StudentName: student.Name(), GuardianName: g.Name, ClassName: class.Name()})
		res, err := s.d.notify(ctx, in, "welcome:"+g.GuardianID, Notification{Recipients: to, Subject: subject, Body: body,
			Category: string(domain.CategoryWelcome), RelatedTo: related},
			"guardian_welcomed", fmt.Sprintf("welcome message sent to %s: %s is in %s", g.Name, student.Name(), class.Name()))
		if err != nil {
			return failIfRefused(in, err, "guardian_welcomed", "the welcome message to "+g.Name+" was refused")
		}
		st.GuardianMessageIDs = append(st.GuardianMessageIDs, res.ID)
	}

	teachers := enrollmentTeachers(class)
	if len(teachers) == 0 {
		in.Record("teachers_told", class.Name()+" has no teacher assigned yet: no teacher to tell")
	} else {
		res, err := s.d.notify(ctx, in, "teachers", Notification{Recipients: recipients(domain.RecipientTeacher, teachers...),
			Subject:  clip(fmt.Sprintf("New student in %s: %s", class.Name(), student.Name()), 200),
			Body:     enrollmentTeachersBody(student, class, guardians),
			Category: string(domain.CategoryGeneral), RelatedTo: related},
			"teachers_told", fmt.Sprintf("the %s of %s told of their new student", count(len(teachers), "teacher"), class.Name()))
		if err != nil {
			return failIfRefused(in, err, "teachers_told", "the message to the teachers of "+class.Name()+" was refused")
		}
		st.TeacherMessageID = res.ID
	}

	// Registers and assessments of a class are taken from its roster:
	// being on it is what makes the student's records ready.
	if !class.HasStudent(student.ID()) {
		return fmt.Errorf("student %s is in class %s but not on its roster yet", student.ID(), class.ID())
	}
	in.Record("records_ready", fmt.Sprintf("%s is on the roster of %s (%d/%d): attendance and performance can be recorded",
		student.Name(), class.Name(), len(class.Roster()), class.Capacity()))
	if err := in.Save(st); err != nil {
		return err
	}
	in.Complete(enrollmentDone(*st))
	return nil
}

// enrollmentWaitReason says why no class of grade could take the student.
func enrollmentWaitReason(grade int, cands []enrollmentCandidate) string {
	if len(cands) == 0 {
		return fmt.Sprintf("the school has no grade-%d class", grade)
	}
	parts := make([]string, len(cands))
	for i, c := range cands {
		size := len(c.class.Roster())
		if c.full {
			size = c.class.Capacity()
		}
		parts[i] = fmt.Sprintf("%s %d/%d", c.class.Name(), size, c.class.Capacity())
	}
	return fmt.Sprintf("no grade-%d class has room: %s", grade, strings.Join(parts, ", "))
}

func enrollmentDone(st enrollmentState) string {
	var invited []string
	if n := len(st.Invited); n > 0 {
		invited = append(invited, fmt.Sprintf("%d guardian account(s) invited", n))
	}
	if n := len(st.AlreadyInvited); n > 0 {
		invited = append(invited, fmt.Sprintf("%d already invited", n))
	}
	return fmt.Sprintf("%s enrolled in %s: %s, welcome sent, attendance and performance records ready",
		st.StudentName, st.ClassName, strings.Join(invited, ", "))
}

// enrollmentTeachersBody tells a class's teachers of a new student.
func enrollmentTeachersBody(student *domain.Student, class *domain.Class, guardians []domain.Guardian) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (grade %d) has joined %s and is on its roster from today (%d/%d): registers and assessments of the class include them.\n",
		student.Name(), student.GradeLevel(), class.Name(), len(class.Roster()), class.Capacity())
	if len(guardians) > 0 {
		b.WriteString("\nGuardians:\n")
		for _, g := range guardians {
			fmt.Fprintf(&b, "- %s (%s), %s\n", g.Name, g.Relationship, g.Email)
		}
	}
	return strings.TrimSpace(b.String())
}

// enrollmentEvery says a retry interval in words: "hour", "30 minutes".
func enrollmentEvery(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return count(int(d/time.Minute), "minute")
	}
	return d.String()
}

// enrollmentTeachers lists the distinct teachers of a class's subjects.
func enrollmentTeachers(c *domain.Class) []string {
	var ids []string
	for _, s := range c.Subjects() {
		if s.TeacherID != "" && !slices.Contains(ids, s.TeacherID) {
			ids = append(ids, s.TeacherID)
		}
	}
	slices.Sort(ids)
	return ids
}

func enrollmentCmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
