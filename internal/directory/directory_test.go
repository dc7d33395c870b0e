package directory_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/notify"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// world is an event store and the read models in one fresh database: the
// scenario runs commands through the real handlers, then hands the
// store's events to the projections registry as the Kafka consumers do.
type world struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store eventstore.Store
	repo  *commands.Repository
	reg   *projections.Registry
	now   time.Time
	after eventstore.Position // events up to here are projected
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := pgtest.NewPool(t)
	w := &world{t: t, pool: pool, store: postgres.New(pool), now: day(0, 7)}
	w.repo = commands.NewRepository(w.store, func() time.Time { return w.now })
	reg, err := projections.NewRegistry(projections.Config{DB: pool, Store: w.store}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.reg = reg
	return w
}

// day is Monday 2 November 2026 + d days, at hour h UTC.
func day(d, h int) time.Time { return time.Date(2026, 11, 2+d, h, 0, 0, 0, time.UTC) }

func date(d int) string { return day(d, 0).Format("2006-01-02") }

func ddate(t *testing.T, d int) domain.Date {
	t.Helper()
	x, err := domain.ParseDate("date", date(d))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (w *world) ok(res commands.Result, err error) commands.Result {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("scenario command: %v", err)
	}
	return res
}

// project applies the events appended since the last call to every read
// model that consumes them, and returns them. The log shows an event
// once every older transaction of the cluster has ended (tests run in
// parallel), so it waits until it has seen every committed event.
func (w *world) project() []eventstore.RecordedEvent {
	w.t.Helper()
	ctx := context.Background()
	var committed int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE position > $1`, int64(w.after)).Scan(&committed); err != nil {
		w.t.Fatal(err)
	}
	var events []eventstore.RecordedEvent
	deadline := time.Now().Add(20 * time.Second)
	for len(events) < committed {
		batch, err := w.store.ReadAll(ctx, w.after, 500)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(batch) == 0 {
			if time.Now().After(deadline) {
				w.t.Fatalf("the log shows %d of %d events", len(events), committed)
			}
			time.Sleep(2 * time.Millisecond)
			continue
		}
		events = append(events, batch...)
		w.after = batch[len(batch)-1].Position
	}
	for _, e := range events {
		ch, ok := domain.ChannelOf(e.Type)
		if !ok {
			continue
		}
		for _, p := range w.reg.Projections() {
			if !slices.Contains(p.Channels(), ch) {
				continue
			}
			if err := w.reg.Apply(ctx, p.Name(), e); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	return events
}

// school is what the scenario built in one school.
type school struct {
	ID, Admin      string
	Tina, Tom      string // Tom is deactivated
	C5A, C5B, C6A  string
	S1, S2, S3     string // S1, S2 in 5A (Pat's children; S2 withdrawn when asked), S3 in 5B
	Pat, Quinn     string // guardians
	M1, M2, M3, M4 string // M1 scheduled day 3, M2 cancelled, M3 only requested, M4 scheduled day 8
}

func (w *world) admin(sc school) commands.Meta {
	return commands.Meta{SchoolID: sc.ID, Actor: commands.Actor{ID: sc.Admin, Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: sc.ID}}
}

func (w *world) buildSchool(name string) school {
	w.t.Helper()
	ctx := context.Background()
	w.now = day(0, 7)
	sc := school{ID: uuid.NewString(), Admin: "admin-" + name}
	admin := w.admin(sc)
	platform := commands.Meta{Actor: commands.Actor{ID: "platform", Roles: []commands.Role{commands.RolePlatformAdmin}}}
	w.ok(commands.NewRegisterSchoolHandler(w.repo).Handle(ctx, platform,
		commands.RegisterSchool{SchoolID: sc.ID, Name: name, Timezone: "Europe/London"}))

	teacher := func(tname, email string) string {
		return w.ok(commands.NewCreateTeacherHandler(w.repo).Handle(ctx, admin, commands.CreateTeacher{
			Name: tname, Email: email, Subjects: []string{"mathematics"},
			Preferences: domain.PreferencesInput{MaxClassesPerDay: 4}})).ID
	}
	sc.Tina = teacher("Tina Tan", "tina@"+name+".example.org")
	sc.Tom = teacher("Tom Thumb", "tom@"+name+".example.org")
	w.ok(commands.NewDeactivateTeacherHandler(w.repo).Handle(ctx, admin,
		commands.DeactivateTeacher{TeacherID: sc.Tom, Reason: "retired"}))

	class := func(cname string, grade, capacity int) string {
		id := uuid.NewString()
		w.ok(commands.NewCreateClassHandler(w.repo).Handle(ctx, admin, commands.CreateClass{
			ClassID: id, Name: cname, GradeLevel: grade, Capacity: capacity,
			Subjects: []domain.ClassSubjectInput{{Subject: "mathematics", TeacherID: sc.Tina}}}))
		return id
	}
	sc.C5B = class("5B", 5, 30)
	sc.C5A = class("5A", 5, 2)
	sc.C6A = class("6A", 6, 25)

	student := func(sname, classID, gname, gemail string, at time.Time) string {
		w.now = at
		id := uuid.NewString()
		w.ok(commands.NewEnrollStudentHandler(w.repo).Handle(ctx, admin, commands.EnrollStudent{
			StudentID: id, Name: sname, DateOfBirth: "2016-05-06", GradeLevel: 5,
			Guardians: []commands.EnrollStudentGuardian{{Name: gname, Email: gemail, Relationship: "parent"}}}))
		w.ok(commands.NewAssignStudentToClassHandler(w.repo).Handle(ctx, admin,
			commands.AssignStudentToClass{StudentID: id, ClassID: classID}))
		return id
	}
	patEmail := "pat@family-" + name + ".example.org"
	sc.S1 = student("Ann", sc.C5A, "Pat", patEmail, day(0, 8))
	sc.S2 = student("Bea", sc.C5A, "Pat Smith", patEmail, day(0, 9)) // the same guardian, named anew
	sc.S3 = student("Cal", sc.C5B, "Quinn", "quinn@family-"+name+".example.org", day(0, 10))
	sc.Pat = commands.GuardianID(sc.ID, patEmail)
	sc.Quinn = commands.GuardianID(sc.ID, "quinn@family-"+name+".example.org")

	// S1's registers: present, late, absent, excused on days 0-3.
	for d, st := range []string{"present", "late", "absent", "excused"} {
		w.now = day(d, 10)
		w.ok(commands.NewRecordAttendanceHandler(w.repo).Handle(ctx, admin, commands.RecordAttendance{
			ClassID: sc.C5A, Date: date(d), Period: 1, Entries: []domain.AttendanceEntryInput{
				{StudentID: sc.S1, Status: st}, {StudentID: sc.S2, Status: "present"}}}))
	}
	// Day 3 corrected: S1 was there after all.
	w.ok(commands.NewAmendAttendanceHandler(w.repo).Handle(ctx, admin, commands.AmendAttendance{
		ClassID: sc.C5A, Date: date(3), Period: 1, Entries: []domain.AttendanceEntryInput{{StudentID: sc.S1, Status: "present"}}}))

	w.now = day(0, 12)
	meeting := func(studentID, guardianID string) string {
		id := uuid.NewString()
		w.ok(commands.NewRequestMeetingHandler(w.repo).Handle(ctx, admin, commands.RequestMeeting{
			MeetingID: id, StudentID: studentID, TeacherID: sc.Tina, GuardianID: guardianID, Topic: "progress"}))
		return id
	}
	schedule := func(id string, d, period int) {
		w.ok(commands.NewScheduleMeetingHandler(w.repo).Handle(ctx, admin,
			commands.ScheduleMeeting{MeetingID: id, Date: date(d), Period: period}))
	}
	sc.M1, sc.M2, sc.M3, sc.M4 = meeting(sc.S1, sc.Pat), meeting(sc.S2, sc.Pat), meeting(sc.S1, sc.Pat), meeting(sc.S1, sc.Pat)
	schedule(sc.M1, 3, 6)
	schedule(sc.M2, 2, 5)
	schedule(sc.M4, 8, 4)
	w.ok(commands.NewCancelMeetingHandler(w.repo).Handle(ctx, admin,
		commands.CancelMeeting{MeetingID: sc.M2, Reason: "resolved by phone"}))
	meeting(sc.S3, sc.Quinn)
	return sc
}

func TestSchoolsAndClasses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	north := w.buildSchool("north")
	south := w.buildSchool("south")
	w.project()
	dir := directory.New(w.pool)
	ctx := context.Background()

	schools, err := dir.Schools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []sagas.SchoolSummary{{ID: north.ID, Name: "north", Timezone: "Europe/London"}, {ID: south.ID, Name: "south", Timezone: "Europe/London"}}
	if !slices.Equal(schools, want) {
		t.Errorf("Schools = %+v, want %+v", schools, want)
	}

	classes, err := dir.Classes(ctx, north.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantClasses := []sagas.ClassSummary{
		{ID: north.C5A, Name: "5A", GradeLevel: 5, Capacity: 2, Size: 2},
		{ID: north.C5B, Name: "5B", GradeLevel: 5, Capacity: 30, Size: 1},
		{ID: north.C6A, Name: "6A", GradeLevel: 6, Capacity: 25, Size: 0},
	}
	if !slices.Equal(classes, wantClasses) {
		t.Errorf("Classes = %+v, want %+v", classes, wantClasses)
	}
	if cs, err := dir.Classes(ctx, uuid.NewString()); err != nil || len(cs) != 0 {
		t.Errorf("an unknown school's classes = %v, %v", cs, err)
	}
}

func TestAttendanceCountsRegisterLinesInTheRange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	north := w.buildSchool("north")
	south := w.buildSchool("south")
	w.project()
	dir := directory.New(w.pool)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		school, student string
		from, to        domain.Date
		want            sagas.AttendanceSummary
	}{
		"the whole week":       {north.ID, north.S1, ddate(t, 0), ddate(t, 4), sagas.AttendanceSummary{Present: 2, Late: 1, Absent: 1}},
		"both ends included":   {north.ID, north.S1, ddate(t, 1), ddate(t, 2), sagas.AttendanceSummary{Late: 1, Absent: 1}},
		"open ends":            {north.ID, north.S1, domain.Date{}, domain.Date{}, sagas.AttendanceSummary{Present: 2, Late: 1, Absent: 1}},
		"open start":           {north.ID, north.S1, domain.Date{}, ddate(t, 0), sagas.AttendanceSummary{Present: 1}},
		"another student":      {north.ID, north.S2, ddate(t, 0), ddate(t, 4), sagas.AttendanceSummary{Present: 4}},
		"no lines":             {north.ID, north.S3, ddate(t, 0), ddate(t, 4), sagas.AttendanceSummary{}},
		"before the registers": {north.ID, north.S1, ddate(t, -7), ddate(t, -1), sagas.AttendanceSummary{}},
		// Lines are looked up by the Monday of their week: a window that
		// starts after a Monday or spans weeks still counts the lines of
		// the dates it covers.
		"from mid-week into the next": {north.ID, north.S1, ddate(t, 2), ddate(t, 9), sagas.AttendanceSummary{Present: 1, Absent: 1}},
		"one Thursday":                {north.ID, north.S1, ddate(t, 3), ddate(t, 3), sagas.AttendanceSummary{Present: 1}},
		"from the weekend before":     {north.ID, north.S1, ddate(t, -2), ddate(t, 0), sagas.AttendanceSummary{Present: 1}},
		"open end":                    {north.ID, north.S1, ddate(t, 1), domain.Date{}, sagas.AttendanceSummary{Present: 1, Late: 1, Absent: 1}},
		"another school's student":    {south.ID, north.S1, ddate(t, 0), ddate(t, 4), sagas.AttendanceSummary{}},
	} {
		got, err := dir.Attendance(ctx, tc.school, tc.student, tc.from, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v (total %d)", name, got, tc.want, tc.want.Total())
		}
	}
	// No student is a mistake, not the whole school's lines.
	if got, err := dir.Attendance(ctx, north.ID, "", ddate(t, 0), ddate(t, 4)); err == nil || !strings.Contains(err.Error(), "studentId") {
		t.Errorf("no student: %+v, %v; want an error naming studentId", got, err)
	}
}

func TestGuardianMeetingsListsTheSlotsNotCancelled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	north := w.buildSchool("north")
	south := w.buildSchool("south")
	w.project()
	dir := directory.New(w.pool)
	ctx := context.Background()
	slot := func(d, p int) domain.MeetingSlot { return domain.MeetingSlot{Date: ddate(t, d), Period: p} }
	for name, tc := range map[string]struct {
		school, guardian string
		from, to         domain.Date
		want             []domain.MeetingSlot
	}{
		"this week":         {north.ID, north.Pat, ddate(t, 0), ddate(t, 6), []domain.MeetingSlot{slot(3, 6)}},
		"open ends":         {north.ID, north.Pat, domain.Date{}, domain.Date{}, []domain.MeetingSlot{slot(3, 6), slot(8, 4)}},
		"from day 4":        {north.ID, north.Pat, ddate(t, 4), domain.Date{}, []domain.MeetingSlot{slot(8, 4)}},
		"only requested":    {north.ID, north.Quinn, domain.Date{}, domain.Date{}, nil},
		"another school's":  {south.ID, north.Pat, domain.Date{}, domain.Date{}, nil},
		"the other school":  {south.ID, south.Pat, ddate(t, 3), ddate(t, 3), []domain.MeetingSlot{slot(3, 6)}},
		"an empty calendar": {north.ID, uuid.NewString(), domain.Date{}, domain.Date{}, nil},
	} {
		got, err := dir.GuardianMeetings(ctx, tc.school, tc.guardian, tc.from, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.EqualFunc(got, tc.want, func(a, b domain.MeetingSlot) bool { return a.Date.Equal(b.Date) && a.Period == b.Period }) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestAddressResolvesTeachersGuardiansAndConfiguredAdmins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	north := w.buildSchool("north")
	south := w.buildSchool("south")
	w.project()
	ctx := context.Background()
	admins, err := directory.ParseAdminAddresses(
		north.ID + "=North Office <office@north.example.org>;\n" +
			north.ID + "/admin-7=Head <head@north.example.org>; *=ops@platform.example.org")
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(w.pool, directory.WithAdminAddresses(admins))
	bare := directory.New(w.pool)

	type rc = domain.Recipient
	for name, tc := range map[string]struct {
		dir    *directory.Directory
		school string
		r      rc
		want   notify.Address // zero: none
	}{
		"an active teacher":                  {dir, north.ID, rc{Kind: domain.RecipientTeacher, ID: north.Tina}, notify.Address{Email: "tina@north.example.org", Name: "Tina Tan"}},
		"a deactivated teacher":              {dir, north.ID, rc{Kind: domain.RecipientTeacher, ID: north.Tom}, notify.Address{}},
		"an unknown teacher":                 {dir, north.ID, rc{Kind: domain.RecipientTeacher, ID: uuid.NewString()}, notify.Address{}},
		"another school's teacher":           {dir, south.ID, rc{Kind: domain.RecipientTeacher, ID: north.Tina}, notify.Address{}},
		"a guardian of two, latest enrolled": {dir, north.ID, rc{Kind: domain.RecipientGuardian, ID: north.Pat}, notify.Address{Email: "pat@family-north.example.org", Name: "Pat Smith"}},
		"a guardian":                         {dir, north.ID, rc{Kind: domain.RecipientGuardian, ID: north.Quinn}, notify.Address{Email: "quinn@family-north.example.org", Name: "Quinn"}},
		"another school's guardian":          {dir, south.ID, rc{Kind: domain.RecipientGuardian, ID: north.Quinn}, notify.Address{}},
		"the office":                         {dir, north.ID, rc{Kind: domain.RecipientAdmin, ID: "office"}, notify.Address{Email: "office@north.example.org", Name: "North Office"}},
		"an admin of their own":              {dir, north.ID, rc{Kind: domain.RecipientAdmin, ID: "admin-7"}, notify.Address{Email: "head@north.example.org", Name: "Head"}},
		"another admin of the school":        {dir, north.ID, rc{Kind: domain.RecipientAdmin, ID: "admin-8"}, notify.Address{Email: "office@north.example.org", Name: "North Office"}},
		"an admin of another school":         {dir, south.ID, rc{Kind: domain.RecipientAdmin, ID: "office"}, notify.Address{Email: "ops@platform.example.org"}},
		"admins unconfigured":                {bare, north.ID, rc{Kind: domain.RecipientAdmin, ID: "office"}, notify.Address{}},
	} {
		got, ok, err := tc.dir.Address(ctx, tc.school, tc.r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ok != (tc.want != notify.Address{}) || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, ok, tc.want)
		}
	}

	// Once Bea (Pat's later child) is withdrawn, Pat's address is the one
	// given with Ann, still enrolled.
	w.now = day(5, 9)
	w.ok(commands.NewWithdrawStudentHandler(w.repo).Handle(ctx, w.admin(north), commands.WithdrawStudent{StudentID: north.S2, Reason: "moved"}))
	w.project()
	got, ok, err := dir.Address(ctx, north.ID, domain.Recipient{Kind: domain.RecipientGuardian, ID: north.Pat})
	if err != nil || !ok || got.Name != "Pat" {
		t.Errorf("Pat after the withdrawal: %+v, %v, %v", got, ok, err)
	}
}

func TestParseAdminAddresses(t *testing.T) {
	t.Parallel()
	got, err := directory.ParseAdminAddresses(" s1 = Office <office@s1.example> ;\n\n*=ops@example.org;s1/a2=\"Doe, Jo\" <jo@s1.example>")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]notify.Address{
		"s1":    {Email: "office@s1.example", Name: "Office"},
		"*":     {Email: "ops@example.org"},
		"s1/a2": {Email: "jo@s1.example", Name: "Doe, Jo"},
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %+v, want %+v", k, got[k], v)
		}
	}
	if got, err := directory.ParseAdminAddresses(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	_, err = directory.ParseAdminAddresses("s1; s2=not an address; s3=a@b.example; s3=c@d.example")
	for _, w := range []string{`"s1": want key=address`, `"s2"`, `"s3" given twice`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %s", err, w)
		}
	}
}

// The directory as the dispatcher's address book: a message sent through
// the command reaches the teacher and the guardian by webhook, the office
// by its configured address, and the deactivated teacher not at all.
func TestDirectoryFeedsTheDispatcher(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	north := w.buildSchool("north")
	w.project()
	ctx := context.Background()

	var mu sync.Mutex
	got := map[string]notify.WebhookRecipient{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify("secret", r.Header, body); err != nil {
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev notify.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[ev.Data.Recipient.Kind+"/"+ev.Data.Recipient.ID] = ev.Data.Recipient
		mu.Unlock()
	}))
	defer srv.Close()

	dir := directory.New(w.pool, directory.WithAdminAddresses(map[string]notify.Address{north.ID: {Email: "office@north.example.org"}}))
	d, err := notify.NewDispatcher(notify.DispatcherConfig{Pool: w.pool, Addresses: dir,
		Webhook: &notify.WebhookConfig{URL: srv.URL, Secret: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	w.now = day(5, 9)
	w.ok(commands.NewSendMessageHandler(w.repo).Handle(ctx, w.admin(north), commands.SendMessage{
		MessageID: uuid.NewString(), Subject: "Sports day", Body: "Friday", Category: "general",
		Recipients: []domain.RecipientInput{{Kind: "teacher", ID: north.Tina}, {Kind: "teacher", ID: north.Tom},
			{Kind: "guardian", ID: north.Pat}, {Kind: "admin", ID: "office"}}}))
	for _, e := range w.project() {
		if err := d.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{
		"teacher/" + north.Tina: "tina@north.example.org",
		"guardian/" + north.Pat: "pat@family-north.example.org",
		"admin/office":          "office@north.example.org",
	}
	if len(got) != len(want) {
		t.Errorf("the receiver got %v, want %v", got, want)
	}
	for k, email := range want {
		if got[k].Email != email {
			t.Errorf("%s: %+v, want %s", k, got[k], email)
		}
	}
}
