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
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
	"github.com/edusmarthub/edusmarthub/sagas/risk"
)

// InterventionWorkflowSaga names the ai_intervention_workflow.
const InterventionWorkflowSaga = "ai_intervention_workflow"

// Deadline and limits of the intervention workflow.
const (
	// ivFollowUp is the deadline set at the end of the follow-up due date.
	ivFollowUp = "follow_up"
	// ivMaxEscalations bounds the notices to the administrators in a row
	// without a follow-up: the first escalates the intervention (the
	// domain escalates one once), each further period that passes
	// without a follow-up reminds them, up to this many notices.
	ivMaxEscalations = 3
)

// ivActor is the actor of the commands the workflow issues.
const ivActor = "saga:" + InterventionWorkflowSaga

// NewInterventionWorkflow returns the ai_intervention_workflow: a support
// plan for a student the risk analysis found at high risk, followed up
// until the risk comes down or someone closes it. At most one runs per
// student (key "student-<id>").
//
// Started by a high risk.assessed.v1 when the student has no unfinished
// workflow (a running one records the assessment instead):
//
//  1. an intervention is opened (OpenIntervention, risk level high) with a
//     plan of one item per factor that added to the score, each naming its
//     factor, assigned to the class teacher: the teacher, in the student's
//     class, of the subject whose grades weigh most in the assessment (the
//     grade factors' subjects, recomputed from the performance record the
//     assessment read), else the first teacher of the class; with no
//     teacher to assign, the school's administrators are told and the
//     workflow fails saying so;
//  2. the teacher gets the plan, the guardians are informed;
//  3. deadline "follow_up" at the end (UTC) of the follow-up date, which is
//     Settings.InterventionFollowUp after opening:
//     - intervention.follow_up_recorded.v1 moves it to the end of the
//     follow-up's next date, or one period on when it gives none (an open
//     intervention is looked at at least once a period: close it to stop);
//     - when it fires with no follow-up the intervention is escalated
//     (EscalateIntervention) and the administrators told (recipient admin
//     "office"); the deadline is set one period on, and each period that
//     passes without a follow-up reminds them (the domain escalates an
//     intervention once), at most ivMaxEscalations notices in a row;
//  4. it ends when a later risk.assessed.v1 of the student is low: the
//     intervention is closed as resolved with a note citing the
//     assessment, the teacher and guardians are told (a medium one brings
//     the risk down but not out: recorded, the intervention stays open);
//     or when someone closes the intervention (intervention.closed.v1):
//     completed with their outcome and note.
//
// Interventions opened by hand (intervention.opened.v1 not opened by this
// workflow) are adopted when the student has no running workflow: the
// workflow sets the follow-up deadline at the end of their follow-up date
// and escalates them the same way, but it never closes them (a person
// opened it, a person closes it): a low risk is told to the assigned
// teacher. The notifications of opening are theirs to send. While a
// workflow runs, another intervention of the student is recorded and left
// alone.
//
// Instances are found by key alone (Route{Key: "student-<id>"}): the
// runtime hands an event to the student's running workflow when there is
// one, and only otherwise starts one, named by the starting event (its
// business ID is that risk.assessed.v1 or intervention.opened.v1 event's
// ID). The intervention's ID derives from the opening command's ID, so
// from that event: a redelivery opens nothing twice.
func NewInterventionWorkflow(d Deps) Saga { return &interventionWorkflow{d: d} }

type interventionWorkflow struct{ d Deps }

// Origins of a followed intervention. Stored: append-only.
const (
	ivOriginRisk   = "risk"    // opened by this workflow on a high risk
	ivOriginByHand = "by_hand" // opened by a person, adopted
)

// ivState is the instance's data, shown in its status.
type ivState struct {
	StudentID      string      `json:"studentId"`
	InterventionID string      `json:"interventionId"`
	Origin         string      `json:"origin"`
	RiskEventID    string      `json:"riskEventId,omitempty"`
	RiskScore      float64     `json:"riskScore,omitempty"`
	AssignedTo     string      `json:"assignedTo"`
	Plan           []string    `json:"plan"`
	FollowUpDue    domain.Date `json:"followUpDue"`
	OpenedOn       domain.Date `json:"openedOn,omitzero"`
	Escalations    int         `json:"escalations"` // notices to the administrators in a row, since the last follow-up
	FollowUps      int         `json:"followUps"`
	// LastFollowUp is the stream version of the latest follow-up seen
	// (through its event or read when the deadline fired).
	LastFollowUp uint64  `json:"lastFollowUpVersion,omitempty"`
	LatestRisk   *ivRisk `json:"latestRisk,omitempty"`
}

