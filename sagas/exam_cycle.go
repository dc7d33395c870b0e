package sagas

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// exam_cycle_complete: an exam cycle is scheduled → its roster (the
// students of its classes × its subjects) is what must be recorded →
// each recording updates what is missing; once nothing is, the results
// are published → at the end date + Settings.ExamResultsGrace, results
// still missing get a reminder to the teachers of the class subjects
// concerned, naming the students, repeated every examReminderInterval up
// to examMaxReminders times; then the workflow waits for an administrator
// to publish → on publication (by the workflow or by hand) every guardian
// of a student with results is told the report card is ready, once per
// exam → the results are analysed (exam.results_analyzed.v1 on the
// performance channel) → completed.
//
// The roster is read from the class streams each time it matters, so a
// student who joins a class during the cycle is expected too, and one who
// leaves is not waited for. What is recorded is read from the exam's
// stream, the truth, not counted from the events seen.

const examCycleName = "exam_cycle_complete"

const (
	deadlineExamResultsDue = "results_due"
	// examReminderInterval is the time between two reminders.
	examReminderInterval = 48 * time.Hour
	// examMaxReminders is how many reminders are sent before the workflow
	// leaves the publication to an administrator.
	examMaxReminders = 3
)

type examCycle struct{ d Deps }

// NewExamCycle returns the exam_cycle_complete workflow.
func NewExamCycle(d Deps) Saga { return examCycle{d: d} }

func (examCycle) Name() string { return examCycleName }

func (examCycle) Channels() []domain.Channel { return []domain.Channel{domain.ChannelPerformance} }

func (examCycle) Correlate(t Trigger) (Route, bool) {
	switch e := t.Event.(type) {
	case domain.ExamScheduled:
		return Route{ID: e.ExamID, Start: true}, true
	case domain.ExamResultsRecorded:
		return Route{ID: e.ExamID}, true
	case domain.ExamResultsPublished:
		return Route{ID: e.ExamID}, true
	}
	return Route{}, false
}

// examState is the workflow's own state (shown in its status).
type examState struct {
	ExamID     string    `json:"examId"`
	Name       string    `json:"name"`
	Term       string    `json:"term"`
	Subjects   []string  `json:"subjects"`
	ClassIDs   []string  `json:"classIds"`
	EndDate    string    `json:"endDate"`
	Timezone   string    `json:"timezone"`
	SchoolName string    `json:"schoolName,omitempty"`
	DueAt      time.Time `json:"resultsDueAt"`
	// Progress, as of the last look at the store.
	Students int              `json:"students"` // on the rosters
	Expected int              `json:"expected"` // students × subjects
	Recorded int              `json:"recorded"` // of those, with a result
	Missing  []missingResults `json:"missing,omitempty"`
	// Reminders sent; Waiting once they are used up and an administrator
	// is to publish.
	Reminders int  `json:"reminders,omitempty"`
	Waiting   bool `json:"waitingForAdmin,omitempty"`
	Published bool `json:"publishIssued,omitempty"`
}

// missingResults are the students of a class without a result in one of
// the cycle's subjects, and who teaches it ("" when nobody).
type missingResults struct {
	ClassID    string   `json:"classId"`
	ClassName  string   `json:"className"`
	Subject    string   `json:"subject"`
	TeacherID  string   `json:"teacherId,omitempty"`
	StudentIDs []string `json:"studentIds"`
}

func (m missingResults) String() string {
	return fmt.Sprintf("%s %s (%d)", m.ClassName, m.Subject, len(m.StudentIDs))
}

func (st examState) missingCount() int {
	n := 0
	for _, m := range st.Missing {
		n += len(m.StudentIDs)
	}
	return n
}

func (st examState) complete() bool { return st.Expected > 0 && st.missingCount() == 0 }

func (st examState) progress() string {
	s := fmt.Sprintf("%d of %d results recorded (%d students × %d subjects)", st.Recorded, st.Expected, st.Students, len(st.Subjects))
	if len(st.Missing) > 0 {
		parts := make([]string, len(st.Missing))
		for i, m := range st.Missing {
			parts[i] = m.String()
		}
		s += "; missing: " + strings.Join(parts, ", ")
	}
	return s
}

