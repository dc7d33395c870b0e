package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem types. Stable identifiers clients may switch on; append-only.
const (
	TypeBlank              = "about:blank" // the status code says it all
	TypeInvalidRequest     = "urn:edusmarthub:problem:invalid-request"
	TypeValidation         = "urn:edusmarthub:problem:validation"
	TypeUnauthorized       = "urn:edusmarthub:problem:unauthorized"
	TypeForbidden          = "urn:edusmarthub:problem:forbidden"
	TypeNotFound           = "urn:edusmarthub:problem:not-found"
	TypeConflict           = "urn:edusmarthub:problem:conflict"
	TypeVersionConflict    = "urn:edusmarthub:problem:version-conflict"
	TypePayloadTooLarge    = "urn:edusmarthub:problem:payload-too-large"
	TypeUnsupportedMedia   = "urn:edusmarthub:problem:unsupported-media-type"
	TypeIdempotencyReuse   = "urn:edusmarthub:problem:idempotency-key-reused"
	TypeIdempotencyPending = "urn:edusmarthub:problem:idempotency-key-in-progress"
	TypeUnavailable        = "urn:edusmarthub:problem:unavailable"
	TypeInternal           = "urn:edusmarthub:problem:internal"
	// TypeNotYetApplied: a query's ?after= write is not in the read
	// models yet (503 with Retry-After).
	TypeNotYetApplied = "urn:edusmarthub:problem:not-yet-applied"
	// TypeReadModelRebuilding: a query's read model is being rebuilt for
	// this version of the service, at start after an upgrade changed its
	// tables (503 with Retry-After).
	TypeReadModelRebuilding = "urn:edusmarthub:problem:read-model-rebuilding"
)

// Problem is an error response body (RFC 9457 application/problem+json).
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors names the input fields at fault (extension member).
	Errors []FieldError `json:"errors,omitempty"`
	// RequestID ties the response to the server's logs (extension member).
	RequestID string `json:"requestId,omitempty"`
}

// FieldError is one input field at fault. Field is the camelCase JSON
// path of a body field ("preferences.maxClassesPerDay"), or the name of a
// path parameter, query parameter or header.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// newProblem builds a problem whose title is the status text.
func newProblem(status int, typ, detail string, fields ...FieldError) *Problem {
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

// badRequest is a 400 about one named input.
func badRequest(field, format string, args ...any) *Problem {
	msg := fmt.Sprintf(format, args...)
	return newProblem(http.StatusBadRequest, TypeInvalidRequest, field+": "+msg, FieldError{Field: field, Message: msg})
}

// problemFor maps any error to the problem the caller sees. It is the one
// place that knows how errors become statuses. internal reports whether
// the error is the server's fault: its text then stays in the log and the
// caller gets a generic detail.
func problemFor(err error) (p *Problem, internal bool) {
	var (
		prob   *Problem
		de     *domain.Error
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &prob):
		cp := *prob
		return &cp, cp.Status >= 500
	case errors.As(err, &tooBig):
		return tooLarge(tooBig.Limit), false
	case errors.As(err, &de):
		return domainProblem(de), false
	case errors.Is(err, eventstore.ErrVersionConflict):
		return newProblem(http.StatusConflict, TypeVersionConflict,
			"the resource was changed by someone else: read it again and retry with its current version in If-Match"), false
	case errors.Is(err, commands.ErrConcurrentUpdate):
		return newProblem(http.StatusConflict, TypeVersionConflict,
			"the resource kept changing while the command ran: retry"), false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the request did not finish in time: retry"), true
	}
	return newProblem(http.StatusInternalServerError, TypeInternal,
		"an unexpected error occurred; quote the request ID when reporting it"), true
}

func domainProblem(de *domain.Error) *Problem {
	var p *Problem
	switch de.Kind {
	case domain.KindInvalid:
		p = newProblem(http.StatusBadRequest, TypeValidation, de.Error())
	case domain.KindNotFound:
		p = newProblem(http.StatusNotFound, TypeNotFound, de.Error())
	case domain.KindConflict:
		p = newProblem(http.StatusConflict, TypeConflict, de.Error())
	case domain.KindForbidden:
		p = newProblem(http.StatusForbidden, TypeForbidden, de.Error())
	default:
		// A domain error without a kind is a bug in the domain; still
		// the caller's input caused it, so not a 500.
		p = newProblem(http.StatusBadRequest, TypeValidation, de.Error())
	}
	if de.Field != "" {
		p.Errors = []FieldError{{Field: de.Field, Message: de.Message}}
	}
	return p
}

func tooLarge(limit int64) *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, TypePayloadTooLarge,
		fmt.Sprintf("the request body is larger than the limit of %d bytes", limit))
}

// abortWithError answers the request with the problem err maps to, logs
// what the caller does not see, and stops the handler chain.
func abortWithError(c *gin.Context, err error) {
	p, internal := problemFor(err)
	if internal && !retryLater(c, p.Status) {
		logger(c).ErrorContext(c, "request failed", "err", err, "status", p.Status)
	}
	writeProblem(c, p)
	c.Abort()
}

// writeProblem sends p, filling in the request's ID and path.
func writeProblem(c *gin.Context, p *Problem) {
	if p.Instance == "" {
		p.Instance = c.Request.URL.Path
	}
	if p.RequestID == "" {
		p.RequestID = c.GetString(ctxRequestID)
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = TypeBlank
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen for this struct; keep the response valid anyway
		body = []byte(`{"type":"about:blank","status":500,"title":"Internal Server Error"}`)
	}
	c.Data(p.Status, ProblemContentType, body)
}