type ivRisk struct {
	EventID string    `json:"eventId"`
	Level   string    `json:"level"`
	Score   float64   `json:"score"`
	At      time.Time `json:"at"`
}

func (*interventionWorkflow) Name() string { return InterventionWorkflowSaga }

func (*interventionWorkflow) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelAIServices}
}

func ivKey(studentID string) string { return "student-" + studentID }

func (*interventionWorkflow) Correlate(t Trigger) (Route, bool) {
	switch e := t.Event.(type) {
	case domain.RiskAssessed:
		// Started by key alone: the runtime looks for the student's
		// running workflow first and starts one (named by this event)
		// only when there is none.
		return Route{Key: ivKey(e.StudentID), Start: e.Level == domain.RiskHigh}, e.StudentID != ""
	case domain.InterventionOpened:
		if e.OpenedBy == ivActor {
			return Route{}, false // its own: known since it opened it
		}
		return Route{Key: ivKey(e.StudentID), Start: true}, e.StudentID != ""
	case domain.InterventionFollowUpRecorded:
		return Route{Key: ivKey(e.StudentID)}, e.StudentID != ""
	case domain.InterventionClosed:
		return Route{Key: ivKey(e.StudentID)}, e.StudentID != ""
	}
	return Route{}, false
}

func (w *interventionWorkflow) Handle(ctx context.Context, in *Instance, t Trigger) error {
	var st ivState
	if err := in.Load(&st); err != nil {
		return err
	}
	var err error
	switch e := t.Event.(type) {
	case domain.RiskAssessed:
		if in.New() {
			err = w.open(ctx, in, &st, t, e)
		} else {
			err = w.laterRisk(ctx, in, &st, t, e)
		}
	case domain.InterventionOpened:
		if in.New() {
			err = w.adopt(in, &st, e)
		} else {
			in.Record("other_intervention", fmt.Sprintf("intervention %s was opened by %s for the student; this workflow keeps following intervention %s",
				e.InterventionID, e.OpenedBy, st.InterventionID))
		}
	case domain.InterventionFollowUpRecorded:
		err = w.followedUp(in, &st, t, e)
	case domain.InterventionClosed:
		if e.InterventionID != st.InterventionID {
			in.Record("other_intervention", fmt.Sprintf("intervention %s (not this workflow's %s) was closed by %s",
				e.InterventionID, st.InterventionID, e.ClosedBy))
			break
		}
		reason := fmt.Sprintf("intervention closed by %s as %s", e.ClosedBy, e.Outcome)
		if e.Note != "" {
			reason += ": " + e.Note
		}
		in.Complete(reason)
	}
	if err != nil {
		return err
	}
	return in.Save(st)
}