func (w examCycle) Handle(ctx context.Context, in *Instance, t Trigger) error {
	var st examState
	if err := in.Load(&st); err != nil {
		return err
	}
	switch e := t.Event.(type) {
	case domain.ExamScheduled:
		return w.scheduled(ctx, in, &st, e)
	case domain.ExamResultsRecorded:
		if st.Published {
			return nil
		}
		x, err := w.loadExam(ctx, st.ExamID)
		if err != nil || x.Published() {
			return err // published: its event follows
		}
		if err := w.refresh(ctx, in, &st, x); err != nil {
			return err
		}
		in.Record("results_recorded", fmt.Sprintf("%d results recorded by %s: %s", len(e.Results), e.RecordedBy, st.progress()))
		if st.complete() {
			return w.publish(ctx, in, &st, "every student on the roster has a result in every subject")
		}
		return in.Save(&st)
	case domain.ExamResultsPublished:
		return w.published(ctx, in, &st, e)
	}
	return nil
}

func (w examCycle) scheduled(ctx context.Context, in *Instance, st *examState, e domain.ExamScheduled) error {
	in.SetSchool(e.SchoolID)
	*st = examState{ExamID: e.ExamID, Name: e.Name, Term: e.Term, Subjects: ecSubjects(e.Subjects), ClassIDs: e.ClassIDs,
		EndDate: e.EndDate.String()}
	school, err := w3LoadSchool(ctx, w.d.Repo, e.SchoolID)
	if err != nil {
		return err
	}
	loc, tz := school.loc, school.tz
	st.Timezone, st.SchoolName = tz, school.name
	// Results are due at the end of the end date, school-local, plus the
	// grace period.
	y, m, d := e.EndDate.AddDays(1).Time().Date()
	st.DueAt = time.Date(y, m, d, 0, 0, 0, 0, loc).Add(w.d.Settings.ExamResultsGrace).UTC()
	x, err := w.loadExam(ctx, e.ExamID)
	if err != nil {
		return err
	}
	if err := w.refresh(ctx, in, st, x); err != nil {
		return err
	}
	in.Record("roster", fmt.Sprintf("%d students in %d classes × %d subjects (%s): %d results expected by %s (%s)",
		st.Students, len(st.ClassIDs), len(st.Subjects), strings.Join(st.Subjects, ", "), st.Expected,
		st.DueAt.In(loc).Format(time.RFC3339), tz))
	if err := in.Schedule(deadlineExamResultsDue, st.DueAt, nil); err != nil {
		return err
	}
	if st.complete() && !x.Published() { // results recorded before this ran
		return w.publish(ctx, in, st, "every student on the roster has a result in every subject")
	}
	return in.Save(st)
}

// publish issues PublishExamResults; the publication event moves on.
func (w examCycle) publish(ctx context.Context, in *Instance, st *examState, why string) error {
	m := in.Meta("publish")
	res, err := commands.NewPublishExamResultsHandler(w.d.Repo).Handle(ctx, m, commands.PublishExamResults{ExamID: st.ExamID})
	if errors.Is(err, domain.ErrExamPublished) {
		// Published by hand meanwhile: its event moves on.
		st.Published = true
		in.Record("results_published", "already published by someone else")
		return in.Save(st)
	}
	if err != nil {
		return err
	}
	st.Published = true
	in.Cancel(deadlineExamResultsDue)
	in.Issued("results_published", fmt.Sprintf("%s (%d results of %d students): grades final, report cards published",
		why, st.Recorded, st.Students), m, res)
	return in.Save(st)
}

func (w examCycle) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	var st examState
	if err := in.Load(&st); err != nil {
		return err
	}
	x, err := w.loadExam(ctx, st.ExamID)
	if err != nil {
		return err
	}
	if st.Published || x.Published() {
		in.Record("reminder_skipped", "the results are published")
		return nil
	}
	if err := w.refresh(ctx, in, &st, x); err != nil {
		return err
	}
	if st.complete() {
		return w.publish(ctx, in, &st, "every result is recorded by the deadline")
	}
	if st.Expected == 0 {
		st.Waiting = true
		in.Record("waiting_for_admin", "no student is on the rosters of the exam's classes: nothing to remind anyone of; an administrator may publish")
		return in.Save(&st)
	}
	st.Reminders++
	if err := w.remind(ctx, in, &st); err != nil {
		return err
	}
	if st.Reminders < examMaxReminders {
		next := in.Now().Add(examReminderInterval)
		if err := in.Schedule(deadlineExamResultsDue, next, nil); err != nil {
			return err
		}
		in.Record("reminded", fmt.Sprintf("reminder %d of %d sent: %s; next check %s",
			st.Reminders, examMaxReminders, st.progress(), next.Format(time.RFC3339)))
		return in.Save(&st)
	}
	// The last reminder: the administrators decide now.
	if _, err := w.d.notify(ctx, in, "notify-office", ecExhaustedMessage(st), "waiting_for_admin",
		fmt.Sprintf("reminder %d of %d sent and %d results still missing: the school's administrators are asked to publish when ready (%s)",
			st.Reminders, examMaxReminders, st.missingCount(), st.progress())); err != nil {
		return err
	}
	st.Waiting = true
	return in.Save(&st)
}

