package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Idempotency headers (draft-ietf-httpapi-idempotency-key-header).
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

const (
	maxIdempotencyKeyLen = 255
	ctxCommandID         = "httpapi.commandID"
)

// IdempotencyRetention is how long keys are kept at least: a retry within
// it gets the first result. Server.DeleteExpiredIdempotencyKeys removes
// older ones.
const IdempotencyRetention = 24 * time.Hour

// replayedHeaders are the response headers stored with a result and sent
// again on a replay.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

// idempotency makes a command route honour Idempotency-Key. The first
// request with a key records a pending row, runs, and stores its response;
// a retry with the same key and the same request gets that response again
// (with Idempotent-Replayed: true) and runs nothing; the same key with a
// different request is a 422, and a retry while the first is still
// running a 409. Keys are per school and actor, so callers cannot collide.
//
// What is stored: every response below 500 except 409. A 5xx or a 409
// (a version conflict, which the caller resolves and retries) deletes the
// pending row, so the caller can retry with the same key. A 400 is stored:
// the same body is as invalid the second time.
//
// The key also fixes the command's ID, from which the events' IDs are
// derived: even if the stored result were lost (a crash between append
// and completion), running the command again appends nothing new.
func (s *Server) idempotency(command string) gin.HandlerFunc {
	return func(c *gin.Context) {
		vals := c.Request.Header.Values(HeaderIdempotencyKey)
		if len(vals) == 0 {
			c.Next()
			return
		}
		key, err := idempotencyKey(vals)
		if err != nil {
			s.commandDone(command, err)
			abortWithError(c, err)
			return
		}
		body, err := readBody(c.Request)
		if err != nil {
			s.commandDone(command, err)
			abortWithError(c, err)
			return
		}
		school, actor := c.GetString(ctxSchoolID), actorFrom(c).ID
		id := idemID{school: school, actor: actor, key: key}
		fp := fingerprint(c.Request, body)

		rec, claimed, err := s.idem.claim(c, id, command, fp, s.cfg.Now())
		if err != nil {
			abortWithError(c, fmt.Errorf("idempotency claim: %w", err))
			return
		}
		if !claimed {
			s.answerExisting(c, command, rec, fp)
			return
		}

		c.Set(ctxCommandID, commandIDFor(id))
		real := c.Writer
		buf := &bufferedWriter{ResponseWriter: real, status: http.StatusOK}
		c.Writer = buf
		settled := false
		// Detached from the request: a client hanging up must not leave
		// the key locked.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
		defer cancel()
		defer func() {
			c.Writer = real
			if !settled { // the handler panicked: let the caller retry
				if err := s.idem.release(ctx, id); err != nil {
					logger(c).ErrorContext(c, "idempotency: release key after panic", "err", err)
				}
			}
		}()

		c.Next()

		status := buf.Status()
		if status >= 500 || status == http.StatusConflict {
			err = s.idem.release(ctx, id)
		} else {
			err = s.idem.complete(ctx, id, status, headerSubset(buf.Header()), buf.body.Bytes(), s.cfg.Now())
		}
		if err != nil {
			// The command's outcome stands; a retry after the lock times out
			// runs it again, which its command ID makes harmless.
			logger(c).ErrorContext(c, "idempotency: settle key", "err", err, "status", status)
		}
		settled = true
		c.Writer = real
		real.WriteHeader(status)
		if _, err := real.Write(buf.body.Bytes()); err != nil {
			logger(c).DebugContext(c, "write response", "err", err)
		}
	}
}

// answerExisting answers a request whose key is already recorded.
func (s *Server) answerExisting(c *gin.Context, command string, rec idemRecord, fp []byte) {
	switch {
	case !bytes.Equal(rec.fingerprint, fp):
		err := newProblem(http.StatusUnprocessableEntity, TypeIdempotencyReuse,
			"this Idempotency-Key was used for a different request: use a new key for a new request",
			FieldError{Field: HeaderIdempotencyKey, Message: "already used for a different request"})
		s.commandDone(command, err)
		abortWithError(c, err)
	case rec.pending:
		err := newProblem(http.StatusConflict, TypeIdempotencyPending,
			"a request with this key is in progress: retry later")
		c.Header("Retry-After", "1")
		s.commandDone(command, err)
		abortWithError(c, err)
	default:
		for k, v := range rec.headers {
			c.Header(k, v)
		}
		c.Header(HeaderIdempotentReplayed, "true")
		c.Status(rec.status)
		if _, err := c.Writer.Write(rec.body); err != nil {
			logger(c).DebugContext(c, "write response", "err", err)
		}
		s.metrics.commands.WithLabelValues(command, OutcomeReplayed).Inc()
		c.Abort()
	}
}

// idempotencyKey validates the header: one value of 1 to 255 printable
// ASCII characters, bare or as a quoted structured-field string.
func idempotencyKey(vals []string) (string, error) {
	bad := func(msg string) error { return badRequest(HeaderIdempotencyKey, "%s", msg) }
	if len(vals) > 1 {
		return "", bad("give the header once")
	}
	k := vals[0]
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if k == "" || len(k) > maxIdempotencyKeyLen {
		return "", bad(fmt.Sprintf("must be 1 to %d characters long", maxIdempotencyKeyLen))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", bad("must be printable ASCII characters")
		}
	}
	return k, nil
}

