package main

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

func TestReplayOptions(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		o       replayOptions
		since   string
		fromSet bool
		errs    []string
		want    time.Time
	}{
		"channel only":       {o: replayOptions{Channel: domain.ChannelTeacher}},
		"since a date":       {o: replayOptions{Channel: domain.ChannelTeacher}, since: "2026-09-01", want: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)},
		"since an instant":   {o: replayOptions{Channel: domain.ChannelTeacher}, since: "2026-09-01T10:00:00+02:00", want: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)},
		"from a position":    {o: replayOptions{Channel: domain.ChannelTeacher, FromPosition: 7}, fromSet: true},
		"no channel":         {errs: []string{"--channel is required"}},
		"unknown channel":    {o: replayOptions{Channel: "gossip"}, errs: []string{`--channel "gossip": not a channel`}},
		"position 0":         {o: replayOptions{Channel: domain.ChannelTeacher}, fromSet: true, errs: []string{"positions start at 1"}},
		"both bounds":        {o: replayOptions{Channel: domain.ChannelTeacher, FromPosition: 3}, fromSet: true, since: "2026-09-01", errs: []string{"exclude each other"}},
		"bad time":           {o: replayOptions{Channel: domain.ChannelTeacher}, since: "yesterday", errs: []string{`--since "yesterday"`}},
		"bad topic":          {o: replayOptions{Channel: domain.ChannelTeacher, Topic: "a topic"}, errs: []string{`--topic "a topic"`}},
		"everything at once": {o: replayOptions{Channel: "x", Topic: "?"}, fromSet: true, since: "x", errs: []string{"--channel", "positions", "exclude", "--since", "--topic"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := c.o
			err := o.parse(c.since, c.fromSet)
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !o.Since.Equal(c.want) {
					t.Errorf("since = %s, want %s", o.Since, c.want)
				}
				return
			}
			for _, want := range c.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v does not mention %q", err, want)
				}
			}
		})
	}
}
