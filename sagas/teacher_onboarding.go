package sagas

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
	"github.com/edusmarthub/edusmarthub/sagas/scheduling"
)

// TeacherOnboardingName is the teacher_onboarding workflow's name (and
// consumer group suffix): never rename.
const TeacherOnboardingName = "teacher_onboarding"

// onboardingWelcome is the deadline that moves an onboarding from its
// first step (plan, publish, assign) to its second (welcome, notify,
// complete).
const onboardingWelcome = "welcome"

// NewTeacherOnboarding is the teacher_onboarding workflow. A
// teacher.created.v1 starts an instance (business ID: the teacher's ID, key
// "teacher-<id>"), which runs in two steps:
//
//  1. on the event: load the teacher, the school's classes and its current
//     timetable from the store, plan the teacher's lessons with
//     scheduling.Plan, record the plan's explanation and every lesson it
//     could not place, publish the timetable's next version (the existing
//     lessons plus the new ones), assign the teacher to the class subjects
//     that had no teacher and got lessons; then set the deadline
//     "welcome", due at once;
//  2. on that deadline: draft the welcome message from the lessons of the
//     published version (drafting.Welcome) and send it to the teacher,
//     send the school's administrators a summary (unfilled lessons
//     included), record teacher.onboarded.v1 (CompleteTeacherOnboarding)
//     and complete.
//
// Why two steps, and why the second is a deadline rather than the
// timetable.published.v1 the first step causes: the commands a step issues
// are appended to the store outside the runtime's transaction that records
// the step, and the first step creates the instance in that transaction;
// the publication can reach the saga's consumer before it commits, find
// no instance, and be dropped as ignored. A deadline is written in the
// same transaction as the step, so it exists exactly when the step does,
// survives restarts, and fires once. Splitting keeps a failure of the
// notifications (retried with backoff by the runtime) from re-running the
// planning and publishing, leaves a readable status between the steps
// (the publication and assignments recorded, the "welcome" deadline
// pending), and lets the welcome read what was actually published.
//
// Every command carries in.Meta(purpose): a redelivered event or a retried
// deadline issues nothing twice. A first step retried after a crash may
// find its own publication in the store already; it plans against the
// timetable as it was before that publication, so the retry plans (and
// records) what the first attempt published. A command refused for good
// fails the instance on the step that issued it, with the refusal as the
// reason; what earlier steps did stays recorded.
func NewTeacherOnboarding(d Deps) Saga { return &teacherOnboarding{d: d} }

type teacherOnboarding struct{ d Deps }

func (*teacherOnboarding) Name() string { return TeacherOnboardingName }

func (*teacherOnboarding) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelTeacher}
}

func (*teacherOnboarding) Correlate(t Trigger) (Route, bool) {
	e, ok := t.Event.(domain.TeacherCreated)
	if !ok {
		return Route{}, false
	}
	return Route{ID: e.TeacherID, Key: "teacher-" + e.TeacherID, Start: true}, true
}

// onboardingState is the instance's own state (shown in its status).
type onboardingState struct {
	TeacherID    string           `json:"teacherId"`
	TeacherName  string           `json:"teacherName"`
	TeacherEmail string           `json:"teacherEmail"`
	Subjects     []domain.Subject `json:"subjects"`
	// BaseVersion is the timetable version planned against; Version the
	// one published (0: none, when nothing was placed).
	BaseVersion int `json:"baseVersion"`
	Version     int `json:"timetableVersion"`
	// Lessons are the planned new lessons; Unfilled what could not be
	// placed, with the reasons; Explanation the plan's explanation.
	Lessons     []onboardingLesson   `json:"lessons"`
	Unfilled    []onboardingUnfilled `json:"unfilled"`
	Explanation []string             `json:"explanation"`
	// Assigned are the class subjects the teacher was assigned to.
	Assigned []string `json:"assigned"`
	// NoLessons says why nothing was placed, when nothing was.
	NoLessons string `json:"noLessons,omitempty"`
	// ClassNames names the classes of Lessons and Unfilled.
	ClassNames       map[string]string `json:"classNames"`
	WelcomeMessageID string            `json:"welcomeMessageId,omitempty"`
	SummaryMessageID string            `json:"summaryMessageId,omitempty"`
}