// open starts the workflow on a high risk.
func (w *interventionWorkflow) open(ctx context.Context, in *Instance, st *ivState, t Trigger, e domain.RiskAssessed) error {
	in.SetSchool(cmp.Or(e.SchoolID, t.Metadata.SchoolID))
	st.StudentID, st.Origin, st.RiskEventID, st.RiskScore = e.StudentID, ivOriginRisk, t.ID.String(), e.Score
	st.LatestRisk = &ivRisk{EventID: t.ID.String(), Level: string(e.Level), Score: e.Score, At: e.At}

	student, err := loadActiveStudent(ctx, w.d.Repo, in, e.StudentID, "no intervention")
	if err != nil || student == nil {
		return err
	}
	class, err := loadClassOf(ctx, w.d.Repo, student)
	if err != nil {
		return err
	}
	subjects, err := w.concernSubjects(ctx, e)
	if err != nil {
		return err
	}
	teacher, why := ivClassTeacher(class, subjects)
	if teacher == "" {
		reason := fmt.Sprintf("no teacher to assign the intervention for %s to: %s", studentLabel(student), why)
		school, _, err := spNames(ctx, w.d.Repo, in.SchoolID(), "")
		if err != nil {
			return err
		}
		subject, body := ivNoTeacherNotice(ivNamesOf(school, student, class, ""), e, why)
		if _, err := w.d.notify(ctx, in, "notify_office_no_teacher", Notification{
			Recipients: []domain.RecipientInput{officeRecipient}, Subject: subject, Body: body,
			Category: string(domain.CategoryIntervention), RelatedTo: "student-" + e.StudentID,
		}, "office_notified", "told the school's administrators that no teacher can be assigned"); err != nil {
			return err
		}
		in.Fail("no_teacher", reason)
		return nil
	}

	// Due one period after the assessment (not after this handling, so a
	// retry computes the same date).
	due := domain.DateOf(e.At.Add(w.period()))
	plan := ivPlan(e.Factors)
	m := in.Meta("open_intervention")
	id := commands.NewID(m, "intervention")
	res, err := commands.NewOpenInterventionHandler(w.d.Repo).Handle(ctx, m, commands.OpenIntervention{
		InterventionID: id,
		StudentID:      e.StudentID,
		Reason:         ivReason(e),
		Plan:           plan,
		AssignedTo:     teacher,
		FollowUpDue:    due.String(),
		RiskLevel:      string(domain.RiskHigh),
	})
	if err != nil {
		return fmt.Errorf("open an intervention for student %s: %w", e.StudentID, err)
	}
	st.InterventionID, st.AssignedTo, st.Plan, st.FollowUpDue = id, teacher, plan, due
	in.Issued("intervention_opened", fmt.Sprintf("intervention %s opened with %s, assigned to teacher %s (%s), follow-up due by %s",
		id, count(len(plan), "plan item"), teacher, why, due), m, res)

	st.OpenedOn = domain.DateOf(in.Now())
	school, teacherName, err := spNames(ctx, w.d.Repo, in.SchoolID(), teacher)
	if err != nil {
		return err
	}
	names := ivNamesOf(school, student, class, teacherName)
	subject, body := drafting.InterventionOpened(ivOpened(names, ivReason(e), plan, due))
	if _, err := w.d.notify(ctx, in, "notify_teacher", Notification{
		Recipients: recipients(domain.RecipientTeacher, teacher), Subject: subject, Body: body,
		Category: string(domain.CategoryIntervention), RelatedTo: "student-" + e.StudentID,
	}, "teacher_notified", fmt.Sprintf("sent the plan to teacher %s", teacher)); err != nil {
		return err
	}

	if guardians := student.GuardianIDs(); len(guardians) > 0 {
		subject, body := drafting.InterventionOpenedGuardians(ivOpened(names, "", ivGuardianPlan(plan), due))
		if _, err := w.d.notify(ctx, in, "notify_guardians", Notification{
			Recipients: recipients(domain.RecipientGuardian, guardians...), Subject: subject, Body: body,
			Category: string(domain.CategoryIntervention), RelatedTo: "student-" + e.StudentID,
		}, "guardians_informed", fmt.Sprintf("informed %s of the intervention", count(len(guardians), "guardian"))); err != nil {
			return err
		}
	}
	return w.await(in, st, due, "")
}

// adopt starts following an intervention opened by hand.
func (w *interventionWorkflow) adopt(in *Instance, st *ivState, e domain.InterventionOpened) error {
	in.SetSchool(e.SchoolID)
	st.StudentID, st.InterventionID, st.Origin = e.StudentID, e.InterventionID, ivOriginByHand
	st.AssignedTo, st.Plan, st.FollowUpDue, st.OpenedOn = e.AssignedTo, e.Plan, e.FollowUpDue, domain.DateOf(e.At)
	in.Record("adopted", fmt.Sprintf("intervention %s was opened by %s and assigned to teacher %s; this workflow follows it up",
		e.InterventionID, e.OpenedBy, e.AssignedTo))
	due := e.FollowUpDue
	if due.IsZero() {
		due = domain.DateOf(in.Now().Add(w.period()))
	}
	return w.await(in, st, due, "")
}

// await sets the follow-up deadline at the end of due.
func (w *interventionWorkflow) await(in *Instance, st *ivState, due domain.Date, why string) error {
	st.FollowUpDue = due
	at := ivEndOf(due)
	if err := in.Schedule(ivFollowUp, at, nil); err != nil {
		return err
	}
	reason := fmt.Sprintf("waiting for a follow-up of intervention %s by %s; escalated to the school's administrators if none is recorded by %s",
		st.InterventionID, due, at.Format(time.RFC3339))
	if why != "" {
		reason = why + "; " + reason
	}
	in.Record("waiting_follow_up", reason)
	return nil
}