// readBody reads the whole (size-limited) body and puts it back for the
// handler.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, newProblem(http.StatusBadRequest, TypeInvalidRequest, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// fingerprint identifies "the same request": method, concrete path (the
// route and its parameters), query, If-Match and body.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("If-Match")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	return h.Sum(nil)
}

var commandIDSpace = uuid.MustParse("9d7c4f0e-2b1a-4e55-8f3c-6a0d1e2f3b4c")

// commandIDFor is the command ID a keyed request runs with.
func commandIDFor(id idemID) string {
	return uuid.NewSHA1(commandIDSpace, []byte(id.school+"\x00"+id.actor+"\x00"+id.key)).String()
}

func headerSubset(h http.Header) map[string]string {
	out := make(map[string]string, len(replayedHeaders))
	for _, k := range replayedHeaders {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

// bufferedWriter holds a keyed request's response until it is recorded,
// so a caller that got an answer can always get it again.
type bufferedWriter struct {
	gin.ResponseWriter
	status  int
	written bool
	body    bytes.Buffer
}

func (w *bufferedWriter) WriteHeader(code int) {
	if code > 0 && !w.written {
		w.status = code
	}
}
func (w *bufferedWriter) WriteHeaderNow()             { w.written = true }
func (w *bufferedWriter) Write(b []byte) (int, error) { w.written = true; return w.body.Write(b) }
func (w *bufferedWriter) WriteString(s string) (int, error) {
	w.written = true
	return w.body.WriteString(s)
}
func (w *bufferedWriter) Status() int   { return w.status }
func (w *bufferedWriter) Size() int     { return w.body.Len() }
func (w *bufferedWriter) Written() bool { return w.written }
func (w *bufferedWriter) Flush()        {} // nothing leaves before it is recorded

// idemID is the primary key of an idempotency record.
type idemID struct{ school, actor, key string }

type idemRecord struct {
	fingerprint []byte
	pending     bool
	status      int
	headers     map[string]string
	body        []byte
}

// idemStore keeps idempotency records in PostgreSQL (migration
// 00002_idempotency.sql).
type idemStore struct {
	pool *pgxpool.Pool
	// lockTimeout is how long a pending record blocks retries; after it,
	// the request that made it is presumed dead (a crash) and a retry
	// with the same request takes the key over.
	lockTimeout time.Duration
}

// claim records a pending request for id, or returns the record already
// there (claimed false).
func (s *idemStore) claim(ctx context.Context, id idemID, command string, fp []byte, now time.Time) (idemRecord, bool, error) {
	// Bounded: the existing row can vanish between the statements (its
	// request failed and released it), then the insert is tried again.
	for range 3 {
		tag, err := s.pool.Exec(ctx, `
			INSERT INTO idempotency_keys AS k (school_id, actor_id, idempotency_key, command, fingerprint, created_at, locked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (school_id, actor_id, idempotency_key) DO UPDATE
			   SET locked_at = EXCLUDED.locked_at
			 WHERE k.status_code IS NULL AND k.fingerprint = EXCLUDED.fingerprint AND k.locked_at < $7`,
			id.school, id.actor, id.key, command, fp, now, now.Add(-s.lockTimeout))
		if err != nil {
			return idemRecord{}, false, err
		}
		if tag.RowsAffected() == 1 {
			return idemRecord{}, true, nil
		}
		var (
			rec     idemRecord
			status  *int32
			headers map[string]string
		)
		err = s.pool.QueryRow(ctx, `
			SELECT fingerprint, status_code, response_headers, response_body
			  FROM idempotency_keys
			 WHERE school_id = $1 AND actor_id = $2 AND idempotency_key = $3`,
			id.school, id.actor, id.key).Scan(&rec.fingerprint, &status, &headers, &rec.body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return idemRecord{}, false, err
		}
		rec.pending = status == nil
		if status != nil {
			rec.status = int(*status)
		}
		rec.headers = headers
		return rec, false, nil
	}
	// Someone keeps claiming and releasing the key: call it in progress.
	return idemRecord{fingerprint: fp, pending: true}, false, nil
}

func (s *idemStore) complete(ctx context.Context, id idemID, status int, headers map[string]string, body []byte, now time.Time) error {
	h, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		UPDATE idempotency_keys
		   SET status_code = $4, response_headers = $5, response_body = $6, completed_at = $7
		 WHERE school_id = $1 AND actor_id = $2 AND idempotency_key = $3 AND status_code IS NULL`,
		id.school, id.actor, id.key, status, h, body, now)
	return err
}

func (s *idemStore) release(ctx context.Context, id idemID) error {
	_, err := s.pool.Exec(ctx, `
		DELETE FROM idempotency_keys
		 WHERE school_id = $1 AND actor_id = $2 AND idempotency_key = $3 AND status_code IS NULL`,
		id.school, id.actor, id.key)
	return err
}

func (s *idemStore) deleteExpired(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, now.Add(-IdempotencyRetention))
	return tag.RowsAffected(), err
}