type onboardingLesson struct {
	ClassID string         `json:"classId"`
	Subject domain.Subject `json:"subject"`
	Day     domain.Weekday `json:"day"`
	Period  int            `json:"period"`
}

type onboardingUnfilled struct {
	ClassID   string         `json:"classId"`
	ClassName string         `json:"className"`
	Subject   domain.Subject `json:"subject"`
	Lessons   int            `json:"lessons"`
	Reason    string         `json:"reason"`
}

func (st *onboardingState) unfilledLessons() int {
	n := 0
	for _, u := range st.Unfilled {
		n += u.Lessons
	}
	return n
}

func (st *onboardingState) unfilledReasons() []string {
	out := make([]string, len(st.Unfilled))
	for i, u := range st.Unfilled {
		out[i] = u.Reason
	}
	return out
}

func (st *onboardingState) className(id string) string {
	if n := st.ClassNames[id]; n != "" {
		return n
	}
	return id
}

// onboardingClass is a class as loaded from the store, with its history
// (to recognise the instance's own assignments).
type onboardingClass struct {
	class *domain.Class
	recs  []eventstore.RecordedEvent
}

func (s *teacherOnboarding) Handle(ctx context.Context, in *Instance, t Trigger) error {
	e, ok := t.Event.(domain.TeacherCreated)
	if !ok || !in.New() {
		return nil // a teacher is created once: nothing else moves an instance
	}
	in.SetSchool(e.SchoolID)
	return s.plan(ctx, in, e)
}

