package drafting

import (
	"strings"
	"time"
)

// Maintenance is the input of MaintenanceAnnouncement and
// MaintenanceCancelled (system_maintenance). Times are shown in UTC: the
// platform serves schools in many time zones.
type Maintenance struct {
	Title       string
	Description string
	StartsAt    time.Time
	EndsAt      time.Time
	ReadOnly    bool
	// Reason is why it was cancelled (MaintenanceCancelled).
	Reason string
}

type maintenanceFields struct {
	Title, Description, Starts, Ends, Window, Length, Reason string
	ReadOnly, Known                                          bool // Known: the start is set
}

func maintenanceView(m Maintenance) maintenanceFields {
	v := maintenanceFields{
		Title:       or(m.Title, "Platform maintenance"),
		Description: line(m.Description),
		Starts:      or(utcTime(m.StartsAt), "to be confirmed"),
		Ends:        or(utcTime(m.EndsAt), "to be confirmed"),
		Reason:      clause(m.Reason),
		ReadOnly:    m.ReadOnly,
		Known:       !m.StartsAt.IsZero(),
	}
	v.Window = v.Starts
	if !m.StartsAt.IsZero() && !m.EndsAt.IsZero() && m.EndsAt.After(m.StartsAt) {
		v.Length = duration(m.EndsAt.Sub(m.StartsAt))
		end := m.EndsAt.UTC().Format("15:04")
		if m.StartsAt.UTC().YearDay() != m.EndsAt.UTC().YearDay() || m.StartsAt.UTC().Year() != m.EndsAt.UTC().Year() {
			end = m.EndsAt.UTC().Format("Monday 2 January 2006, 15:04")
		}
		v.Window = strings.TrimSuffix(v.Starts, " UTC") + " to " + end + " UTC"
	}
	return v
}

// duration gives "4 hours", "1 hour 30 minutes", "45 minutes".
func duration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if h > 0 {
		parts = append(parts, plural(h, "hour", "hours"))
	}
	if m > 0 || h == 0 {
		parts = append(parts, plural(m, "minute", "minutes"))
	}
	return strings.Join(parts, " ")
}

var maintenanceTemplate = parse("maintenance announcement", `
{{- define "subject"}}Planned maintenance: {{.Title}}, {{.Window}}{{end}}
{{- define "body"}}Dear administrators,

EduSmartHub has planned maintenance:

{{.Title}}
From: {{.Starts}}
To:   {{.Ends}}{{if .Length}} ({{.Length}}){{end}}
{{- if .Description}}

{{.Description}}
{{- end}}

{{if .ReadOnly}}During this window EduSmartHub is read-only: everything can still be read, but changes (attendance, grades, messages and any other update) are refused with an answer to try again later, until the window ends. Nothing already saved is affected.{{else}}EduSmartHub stays available during this window; short interruptions are possible.{{end}}

All times are in UTC (coordinated universal time). Please let your staff know.

The EduSmartHub platform team
{{- end}}`)

// MaintenanceAnnouncement drafts the announcement of a maintenance window
// to every school's administrators, with the window in UTC.
func MaintenanceAnnouncement(m Maintenance) (subject, body string) {
	return render(maintenanceTemplate, maintenanceView(m))
}

var maintenanceCancelledTemplate = parse("maintenance cancelled", `
{{- define "subject"}}Maintenance cancelled: {{.Title}}{{end}}
{{- define "body"}}Dear administrators,

The maintenance "{{.Title}}"{{if .Known}} planned for {{.Window}}{{end}} is cancelled{{if .Reason}}: {{.Reason}}{{end}}. EduSmartHub stays available as usual{{if .ReadOnly}}, and the read-only window will not take place{{end}}.

The EduSmartHub platform team
{{- end}}`)

// MaintenanceCancelled drafts the notice that an announced maintenance
// window is cancelled.
func MaintenanceCancelled(m Maintenance) (subject, body string) {
	return render(maintenanceCancelledTemplate, maintenanceView(m))
}
