package sagas

import (
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// The system_maintenance notifications: texts from package drafting (the
// window in UTC: one platform, many time zones), one message to each
// school's office.

func smDraft(st maintenanceState) drafting.Maintenance {
	return drafting.Maintenance{Title: st.Title, Description: st.Description, StartsAt: st.StartsAt, EndsAt: st.EndsAt,
		ReadOnly: st.ReadOnly}
}

func smNotification(st maintenanceState, subject, body string) Notification {
	return Notification{Recipients: []domain.RecipientInput{officeRecipient},
		Subject: subject, Body: body, Category: string(domain.CategoryGeneral), RelatedTo: "maintenance-" + st.MaintenanceID}
}

// smAnnouncement announces a window to a school's administrators.
func smAnnouncement(st maintenanceState) Notification {
	subject, body := drafting.MaintenanceAnnouncement(smDraft(st))
	return smNotification(st, subject, body)
}

// smCancellation tells a school's administrators a window is called off.
func smCancellation(st maintenanceState, reason string) Notification {
	m := smDraft(st)
	m.Reason = reason
	subject, body := drafting.MaintenanceCancelled(m)
	return smNotification(st, subject, body)
}