// plan is the first step: plan, publish, assign.
func (s *teacherOnboarding) plan(ctx context.Context, in *Instance, e domain.TeacherCreated) error {
	repo, school := s.d.Repo, e.SchoolID
	teacher, _, err := commands.Load(ctx, repo, domain.NewTeacher(e.TeacherID))
	if err != nil {
		return err
	}
	if !teacher.Exists() {
		return fmt.Errorf("teacher %s of school %s is not in the store", e.TeacherID, school)
	}
	if !teacher.Active() {
		in.Fail("teacher_loaded", fmt.Sprintf("%s was deactivated before the onboarding started: no lesson assigned, no message sent", teacher.Name()))
		return nil
	}
	st := onboardingState{TeacherID: teacher.ID(), TeacherName: teacher.Name(), TeacherEmail: teacher.Email().String(),
		Subjects: teacher.Subjects(), ClassNames: map[string]string{}}

	classes, err := s.classes(ctx, school)
	if err != nil {
		return err
	}
	publish := in.Meta("publish")
	base, err := onboardingTimetableBefore(ctx, repo, school, commands.EventID(publish.CommandID, domain.NewTimetable(school).StreamID(), 0))
	if err != nil {
		return err
	}
	st.BaseVersion = base.CurrentVersion()
	input := scheduling.Input{
		Teacher: scheduling.Teacher{ID: teacher.ID(), Subjects: teacher.Subjects(),
			PreferredTimeSlots: teacher.PreferredTimeSlots(), MaxClassesPerDay: teacher.MaxClassesPerDay()},
		Existing:       base.Entries(),
		Days:           s.d.Settings.SchoolDays,
		PeriodsPerDay:  s.d.Settings.PeriodsPerDay,
		LessonsPerWeek: s.d.Settings.LessonsPerWeek,
	}
	for _, c := range classes {
		input.Classes = append(input.Classes, scheduling.Class{ID: c.class.ID(), Name: c.class.Name(), Subjects: c.class.Subjects()})
	}
	plan := scheduling.Plan(input)
	st.Explanation = plan.Explanation
	for _, l := range plan.Entries {
		st.Lessons = append(st.Lessons, onboardingLesson{ClassID: l.ClassID, Subject: l.Subject, Day: l.Slot.Day, Period: l.Slot.Period})
	}
	for _, d := range plan.Demand {
		st.ClassNames[d.ClassID] = d.ClassName
	}
	in.Record("timetable_planned", onboardingPlanned(teacher, classes, plan))
	if len(plan.Explanation) > 0 {
		in.Record("plan_explained", strings.Join(plan.Explanation, " "))
	}
	for _, u := range plan.Unfilled {
		st.Unfilled = append(st.Unfilled, onboardingUnfilled{ClassID: u.ClassID, ClassName: u.ClassName,
			Subject: u.Subject, Lessons: u.Lessons, Reason: u.Reason})
		in.Record("lesson_unfilled", u.Reason)
	}

	if len(plan.Entries) == 0 {
		st.NoLessons = onboardingNoLessons(teacher, classes, plan)
		in.Record("timetable_unchanged", "no lessons assigned: "+st.NoLessons)
	} else {
		entries := base.EntriesInput()
		for _, l := range plan.Entries {
			entries = append(entries, domain.TimetableEntryInput{ClassID: l.ClassID, Subject: string(l.Subject),
				TeacherID: l.TeacherID, Day: string(l.Slot.Day), Period: l.Slot.Period})
		}
		// The timetable is replaced whole: publishing on top of a version
		// other than the one planned against would drop its changes. A
		// concurrent publication is a version conflict, which the runtime
		// retries: the retry plans again on the new version.
		expected := uint64(base.CurrentVersion())
		publish.ExpectedVersion = &expected
		reason := clip(fmt.Sprintf("onboarding of %s: %s", teacher.Name(), plan.Summary), 500)
		res, err := commands.NewPublishTimetableHandler(repo).Handle(ctx, publish, commands.PublishTimetable{
			ChangeKind: string(domain.ChangeMinor), Reason: reason, Entries: entries})
		if err != nil {
			return failIfRefused(in, err, "timetable_published",
				fmt.Sprintf("timetable version %d with %s for %s was refused", base.CurrentVersion()+1,
					count(len(plan.Entries), "lesson"), teacher.Name()))
		}
		st.Version = int(res.Version)
		in.Issued("timetable_published", fmt.Sprintf("version %d: %s for %s (%s), %s in all",
			res.Version, count(len(plan.Entries), "lesson"), teacher.Name(), onboardingPlacedList(plan), count(len(entries), "lesson")), publish, res)
	}
	// Then assign the teacher to the class subjects that had none and
	// got lessons, so the classes record who teaches them. After the
	// publication, not before: a publication that conflicts (and is
	// retried on the new timetable, where those lessons may be another
	// teacher's) has assigned nothing. The class must still be at the
	// version planned with (AssignSubjectTeacher replaces a teacher): if
	// it changed meanwhile, the conflict is retried, and the retry plans
	// again with the class as it is now. A class subject already assigned
	// by this instance (a retry) is assigned again: the command is a
	// repeat and only records the step.
	byID := make(map[string]onboardingClass, len(classes))
	version := make(map[string]uint64, len(classes)) // each class's, as this step leaves it
	for _, c := range classes {
		byID[c.class.ID()], version[c.class.ID()] = c, c.class.Version()
	}
	for _, d := range plan.Demand {
		if d.Placed == 0 {
			continue
		}
		c := byID[d.ClassID]
		m := in.Meta("assign:" + d.ClassID + ":" + string(d.Subject))
		expected := version[d.ClassID]
		m.ExpectedVersion = &expected
		ours := hasEvent(c.recs, commands.EventID(m.CommandID, c.class.StreamID(), 0))
		if !d.Unassigned && !ours {
			continue // already the teacher's (assigned by someone else)
		}
		res, err := commands.NewAssignSubjectTeacherHandler(repo).Handle(ctx, m, commands.AssignSubjectTeacher{
			ClassID: d.ClassID, Subject: string(d.Subject), TeacherID: teacher.ID()})
		if err != nil {
			return failIfRefused(in, err, "subject_assigned",
				fmt.Sprintf("assigning %s to %s of %s was refused", teacher.Name(), d.Subject, d.ClassName))
		}
		version[d.ClassID] = max(version[d.ClassID], res.Version)
		label := d.ClassName + " " + string(d.Subject)
		st.Assigned = append(st.Assigned, label)
		in.Issued("subject_assigned", fmt.Sprintf("%s now teaches %s (%s a week, %d already in the timetable)",
			teacher.Name(), label, count(d.Placed, "lesson"), d.Existing), m, res)
	}

	if err := in.Save(st); err != nil {
		return err
	}
	return in.Schedule(onboardingWelcome, in.Now(), nil)
}