// followedUp moves the deadline on after a follow-up.
func (w *interventionWorkflow) followedUp(in *Instance, st *ivState, t Trigger, e domain.InterventionFollowUpRecorded) error {
	switch {
	case e.InterventionID != st.InterventionID:
		in.Record("other_intervention", fmt.Sprintf("a follow-up of intervention %s (not this workflow's %s) was recorded",
			e.InterventionID, st.InterventionID))
		return nil
	case t.Version <= st.LastFollowUp:
		in.Record("follow_up_seen", fmt.Sprintf("the follow-up recorded by %s was already taken into account when the deadline was checked", e.RecordedBy))
		return nil
	}
	st.LastFollowUp, st.FollowUps, st.Escalations = t.Version, st.FollowUps+1, 0
	next, how := w.nextDue(in, e.NextFollowUpDue)
	return w.await(in, st, next, fmt.Sprintf("follow-up recorded by %s on %s; %s", e.RecordedBy, domain.DateOf(e.At), how))
}

// nextDue is a follow-up's next date, or one period from now when it
// names none (or one already past).
func (w *interventionWorkflow) nextDue(in *Instance, next domain.Date) (domain.Date, string) {
	if !next.IsZero() && !ivEndOf(next).Before(in.Now()) {
		return next, "next follow-up due by " + next.String()
	}
	d := domain.DateOf(in.Now().Add(w.period()))
	return d, fmt.Sprintf("no next date given: the next follow-up is due one period (%s) on, by %s", ivPeriodWords(w.period()), d)
}

// laterRisk handles a risk assessment of the student while the workflow
// runs.
func (w *interventionWorkflow) laterRisk(ctx context.Context, in *Instance, st *ivState, t Trigger, e domain.RiskAssessed) error {
	previous := st.LatestRisk
	st.LatestRisk = &ivRisk{EventID: t.ID.String(), Level: string(e.Level), Score: e.Score, At: e.At}
	on := domain.DateOf(e.At)
	switch e.Level {
	case domain.RiskHigh:
		in.Record("risk_still_high", fmt.Sprintf("risk assessed high again (%.2f) on %s; the intervention continues, follow-up due by %s",
			e.Score, on, st.FollowUpDue))
		return nil
	case domain.RiskMedium:
		in.Record("risk_medium", fmt.Sprintf("risk assessed medium (%.2f) on %s: lower, but not low; the intervention stays open", e.Score, on))
		return nil
	}
	// Low: the risk came down.
	note := fmt.Sprintf("Risk assessed low (%.2f) on %s (risk event %s", e.Score, on, t.ID)
	if e.Basis.AssessmentID != "" {
		note += ", after assessment " + e.Basis.AssessmentID
	}
	note += "): " + ivFactorDigest(e.Factors)
	note = clip(note, 2000)
	if st.Origin == ivOriginByHand {
		if previous != nil && previous.Level == string(domain.RiskLow) {
			in.Record("risk_still_low", fmt.Sprintf("risk assessed low again (%.2f) on %s; teacher %s was told already", e.Score, on, st.AssignedTo))
			return nil
		}
		names, _, err := w.names(ctx, in.SchoolID(), st.StudentID, st.AssignedTo)
		if err != nil {
			return err
		}
		subject, body := ivRiskDownForOwner(names, note)
		_, err = w.d.notify(ctx, in, "notify_teacher_risk_low", Notification{
			Recipients: recipients(domain.RecipientTeacher, st.AssignedTo), Subject: subject, Body: body,
			Category: string(domain.CategoryIntervention), RelatedTo: "student-" + st.StudentID,
		}, "risk_low_told", fmt.Sprintf("risk assessed low (%.2f) on %s; intervention %s was opened by hand, so teacher %s decides whether to close it",
			e.Score, on, st.InterventionID, st.AssignedTo))
		return err
	}
	m := in.Meta("close_intervention")
	res, err := commands.NewCloseInterventionHandler(w.d.Repo).Handle(ctx, m, commands.CloseIntervention{
		InterventionID: st.InterventionID, Outcome: string(domain.OutcomeResolved), Note: note,
	})
	switch {
	case errors.Is(err, domain.ErrInterventionClosed):
		in.Complete(fmt.Sprintf("risk assessed low (%.2f) on %s; intervention %s was already closed", e.Score, on, st.InterventionID))
		return nil
	case err != nil:
		return fmt.Errorf("close intervention %s: %w", st.InterventionID, err)
	}
	in.Issued("intervention_closed", fmt.Sprintf("intervention %s closed as resolved: risk assessed low (%.2f) on %s", st.InterventionID, e.Score, on), m, res)

	names, student, err := w.names(ctx, in.SchoolID(), st.StudentID, st.AssignedTo)
	if err != nil {
		return err
	}
	closure := drafting.InterventionClosure{SchoolName: names.School, StudentName: names.Student, ClassName: names.Class,
		TeacherName: names.Teacher, Outcome: domain.OutcomeResolved, Note: note,
		Reason: fmt.Sprintf("a later assessment brought the risk down to low (%.2f) on %s", e.Score, on)}
	subject, body := drafting.InterventionClosed(closure)
	if _, err := w.d.notify(ctx, in, "notify_teacher_closed", Notification{
		Recipients: recipients(domain.RecipientTeacher, st.AssignedTo), Subject: subject, Body: body,
		Category: string(domain.CategoryIntervention), RelatedTo: "student-" + st.StudentID,
	}, "teacher_notified", fmt.Sprintf("told teacher %s the intervention is closed", st.AssignedTo)); err != nil {
		return err
	}
	if guardians := student.GuardianIDs(); len(guardians) > 0 {
		subject, body := drafting.InterventionClosedGuardians(closure)
		if _, err := w.d.notify(ctx, in, "notify_guardians_closed", Notification{
			Recipients: recipients(domain.RecipientGuardian, guardians...), Subject: subject, Body: body,
			Category: string(domain.CategoryIntervention), RelatedTo: "student-" + st.StudentID,
		}, "guardians_informed", fmt.Sprintf("told %s the intervention is closed", count(len(guardians), "guardian"))); err != nil {
			return err
		}
	}
	in.Complete(fmt.Sprintf("risk down to low (%.2f) on %s: intervention %s closed as resolved", e.Score, on, st.InterventionID))
	return nil
}

