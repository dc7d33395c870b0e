// Package sagas will hold the school workflows as process managers
// (teacher onboarding, the student performance pipeline, enrollment, exam
// cycles, parent-teacher meetings, interventions, maintenance): each a
// transport/kafka Handler with its own consumer group, durable state and
// deadlines, issuing commands through the commands package with IDs derived
// from the triggering event. Not built yet; see DESIGN.md "Workflows".
package sagas