// Deadline is the second step: welcome the teacher, tell the office,
// record the onboarding, complete.
func (s *teacherOnboarding) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	if d.Name != onboardingWelcome {
		return nil
	}
	var st onboardingState
	if err := in.Load(&st); err != nil {
		return err
	}
	teacher, _, err := commands.Load(ctx, s.d.Repo, domain.NewTeacher(st.TeacherID))
	if err != nil {
		return err
	}
	if !teacher.Active() {
		// Their lessons stay in the timetable: taking them out is a
		// decision for the school (another teacher may take them over).
		lessons := "no lessons had been published for them"
		if st.Version > 0 {
			lessons = fmt.Sprintf("their %s in timetable version %d stay until the school changes the timetable",
				count(len(st.Lessons), "lesson"), st.Version)
		}
		in.Fail("teacher_checked", fmt.Sprintf("%s was deactivated before the welcome: no message sent; %s", st.TeacherName, lessons))
		return nil
	}
	week, err := s.publishedWeek(ctx, in.SchoolID(), st)
	if err != nil {
		return err
	}

	school, _, err := commands.Load(ctx, s.d.Repo, domain.NewSchool(in.SchoolID()))
	if err != nil {
		return err
	}
	subject, body := drafting.Welcome(onboardingWelcomeDraft(st, week, school, s.d.Settings))
	res, err := s.d.notify(ctx, in, "welcome", Notification{
		Recipients: recipients(domain.RecipientTeacher, st.TeacherID),
		Subject:    subject, Body: body,
		Category: string(domain.CategoryWelcome), RelatedTo: "teacher-" + st.TeacherID,
	}, "teacher_welcomed", fmt.Sprintf("welcome message sent to %s with %s", st.TeacherName, onboardingWeekSummary(week)))
	if err != nil {
		return failIfRefused(in, err, "teacher_welcomed", "the welcome message to "+st.TeacherName+" was refused")
	}
	st.WelcomeMessageID = res.ID

	subject, body = drafting.TeacherOnboarded(drafting.TeacherOnboarding{
		SchoolName: school.Name(), TeacherName: st.TeacherName, Subjects: st.Subjects, TimetableVersion: st.Version,
		LessonsPlaced: len(week), LessonsUnfilled: st.unfilledLessons(), Unfilled: st.unfilledReasons(),
		Explanation: st.Explanation,
	})
	unfilled := ""
	if n := st.unfilledLessons(); n > 0 {
		unfilled = fmt.Sprintf(", %s unfilled", count(n, "lesson"))
	}
	res, err = s.d.notify(ctx, in, "office", Notification{
		Recipients: []domain.RecipientInput{officeRecipient},
		Subject:    subject, Body: body,
		Category: string(domain.CategoryGeneral), RelatedTo: "teacher-" + st.TeacherID,
	}, "admins_notified", fmt.Sprintf("summary sent to the school's administrators: %s assigned%s", count(len(week), "lesson"), unfilled))
	if err != nil {
		return failIfRefused(in, err, "admins_notified", "the summary to the school's administrators was refused")
	}
	st.SummaryMessageID = res.ID

	m := in.Meta("onboarded")
	res, err = commands.NewCompleteTeacherOnboardingHandler(s.d.Repo).Handle(ctx, m, commands.CompleteTeacherOnboarding{
		TeacherID: st.TeacherID, TimetableVersion: st.Version, LessonsAssigned: len(week),
		LessonsUnfilled: st.unfilledLessons(), WelcomeMessageID: st.WelcomeMessageID,
	})
	if err != nil {
		return failIfRefused(in, err, "onboarding_recorded", "recording the onboarding of "+st.TeacherName+" was refused")
	}
	in.Issued("onboarding_recorded", "teacher.onboarded.v1 recorded for "+st.TeacherName, m, res)
	if err := in.Save(st); err != nil {
		return err
	}
	in.Complete(onboardingDone(st, week))
	return nil
}