// Deadline handles the follow-up deadline.
func (w *interventionWorkflow) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	if d.Name != ivFollowUp {
		return nil
	}
	var st ivState
	if err := in.Load(&st); err != nil {
		return err
	}
	iv, recs, err := commands.Load(ctx, w.d.Repo, domain.NewIntervention(st.InterventionID))
	if err != nil {
		return err
	}
	// The intervention's stream may be ahead of the events the workflow
	// has seen (Kafka delivers them a moment later): a closing or a
	// follow-up recorded there counts.
	if iv.Status() == domain.InterventionStatusClosed {
		in.Complete(fmt.Sprintf("intervention %s was closed (%s) before its follow-up deadline", st.InterventionID, iv.Outcome()))
		return in.Save(st)
	}
	if v, next, by, ok := ivLatestFollowUp(recs); ok && v > st.LastFollowUp {
		st.LastFollowUp, st.FollowUps, st.Escalations = v, st.FollowUps+1, 0
		due, how := w.nextDue(in, next)
		if err := w.await(in, &st, due, fmt.Sprintf("a follow-up by %s was recorded in time; %s", by, how)); err != nil {
			return err
		}
		return in.Save(st)
	}

	reason := fmt.Sprintf("no follow-up of intervention %s was recorded by %s", st.InterventionID, st.FollowUpDue)
	if st.Escalations > 0 {
		reason = fmt.Sprintf("still no follow-up of intervention %s (due by %s; %s to the administrators already)", st.InterventionID,
			st.FollowUpDue, count(st.Escalations, "notice"))
	}
	step := "escalated"
	switch {
	case iv.Escalated():
		// The domain escalates an intervention once: later misses remind
		// the administrators, with no further event.
		step = "office_reminded"
		in.Record(step, fmt.Sprintf("%s; the intervention was escalated on %s already: the administrators are reminded",
			reason, iv.EscalatedAt().UTC().Format(time.DateOnly)))
	default:
		m := in.Meta("escalate")
		res, err := commands.NewEscalateInterventionHandler(w.d.Repo).Handle(ctx, m, commands.EscalateIntervention{
			InterventionID: st.InterventionID, Reason: reason,
		})
		switch {
		case errors.Is(err, domain.ErrInterventionClosed):
			in.Complete(fmt.Sprintf("intervention %s was closed before its follow-up deadline", st.InterventionID))
			return in.Save(st)
		case errors.Is(err, domain.ErrInterventionEscalated): // by an administrator, a moment ago
			step = "office_reminded"
			in.Record(step, reason+"; the intervention was escalated already: the administrators are reminded")
		case err != nil:
			return fmt.Errorf("escalate intervention %s: %w", st.InterventionID, err)
		default:
			in.Issued(step, reason+": escalated to the school's administrators", m, res)
		}
	}
	st.Escalations++

	names, _, err := w.names(ctx, in.SchoolID(), st.StudentID, st.AssignedTo)
	if err != nil {
		return err
	}
	subject, body := drafting.InterventionEscalated(drafting.InterventionEscalation{StudentName: names.Student,
		ClassName: names.Class, TeacherName: names.Teacher, Reason: reason, OpenedOn: st.OpenedOn, FollowUpDue: st.FollowUpDue})
	if step == "office_reminded" {
		subject, body = ivReminderNotice(st, names, reason)
	}
	if _, err := w.d.notify(ctx, in, "notify_office", Notification{
		Recipients: []domain.RecipientInput{officeRecipient}, Subject: subject, Body: body,
		Category: string(domain.CategoryIntervention), RelatedTo: "student-" + st.StudentID,
	}, "office_notified", "told the school's administrators that the follow-up is overdue"); err != nil {
		return err
	}

	if st.Escalations >= ivMaxEscalations {
		in.Record("reminders_exhausted", fmt.Sprintf("%s to the administrators in a row without a follow-up: no further reminder; "+
			"the workflow waits for a follow-up, a low risk or the closing", count(st.Escalations, "notice")))
		return in.Save(st)
	}
	next := domain.DateOf(in.Now().Add(w.period()))
	if err := w.await(in, &st, next, fmt.Sprintf("notice %d of at most %d in a row", st.Escalations, ivMaxEscalations)); err != nil {
		return err
	}
	return in.Save(st)
}

