package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Given/when/then for the academic aggregates (performance, attendance,
// interventions, meetings, exams, messages):
//
//	academic(t, domain.NewMeeting("m1")).
//		given(requested).
//		when(func(m *domain.Meeting) error { return m.Cancel(...) }).
//		then(cancelled)
//
// then also checks that every raised event survives the store's round trip
// (JSON and the type registry) unchanged.

// acNow is the time commands run at in these tests: a Saturday morning.
var acNow = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// acToday is acNow's date in UTC.
var acToday = domain.DateOf(acNow)

const acSchool = "school-1"

type academicSpec[A domain.Aggregate] struct {
	t   *testing.T
	agg A
}

func academic[A domain.Aggregate](t *testing.T, blank A) *academicSpec[A] {
	return &academicSpec[A]{t: t, agg: blank}
}

// given loads history into the aggregate, as the command layer does.
func (s *academicSpec[A]) given(history ...domain.Event) *academicSpec[A] {
	s.agg = domain.Rehydrate(s.agg, history, uint64(len(history)))
	return s
}

// when runs one command.
func (s *academicSpec[A]) when(cmd func(A) error) *academicOutcome[A] {
	return &academicOutcome[A]{t: s.t, agg: s.agg, err: cmd(s.agg)}
}

type academicOutcome[A domain.Aggregate] struct {
	t   *testing.T
	agg A
	err error
}

// then asserts that the command succeeded and raised exactly want (none
// for a no-op). It returns the aggregate for checks of its state.
func (o *academicOutcome[A]) then(want ...domain.Event) A {
	o.t.Helper()
	if o.err != nil {
		o.t.Fatalf("command failed: %v", o.err)
	}
	got := o.agg.Changes()
	if len(got) != len(want) {
		o.t.Fatalf("raised %d events, want %d:\n got %#v\nwant %#v", len(got), len(want), got, want)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			o.t.Errorf("event %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
		roundTrip(o.t, got[i])
	}
	return o.agg
}

// thenErr asserts that the command failed with sentinel and raised
// nothing; it returns the domain error for further checks.
func (o *academicOutcome[A]) thenErr(sentinel error) *domain.Error {
	o.t.Helper()
	if !errors.Is(o.err, sentinel) {
		o.t.Fatalf("error = %v, want %v", o.err, sentinel)
	}
	o.noChanges()
	var de *domain.Error
	if !errors.As(o.err, &de) {
		o.t.Fatalf("error %v is not a *domain.Error", o.err)
	}
	return de
}

// thenKind asserts a domain error of kind about field, and no events.
func (o *academicOutcome[A]) thenKind(kind domain.Kind, field string) *domain.Error {
	o.t.Helper()
	var de *domain.Error
	if !errors.As(o.err, &de) {
		o.t.Fatalf("error = %v, want a %s domain error about %q", o.err, kind, field)
	}
	if de.Kind != kind || de.Field != field {
		o.t.Fatalf("error = %s error about %q (%v), want a %s error about %q", de.Kind, de.Field, de, kind, field)
	}
	o.noChanges()
	return de
}

// thenInvalid asserts an invalid-input error naming field, and no events.
func (o *academicOutcome[A]) thenInvalid(field string) {
	o.t.Helper()
	o.thenKind(domain.KindInvalid, field)
}

func (o *academicOutcome[A]) noChanges() {
	o.t.Helper()
	if n := len(o.agg.Changes()); n != 0 {
		o.t.Fatalf("a rejected command raised %d events: %#v", n, o.agg.Changes())
	}
}

// roundTrip checks that an event is stored and read back unchanged and has
// a channel.
func roundTrip(t *testing.T, e domain.Event) {
	t.Helper()
	if _, ok := domain.ChannelOf(e.EventType()); !ok {
		t.Errorf("%s is not registered", e.EventType())
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("marshal %s: %v", e.EventType(), err)
	}
	back, err := domain.DecodeEvent(e.EventType(), data)
	if err != nil {
		t.Fatalf("decode %s: %v", e.EventType(), err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("%s changed in the round trip:\n got %#v\nwant %#v\njson %s", e.EventType(), back, e, data)
	}
}

// acDate parses a date of a test fixture.
func acDate(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate("date", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAcademicEventsAreRegisteredOnTheirChannels(t *testing.T) {
	t.Parallel()
	want := map[string]domain.Channel{
		domain.PerformanceRecordedType:          domain.ChannelPerformance,
		domain.AttendanceRecordedType:           domain.ChannelAttendance,
		domain.AttendanceAmendedType:            domain.ChannelAttendance,
		domain.InterventionOpenedType:           domain.ChannelAIServices,
		domain.InterventionFollowUpRecordedType: domain.ChannelAIServices,
		domain.InterventionClosedType:           domain.ChannelAIServices,
		domain.MeetingRequestedType:             domain.ChannelCommunication,
		domain.MeetingScheduledType:             domain.ChannelCommunication,
		domain.MeetingCompletedType:             domain.ChannelCommunication,
		domain.MeetingCancelledType:             domain.ChannelCommunication,
		domain.ExamScheduledType:                domain.ChannelPerformance,
		domain.ExamResultsRecordedType:          domain.ChannelPerformance,
		domain.ExamResultsPublishedType:         domain.ChannelPerformance,
		domain.MessageSentType:                  domain.ChannelCommunication,
	}
	names := map[string]string{
		domain.PerformanceRecordedType:          "performance.recorded.v1",
		domain.AttendanceRecordedType:           "attendance.recorded.v1",
		domain.AttendanceAmendedType:            "attendance.amended.v1",
		domain.InterventionOpenedType:           "intervention.opened.v1",
		domain.InterventionFollowUpRecordedType: "intervention.follow_up_recorded.v1",
		domain.InterventionClosedType:           "intervention.closed.v1",
		domain.MeetingRequestedType:             "meeting.requested.v1",
		domain.MeetingScheduledType:             "meeting.scheduled.v1",
		domain.MeetingCompletedType:             "meeting.completed.v1",
		domain.MeetingCancelledType:             "meeting.cancelled.v1",
		domain.ExamScheduledType:                "exam.scheduled.v1",
		domain.ExamResultsRecordedType:          "exam.results_recorded.v1",
		domain.ExamResultsPublishedType:         "exam.results_published.v1",
		domain.MessageSentType:                  "message.sent.v1",
	}
	for name, channel := range want {
		if got, ok := domain.ChannelOf(name); !ok || got != channel {
			t.Errorf("ChannelOf(%s) = %q, %v; want %q", name, got, ok, channel)
		}
		if names[name] != name {
			t.Errorf("event type %q: stored names never change, want %q", name, names[name])
		}
	}
}

// Every event carries its school (tenancy) and its time, under the public
// camelCase names.
func TestAcademicEventsCarrySchoolAndTime(t *testing.T) {
	t.Parallel()
	events := []domain.Event{
		domain.PerformanceRecorded{SchoolID: acSchool, At: acNow},
		domain.AttendanceRecorded{SchoolID: acSchool, At: acNow},
		domain.AttendanceAmended{SchoolID: acSchool, At: acNow},
		domain.InterventionOpened{SchoolID: acSchool, At: acNow},
		domain.InterventionFollowUpRecorded{SchoolID: acSchool, At: acNow},
		domain.InterventionClosed{SchoolID: acSchool, At: acNow},
		domain.MeetingRequested{SchoolID: acSchool, At: acNow},
		domain.MeetingScheduled{SchoolID: acSchool, At: acNow},
		domain.MeetingCompleted{SchoolID: acSchool, At: acNow},
		domain.MeetingCancelled{SchoolID: acSchool, At: acNow},
		domain.ExamScheduled{SchoolID: acSchool, At: acNow},
		domain.ExamResultsRecorded{SchoolID: acSchool, At: acNow},
		domain.ExamResultsPublished{SchoolID: acSchool, At: acNow},
		domain.MessageSent{SchoolID: acSchool, At: acNow},
	}
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatal(err)
		}
		if body["schoolId"] != acSchool || body["at"] != "2026-11-28T10:00:00Z" {
			t.Errorf("%s: body %s lacks schoolId or at", e.EventType(), data)
		}
	}
}