// classes lists the school's classes (Directory) and loads each from the
// store, which is the truth about their subjects and teachers; classes
// the store does not hold for the school are left out.
func (s *teacherOnboarding) classes(ctx context.Context, school string) ([]onboardingClass, error) {
	list, err := s.d.Directory.Classes(ctx, school)
	if err != nil {
		return nil, fmt.Errorf("list the classes of school %s: %w", school, err)
	}
	var out []onboardingClass
	seen := map[string]bool{}
	for _, c := range list {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		class, recs, err := commands.Load(ctx, s.d.Repo, domain.NewClass(c.ID))
		if err != nil {
			return nil, err
		}
		if class.RequireInSchool(school) != nil {
			continue
		}
		out = append(out, onboardingClass{class: class, recs: recs})
	}
	slices.SortFunc(out, func(a, b onboardingClass) int {
		return cmp.Or(cmp.Compare(a.class.Name(), b.class.Name()), cmp.Compare(a.class.ID(), b.class.ID()))
	})
	return out, nil
}

// onboardingTimetableBefore is the school's timetable as it was before the event
// ours, or as it is when the store does not hold that event.
func onboardingTimetableBefore(ctx context.Context, repo *commands.Repository, school string, ours uuid.UUID) (*domain.Timetable, error) {
	tt, recs, err := commands.Load(ctx, repo, domain.NewTimetable(school))
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(recs, func(r eventstore.RecordedEvent) bool { return r.ID == ours })
	if i < 0 {
		return tt, nil
	}
	history := make([]domain.Event, 0, i)
	var version uint64
	for _, r := range recs[:i] {
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return nil, fmt.Errorf("stream %s version %d: %w", r.StreamID, r.Version, err)
		}
		history = append(history, e)
		version = r.Version
	}
	return domain.Rehydrate(domain.NewTimetable(school), history, version), nil
}

// publishedWeek is the teacher's lessons in the timetable version the
// instance published, as stored (none when it published none).
func (s *teacherOnboarding) publishedWeek(ctx context.Context, school string, st onboardingState) ([]domain.TimetableEntry, error) {
	if st.Version == 0 {
		return nil, nil
	}
	_, recs, err := commands.Load(ctx, s.d.Repo, domain.NewTimetable(school))
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Version != uint64(st.Version) {
			continue
		}
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return nil, fmt.Errorf("stream %s version %d: %w", r.StreamID, r.Version, err)
		}
		p, ok := e.(domain.TimetablePublished)
		if !ok {
			return nil, fmt.Errorf("stream %s version %d is a %s, not a publication", r.StreamID, r.Version, r.Type)
		}
		var week []domain.TimetableEntry
		for _, l := range p.Entries {
			if l.TeacherID == st.TeacherID {
				week = append(week, l)
			}
		}
		slices.SortFunc(week, func(a, b domain.TimetableEntry) int {
			return cmp.Or(domain.CompareSlots(a.Slot, b.Slot), cmp.Compare(a.ClassID, b.ClassID))
		})
		return week, nil
	}
	return nil, fmt.Errorf("timetable version %d of school %s is not in the store", st.Version, school)
}