// names reads the names the texts show, and the student.
func (w *interventionWorkflow) names(ctx context.Context, schoolID, studentID, teacherID string) (ivNames, *domain.Student, error) {
	student, _, err := commands.Load(ctx, w.d.Repo, domain.NewStudent(studentID))
	if err != nil {
		return ivNames{}, nil, err
	}
	class, err := loadClassOf(ctx, w.d.Repo, student)
	if err != nil {
		return ivNames{}, nil, err
	}
	school, teacher, err := spNames(ctx, w.d.Repo, schoolID, teacherID)
	if err != nil {
		return ivNames{}, nil, err
	}
	return ivNamesOf(school, student, class, teacher), student, nil
}

// period is Settings.InterventionFollowUp, 14 days when unset.
func (w *interventionWorkflow) period() time.Duration {
	if p := w.d.Settings.InterventionFollowUp; p > 0 {
		return p
	}
	return 14 * 24 * time.Hour
}

// concernSubjects are the subjects of the grade factors that added to the
// score, largest first. The event records factor names, values and
// reasons, not subjects: they are recomputed from the grades the
// assessment read (the performance record up to its basis assessment),
// with the method the event names; none when it names another.
func (w *interventionWorkflow) concernSubjects(ctx context.Context, e domain.RiskAssessed) ([]string, error) {
	if e.Method != risk.Method || e.Basis.AssessmentID == "" {
		return nil, nil
	}
	_, recs, err := commands.Load(ctx, w.d.Repo, domain.NewPerformance(e.StudentID))
	if err != nil {
		return nil, err
	}
	var grades []risk.Grade
	found := false
	for _, rec := range recs {
		ev, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return nil, fmt.Errorf("performance-%s version %d: %w", e.StudentID, rec.Version, err)
		}
		if p, ok := ev.(domain.PerformanceRecorded); ok {
			grades = append(grades, risk.Grade{AssessmentID: p.AssessmentID, Subject: string(p.Subject), Grade: float64(p.Grade), AssessedAt: p.AssessedAt})
			if p.AssessmentID == e.Basis.AssessmentID {
				found = true
				break
			}
		}
	}
	if !found {
		return nil, nil
	}
	a := risk.Assess(risk.Input{Grades: grades, PassMark: float64(domain.PassMark), Window: w.d.Settings.AssessmentWindow})
	var out []string
	for _, f := range a.Contributing() {
		for _, s := range f.Subjects {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// ivClassTeacher picks the teacher to assign: the class's teacher of the
// first subject of concern that has one, else the first teacher of the
// class (in the class's subject order). why says which.
func ivClassTeacher(class *domain.Class, subjects []string) (teacher, why string) {
	if class == nil {
		return "", "the student is in no class"
	}
	for _, s := range subjects {
		if id, ok := class.SubjectTeacher(domain.Subject(s)); ok {
			return id, fmt.Sprintf("teaches %s, the subject of most concern, in %s", s, class.Name())
		}
	}
	for _, cs := range class.Subjects() {
		if cs.TeacherID != "" {
			return cs.TeacherID, fmt.Sprintf("teaches %s in %s, the first subject of the class with a teacher", cs.Subject, class.Name())
		}
	}
	return "", fmt.Sprintf("class %s has no teacher assigned to any subject", class.Name())
}

// ivLatestFollowUp finds the latest follow-up in an intervention's
// stream.
func ivLatestFollowUp(recs []eventstore.RecordedEvent) (version uint64, next domain.Date, by string, ok bool) {
	for _, rec := range slices.Backward(recs) {
		if rec.Type != domain.InterventionFollowUpRecordedType {
			continue
		}
		ev, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			continue
		}
		f := ev.(domain.InterventionFollowUpRecorded)
		return rec.Version, f.NextFollowUpDue, f.RecordedBy, true
	}
	return 0, domain.Date{}, "", false
}

// ivPlan is one plan item per factor that added to the score, largest
// first, each naming its factor.
func ivPlan(factors []domain.RiskFactor) []string {
	type item struct {
		f       domain.RiskFactor
		contrib float64
	}
	var items []item
	for _, f := range factors {
		sev, ok := risk.Severity(f.Name, f.Value, float64(domain.PassMark))
		if !ok {
			sev = 1 // a factor this method does not know: keep it
		}
		if sev > 0 {
			items = append(items, item{f, f.Weight * sev})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(b.contrib, a.contrib), cmp.Compare(a.f.Name, b.f.Name))
	})
	var plan []string
	for _, it := range items {
		plan = append(plan, clip(ivPlanItem(it.f), 500))
	}
	if len(plan) == 0 {
		plan = []string{"Review the student's recent grades and attendance with them and their guardians (no single factor stood out)."}
	}
	return plan
}

