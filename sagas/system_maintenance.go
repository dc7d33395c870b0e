package sagas

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// system_maintenance: a platform admin schedules a maintenance window →
// every school's administrators are told (one message to each school's
// office; the window in UTC) → at its start the window is started
// (maintenance.started.v1 on the system channel; a read-only window makes
// the API refuse commands from then on) → at its end it is ended
// (maintenance.ended.v1) → completed. A cancellation stops the timers,
// tells the schools and completes the workflow with the reason. The
// instance is platform-wide: its school is "" and its status is read
// under /v1/workflows.
//
// The schools come from the directory (a read model), so a school
// registered a moment before the announcement may miss it; the window
// itself applies to every school regardless.

const systemMaintenanceName = "system_maintenance"

const (
	deadlineMaintenanceStart = "start"
	deadlineMaintenanceEnd   = "end"
)

type systemMaintenance struct{ d Deps }

// NewSystemMaintenance returns the system_maintenance workflow.
func NewSystemMaintenance(d Deps) Saga { return systemMaintenance{d: d} }

func (systemMaintenance) Name() string { return systemMaintenanceName }

func (systemMaintenance) Channels() []domain.Channel { return []domain.Channel{domain.ChannelSystem} }

func (systemMaintenance) Correlate(t Trigger) (Route, bool) {
	switch e := t.Event.(type) {
	case domain.MaintenanceScheduled:
		return Route{ID: e.MaintenanceID, Start: true}, true
	case domain.MaintenanceStarted:
		return Route{ID: e.MaintenanceID}, true
	case domain.MaintenanceEnded:
		return Route{ID: e.MaintenanceID}, true
	case domain.MaintenanceCancelled:
		return Route{ID: e.MaintenanceID}, true
	}
	return Route{}, false
}

// maintenanceState is the workflow's own state (shown in its status).
type maintenanceState struct {
	MaintenanceID string    `json:"maintenanceId"`
	Title         string    `json:"title"`
	Description   string    `json:"description,omitempty"`
	StartsAt      time.Time `json:"startsAt"`
	EndsAt        time.Time `json:"endsAt"`
	ReadOnly      bool      `json:"readOnly"`
	ScheduledBy   string    `json:"scheduledBy"`
	// Schools told of the window (and of its cancellation).
	Announced []string `json:"announcedTo,omitempty"`
	Started   bool     `json:"started,omitempty"`
}

func (st maintenanceState) mode() string {
	if st.ReadOnly {
		return "read-only"
	}
	return "not read-only"
}

func (w systemMaintenance) Handle(ctx context.Context, in *Instance, t Trigger) error {
	var st maintenanceState
	if err := in.Load(&st); err != nil {
		return err
	}
	switch e := t.Event.(type) {
	case domain.MaintenanceScheduled:
		in.SetSchool("") // platform-wide
		st = maintenanceState{MaintenanceID: e.MaintenanceID, Title: e.Title, Description: e.Description,
			StartsAt: e.StartsAt.UTC(), EndsAt: e.EndsAt.UTC(), ReadOnly: e.ReadOnly, ScheduledBy: e.ScheduledBy}
		n, names, err := w.announce(ctx, in, &st, "announce", smAnnouncement(st), nil)
		if err != nil {
			return err
		}
		in.Record("announced", fmt.Sprintf("%s window %q from %s to %s scheduled by %s; announced to the administrators of %d %s%s",
			st.mode(), st.Title, st.StartsAt.Format(time.RFC3339), st.EndsAt.Format(time.RFC3339), st.ScheduledBy,
			n, plural(n, "school"), names))
		if err := in.Schedule(deadlineMaintenanceStart, st.StartsAt, nil); err != nil {
			return err
		}
	case domain.MaintenanceStarted:
		if st.Started {
			return nil // the workflow's own start
		}
		st.Started = true
		in.Cancel(deadlineMaintenanceStart)
		if err := in.Schedule(deadlineMaintenanceEnd, st.EndsAt, nil); err != nil {
			return err
		}
		in.Record("started", fmt.Sprintf("started at %s before the workflow did; ends at %s", e.At.UTC().Format(time.RFC3339), st.EndsAt.Format(time.RFC3339)))
	case domain.MaintenanceEnded:
		in.Complete(fmt.Sprintf("ended by hand at %s (planned end %s)", e.At.UTC().Format(time.RFC3339), st.EndsAt.Format(time.RFC3339)))
	case domain.MaintenanceCancelled:
		in.Cancel(deadlineMaintenanceStart)
		in.Cancel(deadlineMaintenanceEnd)
		// Only the schools told of the window hear of its cancellation.
		n, _, err := w.announce(ctx, in, &st, "announce-cancellation", smCancellation(st, e.Reason), append([]string{}, st.Announced...))
		if err != nil {
			return err
		}
		in.Complete(fmt.Sprintf("cancelled by %s: %s; the administrators of %d %s told", e.CancelledBy, e.Reason, n, plural(n, "school")))
	}
	return in.Save(&st)
}