// remind sends each teacher of a class subject with missing results one
// message naming the students; class subjects nobody teaches go to the
// school's administrators.
func (w examCycle) remind(ctx context.Context, in *Instance, st *examState) error {
	byTeacher := map[string][]missingResults{}
	for _, m := range st.Missing {
		byTeacher[m.TeacherID] = append(byTeacher[m.TeacherID], m)
	}
	names := map[string]string{}
	for _, m := range st.Missing {
		for _, id := range m.StudentIDs {
			if _, ok := names[id]; ok {
				continue
			}
			s, _, err := commands.Load(ctx, w.d.Repo, domain.NewStudent(id))
			if err != nil {
				return err
			}
			names[id] = cmp.Or(s.Name(), id)
		}
	}
	for _, teacher := range slices.Sorted(maps.Keys(byTeacher)) {
		recipient, name := officeRecipient, "school office"
		if teacher != "" {
			t, _, err := commands.Load(ctx, w.d.Repo, domain.NewTeacher(teacher))
			if err != nil {
				return err
			}
			recipient, name = domain.RecipientInput{Kind: string(domain.RecipientTeacher), ID: teacher}, t.Name()
		}
		var what []string
		n := 0
		for _, mr := range byTeacher[teacher] {
			what = append(what, mr.String())
			n += len(mr.StudentIDs)
		}
		who := "teacher " + teacher
		if teacher == "" {
			who = "the administrators (nobody teaches it)"
		}
		if _, err := w.d.notify(ctx, in, "reminder:"+recipient.Kind+":"+recipient.ID,
			ecReminderMessage(*st, recipient, name, byTeacher[teacher], names),
			"reminder_sent", fmt.Sprintf("%s reminded of %d missing results: %s", who, n, strings.Join(what, ", "))); err != nil {
			return err
		}
	}
	return nil
}

// published tells the guardians, has the results analysed and completes.
func (w examCycle) published(ctx context.Context, in *Instance, st *examState, e domain.ExamResultsPublished) error {
	in.Cancel(deadlineExamResultsDue)
	st.Published = true
	x, err := w.loadExam(ctx, st.ExamID)
	if err != nil {
		return err
	}
	// Each guardian once, naming each of their children with results.
	byStudent := map[string][]domain.ExamResult{}
	for _, r := range x.Results() {
		byStudent[r.StudentID] = append(byStudent[r.StudentID], r)
	}
	children := map[string][]reportCardChild{}
	guardianNames := map[string]string{}
	var orphans []string
	for _, id := range slices.Sorted(maps.Keys(byStudent)) {
		s, _, err := commands.Load(ctx, w.d.Repo, domain.NewStudent(id))
		if err != nil {
			return err
		}
		gs := s.Guardians()
		if len(gs) == 0 {
			orphans = append(orphans, id)
		}
		for _, g := range gs {
			guardianNames[g.GuardianID] = g.Name
			children[g.GuardianID] = append(children[g.GuardianID], reportCardChild{StudentID: id, Name: cmp.Or(s.Name(), id), Results: byStudent[id]})
		}
	}
	// A guardian the notifier refuses for good (a domain error) is
	// skipped and named: one bad recipient must not hold back every
	// other report card and the analysis.
	guardians := slices.Sorted(maps.Keys(children))
	var refused []string
	for _, g := range guardians {
		m := in.Meta("report-card:" + g)
		if _, err := w.d.Notifier.Notify(ctx, m, ecReportCardMessage(*st, g, guardianNames[g], children[g])); err != nil {
			if domain.KindOf(err) == 0 {
				return err
			}
			refused = append(refused, fmt.Sprintf("%s (%v)", g, err))
		}
	}
	reason := fmt.Sprintf("report cards of %d students sent to %d guardians", len(byStudent), len(guardians)-len(refused))
	if len(refused) > 0 {
		reason += fmt.Sprintf("; refused for %d: %s", len(refused), strings.Join(refused, "; "))
	}
	if len(orphans) > 0 {
		reason += fmt.Sprintf("; %d students have no guardian to tell (%s)", len(orphans), strings.Join(orphans, ", "))
	}
	in.Record("guardians_notified", reason)

	m := in.Meta("analyze")
	res, err := commands.NewAnalyzeExamResultsHandler(w.d.Repo).Handle(ctx, m, commands.AnalyzeExamResults{ExamID: st.ExamID})
	if errors.Is(err, domain.ErrExamAnalyzed) {
		// Analysed by someone else first: the event is there.
		in.Record("results_analyzed", "the results were already analysed")
		in.Complete(fmt.Sprintf("results published by %s (%d results of %d students); %s; analysis already recorded",
			e.PublishedBy, e.ResultCount, e.StudentCount, reason))
		return in.Save(st)
	}
	if err != nil {
		if domain.KindOf(err) != 0 {
			in.Fail("analysis_failed", fmt.Sprintf("results published and %s, but the analysis was refused: %v", reason, err))
			return in.Save(st)
		}
		return err
	}
	summary, err := w.analysis(ctx, st.ExamID)
	if err != nil {
		return err
	}
	in.Issued("results_analyzed", "exam.results_analyzed.v1 on the performance channel: "+summary, m, res)
	in.Complete(fmt.Sprintf("results published by %s (%d results of %d students); %s; analysis recorded",
		e.PublishedBy, e.ResultCount, e.StudentCount, reason))
	return in.Save(st)
}

