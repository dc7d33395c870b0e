package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Command outcomes, the values of commands_total's outcome label.
const (
	OutcomeOK        = "ok"
	OutcomeReplayed  = "replayed" // answered from the idempotency store, nothing ran
	OutcomeInvalid   = "invalid"
	OutcomeNotFound  = "not_found"
	OutcomeConflict  = "conflict"
	OutcomeForbidden = "forbidden"
	OutcomeError     = "error"
)

type metrics struct {
	duration *prometheus.HistogramVec
	commands *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "commands_total",
			Help: "Commands received over HTTP, by command and outcome.",
		}, []string{"command", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.commands} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe times every request. It labels by route template so the number
// of series stays bounded whatever paths clients send.
func (s *Server) observe(c *gin.Context) {
	start := s.cfg.Now()
	c.Next()
	s.metrics.duration.WithLabelValues(routeOf(c), method(c.Request.Method), strconv.Itoa(c.Writer.Status())).
		Observe(s.cfg.Now().Sub(start).Seconds())
}

// method keeps the method label bounded too: clients can send any token.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// commandDone counts one command by its outcome. The command routes call
// it through s.command; call it directly only from a handler that runs a
// command outside that helper.
func (s *Server) commandDone(command string, err error) {
	s.metrics.commands.WithLabelValues(command, outcomeOf(err)).Inc()
}

// outcomeOf classifies a command's error by the problem it becomes, so
// metrics and responses never disagree.
func outcomeOf(err error) string {
	if err == nil {
		return OutcomeOK
	}
	p, internal := problemFor(err)
	if internal {
		return OutcomeError
	}
	switch p.Status {
	case http.StatusNotFound:
		return OutcomeNotFound
	case http.StatusForbidden:
		return OutcomeForbidden
	case http.StatusConflict:
		return OutcomeConflict
	}
	return OutcomeInvalid
}