// announce sends one message per school (of only, when not nil) to its
// office. Each command's ID derives from the school, so a retry tells
// nobody twice.
func (w systemMaintenance) announce(ctx context.Context, in *Instance, st *maintenanceState, purpose string,
	msg Notification, only []string) (n int, names string, err error) {
	if w.d.Directory == nil {
		return 0, " (no directory of schools)", nil
	}
	schools, err := w.d.Directory.Schools(ctx)
	if err != nil {
		return 0, "", err
	}
	slices.SortFunc(schools, func(a, b SchoolSummary) int { return strings.Compare(a.ID, b.ID) })
	var told []string
	for _, s := range schools {
		if s.ID == "" || s.ID == domain.PlatformSchoolID || (only != nil && !slices.Contains(only, s.ID)) {
			continue
		}
		m := in.Meta(purpose + ":" + s.ID)
		m.SchoolID = s.ID
		if _, err := w.d.Notifier.Notify(ctx, m, msg); err != nil {
			return 0, "", fmt.Errorf("tell school %s: %w", s.ID, err)
		}
		told = append(told, w3OrText(s.Name, s.ID))
		if !slices.Contains(st.Announced, s.ID) {
			st.Announced = append(st.Announced, s.ID)
		}
	}
	const shown = 10
	switch {
	case len(told) == 0:
	case len(told) <= shown:
		names = " (" + strings.Join(told, ", ") + ")"
	default:
		names = fmt.Sprintf(" (%s and %d more)", strings.Join(told[:shown], ", "), len(told)-shown)
	}
	return len(told), names, nil
}

func (w systemMaintenance) Deadline(ctx context.Context, in *Instance, d Deadline) error {
	var st maintenanceState
	if err := in.Load(&st); err != nil {
		return err
	}
	switch d.Name {
	case deadlineMaintenanceStart:
		m := in.Meta("start")
		res, err := commands.NewStartMaintenanceHandler(w.d.Repo).Handle(ctx, m, commands.StartMaintenance{MaintenanceID: st.MaintenanceID})
		switch {
		case errors.Is(err, domain.ErrMaintenanceOver):
			in.Record("start_skipped", "the window is over (cancelled): nothing to start")
			return nil
		case errors.Is(err, domain.ErrMaintenanceStarted):
			in.Record("started", "the window was already started")
		case err != nil:
			return err
		default:
			what := "commands keep working"
			if st.ReadOnly {
				what = "the API refuses commands until " + st.EndsAt.Format(time.RFC3339)
			}
			in.Issued("started", fmt.Sprintf("window %q started at %s (planned %s): %s", st.Title,
				in.Now().Format(time.RFC3339), st.StartsAt.Format(time.RFC3339), what), m, res)
		}
		st.Started = true
		if err := in.Schedule(deadlineMaintenanceEnd, st.EndsAt, nil); err != nil {
			return err
		}
	case deadlineMaintenanceEnd:
		m := in.Meta("end")
		res, err := commands.NewEndMaintenanceHandler(w.d.Repo).Handle(ctx, m, commands.EndMaintenance{MaintenanceID: st.MaintenanceID})
		if errors.Is(err, domain.ErrMaintenanceOver) {
			in.Record("end_skipped", "the window is already over")
			return nil
		}
		if err != nil {
			return err
		}
		in.Issued("ended", fmt.Sprintf("window %q ended at %s", st.Title, in.Now().Format(time.RFC3339)), m, res)
		in.Complete(fmt.Sprintf("%s window %q ran from %s to %s; %d %s told beforehand", st.mode(), st.Title,
			st.StartsAt.Format(time.RFC3339), st.EndsAt.Format(time.RFC3339), len(st.Announced), plural(len(st.Announced), "school")))
	}
	return in.Save(&st)
}