// analysis summarises the cycle's exam.results_analyzed.v1 event.
func (w examCycle) analysis(ctx context.Context, id string) (string, error) {
	_, recs, err := commands.Load(ctx, w.d.Repo, domain.NewExamCycle(id))
	if err != nil {
		return "", err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type != domain.ExamResultsAnalyzedType {
			continue
		}
		var a domain.ExamResultsAnalyzed
		if err := json.Unmarshal(recs[i].Data, &a); err != nil {
			return "", fmt.Errorf("exam %s: %s: %w", id, recs[i].Type, err)
		}
		var parts []string
		for _, sub := range a.Subjects {
			parts = append(parts, fmt.Sprintf("%s mean %s, median %s, pass rate %s%% (%d students)", sub.Subject,
				ecFigure(sub.Mean), ecFigure(sub.Median), ecFigure(sub.PassRate*100), sub.Students))
		}
		return strings.Join(parts, "; "), nil
	}
	return "recorded", nil
}

// ecFigure is a figure with at most two decimals.
func ecFigure(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func (w examCycle) loadExam(ctx context.Context, id string) (*domain.ExamCycle, error) {
	x, _, err := commands.Load(ctx, w.d.Repo, domain.NewExamCycle(id))
	return x, err
}

// refresh recounts the roster and what is missing from the class and
// exam streams.
func (w examCycle) refresh(ctx context.Context, in *Instance, st *examState, x *domain.ExamCycle) error {
	have := map[[2]string]bool{}
	for _, r := range x.Results() {
		have[[2]string{r.StudentID, string(r.Subject)}] = true
	}
	st.Students, st.Expected, st.Recorded, st.Missing = 0, 0, 0, nil
	seen := map[string]bool{}
	for _, id := range x.ClassIDs() {
		c, _, err := commands.Load(ctx, w.d.Repo, domain.NewClass(id))
		if err != nil {
			return err
		}
		if c.RequireInSchool(in.SchoolID()) != nil {
			continue // not a class of the school (cannot happen: checked when scheduled)
		}
		var roster []string
		for _, s := range c.Roster() {
			if !seen[s] {
				seen[s] = true
				roster = append(roster, s)
			}
		}
		slices.Sort(roster)
		st.Students += len(roster)
		for _, sub := range x.Subjects() {
			teacher, _ := c.SubjectTeacher(sub)
			mr := missingResults{ClassID: id, ClassName: cmp.Or(c.Name(), id), Subject: string(sub), TeacherID: teacher}
			for _, s := range roster {
				st.Expected++
				if have[[2]string{s, string(sub)}] {
					st.Recorded++
				} else {
					mr.StudentIDs = append(mr.StudentIDs, s)
				}
			}
			if len(mr.StudentIDs) > 0 {
				st.Missing = append(st.Missing, mr)
			}
		}
	}
	return nil
}

func ecSubjects(in []domain.Subject) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