func onboardingPlanned(t *domain.Teacher, classes []onboardingClass, plan scheduling.Result) string {
	if plan.Summary != "" {
		return fmt.Sprintf("%s (%s), over the school's %d classes: %s", t.Name(), onboardingSubjects(t.Subjects()), len(classes), plan.Summary)
	}
	return fmt.Sprintf("%s for %s over %d classes, %s unfilled", count(len(plan.Entries), "lesson"), t.Name(),
		len(classes), count(onboardingUnfilledCount(plan), "lesson"))
}

func onboardingUnfilledCount(plan scheduling.Result) int {
	n := 0
	for _, u := range plan.Unfilled {
		n += u.Lessons
	}
	return n
}

// onboardingNoLessons says why a plan placed nothing.
func onboardingNoLessons(t *domain.Teacher, classes []onboardingClass, plan scheduling.Result) string {
	subjects := onboardingSubjects(t.Subjects())
	switch {
	case len(classes) == 0:
		return "the school has no class yet"
	case len(plan.Demand) == 0:
		return fmt.Sprintf("no class is taught %s without another teacher", subjects)
	case len(plan.Unfilled) == 0:
		return fmt.Sprintf("every class taught %s without another teacher has its lessons in the timetable already", subjects)
	}
	reasons := make([]string, 0, len(plan.Unfilled))
	for _, u := range plan.Unfilled {
		reasons = append(reasons, u.Reason)
	}
	return strings.Join(reasons, "; ")
}

// onboardingPlacedList is "5A maths ×4, 5B physics ×2".
func onboardingPlacedList(plan scheduling.Result) string {
	var parts []string
	for _, d := range plan.Demand {
		if d.Placed > 0 {
			parts = append(parts, fmt.Sprintf("%s %s ×%d", d.ClassName, d.Subject, d.Placed))
		}
	}
	return strings.Join(parts, ", ")
}

func onboardingSubjects(subjects []domain.Subject) string {
	s := make([]string, len(subjects))
	for i, sub := range subjects {
		s[i] = string(sub)
	}
	return strings.Join(s, ", ")
}

func onboardingWeekSummary(week []domain.TimetableEntry) string {
	if len(week) == 0 {
		return "no lessons yet"
	}
	days := map[domain.Weekday]bool{}
	for _, l := range week {
		days[l.Slot.Day] = true
	}
	return fmt.Sprintf("a weekly schedule of %s on %d days", count(len(week), "lesson"), len(days))
}

// onboardingWelcomeDraft is what the welcome is drafted from.
func onboardingWelcomeDraft(st onboardingState, week []domain.TimetableEntry, school *domain.School, set Settings) drafting.TeacherWelcome {
	w := drafting.TeacherWelcome{SchoolName: school.Name(), TeacherName: st.TeacherName, Subjects: st.Subjects,
		Days: set.SchoolDays, Unfilled: st.unfilledReasons(),
		Periods: drafting.Periods{DayStart: set.DayStart, PeriodLength: set.PeriodLength, Timezone: school.Timezone()}}
	for _, l := range week {
		w.Lessons = append(w.Lessons, drafting.Lesson{Day: l.Slot.Day, Period: l.Slot.Period,
			ClassName: st.className(l.ClassID), Subject: l.Subject})
	}
	return w
}

func onboardingDone(st onboardingState, week []domain.TimetableEntry) string {
	if len(week) == 0 {
		return fmt.Sprintf("%s onboarded without lessons (%s); welcome sent, administrators informed", st.TeacherName, st.NoLessons)
	}
	unfilled := ""
	if n := st.unfilledLessons(); n > 0 {
		unfilled = fmt.Sprintf(", %s unfilled", count(n, "lesson"))
	}
	return fmt.Sprintf("%s onboarded: %s a week in timetable version %d%s; welcome sent, administrators informed",
		st.TeacherName, count(len(week), "lesson"), st.Version, unfilled)
}