func ivPlanItem(f domain.RiskFactor) string {
	reason := strings.TrimSuffix(f.Reason, ".")
	switch f.Name {
	case risk.FactorGradeLevel:
		return fmt.Sprintf("Catch-up support (factor %s): %s. Agree weekly catch-up work with the subject teacher and check it at each follow-up.", f.Name, reason)
	case risk.FactorSubjectsBelow:
		return fmt.Sprintf("Coordinate the subjects (factor %s): %s. One shared plan with their teachers rather than separate ones.", f.Name, reason)
	case risk.FactorGradeTrend:
		return fmt.Sprintf("Find the cause of the fall (factor %s): %s. Talk with the student and look at their recent work.", f.Name, reason)
	case risk.FactorAttendanceRate:
		return fmt.Sprintf("Attendance (factor %s): %s. Contact the guardians about the absences and agree an attendance target.", f.Name, reason)
	}
	return fmt.Sprintf("Address %s: %s.", f.Name, reason)
}

// ivReason is the intervention's reason: the assessment and its factors.
func ivReason(e domain.RiskAssessed) string {
	r := fmt.Sprintf("Risk assessed high (%.2f) on %s by the rule-based analysis %s: %s", e.Score, domain.DateOf(e.At), e.Method,
		ivFactorDigest(e.Factors))
	return clip(r, 1000)
}

// ivFactorDigest joins the reasons of the factors that added to the score.
func ivFactorDigest(factors []domain.RiskFactor) string {
	var parts []string
	for _, f := range factors {
		if sev, ok := risk.Severity(f.Name, f.Value, float64(domain.PassMark)); !ok || sev > 0 {
			parts = append(parts, f.Reason)
		}
	}
	if len(parts) == 0 {
		return "no factor added to the score"
	}
	return strings.Join(parts, "; ")
}

// ivEndOf is the end of a date (the next midnight, UTC): a follow-up
// recorded any time on its due date is in time.
func ivEndOf(d domain.Date) time.Time { return d.AddDays(1).Time() }

func ivPeriodWords(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return count(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}
