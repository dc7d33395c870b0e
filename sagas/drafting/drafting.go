// Package drafting writes the texts of the workflows' messages from
// text/template templates: a welcome for a new teacher and the
// notifications of the school workflows.
//
// It is pure and deterministic (no I/O, no clock): the same input always
// gives the same text. Each function takes a small struct and returns a
// subject and a body that fit a domain message: a subject of one line of
// at most MaxSubjectBytes, a body of at most MaxBodyBytes. Fields left
// empty get a neutral wording ("your child", "the class teacher") rather
// than a gap; lists are capped so a large class cannot overflow a message.
// Texts for guardians use plain language and carry no internal scores.
package drafting

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Limits of a domain message (domain.Message.Send), which the texts keep.
const (
	MaxSubjectBytes = 200
	MaxBodyBytes    = 10000
)

// maxItems caps the lines of a list in a body (missing results, lessons
// not scheduled); the rest is counted ("… and 12 more").
const maxItems = 60

// Periods says when the periods of a school day are, to show clock times
// next to period numbers. The zero value shows period numbers only.
type Periods struct {
	DayStart     time.Duration // start of period 1, school-local time since midnight
	PeriodLength time.Duration
	// Timezone names the school's time zone in texts ("Europe/Berlin");
	// optional.
	Timezone string
}

// times gives "08:00–09:00" for a period, or "" without a period length.
func (p Periods) times(period int) string {
	if p.PeriodLength <= 0 || period < 1 {
		return ""
	}
	start := p.DayStart + time.Duration(period-1)*p.PeriodLength
	return clock(start) + "–" + clock(start+p.PeriodLength)
}

func clock(d time.Duration) string {
	m := int(d/time.Minute) % (24 * 60)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// at says when a period is: "period 5 (12:00–13:00, Europe/Berlin time)".
func (p Periods) at(period int) string {
	if period < 1 {
		return "a period to be confirmed"
	}
	s := fmt.Sprintf("period %d", period)
	if t := p.times(period); t != "" {
		if tz := line(p.Timezone); tz != "" {
			t += ", " + tz + " time"
		}
		s += " (" + t + ")"
	}
	return s
}

var funcs = template.FuncMap{
	"bullets":  bullets,
	"numbered": numbered,
	"capFirst": capFirst,
}

// parse builds a message's template set: it must define "subject" and
// "body". Views are structs of the package's own, so a missing field is a
// parse-time or test-time error, never "<no value>" in a message.
func parse(name, src string) *template.Template {
	t := template.Must(template.New(name).Funcs(funcs).Option("missingkey=error").Parse(src))
	for _, part := range []string{"subject", "body"} {
		if t.Lookup(part) == nil {
			panic(fmt.Sprintf("drafting: template %s defines no %q", name, part))
		}
	}
	return t
}

// render executes a message's templates on its view. The templates are
// fixed and run by the tests on empty and full inputs, so an execution
// error is a bug in this package: it panics rather than send a broken text.
func render(t *template.Template, view any) (subject, body string) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "subject", view); err != nil {
		panic(fmt.Sprintf("drafting: %s subject: %v", t.Name(), err))
	}
	subject = b.String()
	b.Reset()
	if err := t.ExecuteTemplate(&b, "body", view); err != nil {
		panic(fmt.Sprintf("drafting: %s body: %v", t.Name(), err))
	}
	return fitSubject(subject), fitBody(b.String())
}

// fitSubject makes one line of at most MaxSubjectBytes.
func fitSubject(s string) string {
	return truncate(singleStops(line(s)), MaxSubjectBytes, "…")
}

// fitBody trims trailing spaces, keeps at most one blank line in a row
// (templates may leave more around optional parts) and the size limit.
func fitBody(s string) string {
	var kept []string
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r", ""), "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" && len(kept) > 0 && kept[len(kept)-1] == "" {
			continue
		}
		kept = append(kept, l)
	}
	s = singleStops(strings.Join(kept, "\n"))
	return truncate(strings.TrimSpace(s), MaxBodyBytes, "\n… (message shortened)")
}

// singleStops turns ".." into "." (an input ending in a period, "Jr.", at
// the end of a sentence) but leaves "..." alone.
func singleStops(s string) string {
	if !strings.Contains(s, "..") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && i+1 < len(s) && s[i+1] == '.' && (i == 0 || s[i-1] != '.') && (i+2 == len(s) || s[i+2] != '.') {
			continue // drop the first of exactly two
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// truncate cuts s to max bytes on a rune boundary, ending with tail.
func truncate(s string, max int, tail string) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(tail)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " \n") + tail
}

// line makes an input one clean line: inputs never add lines to a text.
func line(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// or returns the cleaned value, or fallback when it is empty.
func or(s, fallback string) string {
	if s = line(s); s != "" {
		return s
	}
	return fallback
}

func capFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// joinAnd gives "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// cleanList drops empty items and caps the list, counting the rest.
func cleanList(items []string) []string {
	var out []string
	for _, s := range items {
		if s = line(s); s != "" {
			out = append(out, s)
		}
	}
	return capList(out)
}

// capList keeps at most maxItems items, counting the rest.
func capList(items []string) []string {
	if len(items) > maxItems {
		return append(items[:maxItems:maxItems], fmt.Sprintf("… and %d more", len(items)-maxItems))
	}
	return items
}

// clause makes an input fit inside a sentence: one line, no final period.
func clause(s string) string {
	return strings.TrimRight(line(s), ". ")
}

func bullets(items []string) string {
	var b strings.Builder
	for _, s := range items {
		b.WriteString("- " + s + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func numbered(items []string) string {
	var b strings.Builder
	for i, s := range items {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func subjectNames(subjects []domain.Subject) []string {
	var out []string
	for _, s := range subjects {
		if n := line(string(s)); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// longDate gives "Tuesday 3 March 2026"; "" for the zero date.
func longDate(d domain.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format("Monday 2 January 2006")
}

// utcTime gives "Saturday 7 March 2026, 22:00 UTC"; "" for the zero time.
func utcTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Monday 2 January 2006, 15:04") + " UTC"
}

// number gives a figure with at most two decimals and no trailing zeros.
func number(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// percent gives a share (0–1, or 0–100 when above 1) as "78%".
func percent(rate float64) string {
	if rate <= 1 {
		rate *= 100
	}
	return strconv.FormatFloat(rate, 'f', 0, 64) + "%"
}

func dayName(d domain.Weekday) string { return capFirst(string(d)) }
