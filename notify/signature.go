package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers of a webhook request.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp" // Unix seconds
	HeaderWebhookSignature = "webhook-signature" // "v1,<base64>", space-separated when several
)

// DefaultVerifyTolerance is how far a request's timestamp may be from the
// receiver's clock for Verify (replay protection).
const DefaultVerifyTolerance = 5 * time.Minute

// ErrSignature is matched (errors.Is) by the error of Verify for a
// request that is not signed with the secret, or too old.
var ErrSignature = errors.New("notify: webhook signature not valid")

const secretPrefix = "whsec_"

// secretKey is the HMAC key of a secret: the decoded bytes of a
// "whsec_<base64>" secret, else the secret's bytes.
func secretKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("empty webhook secret")
	}
	if b64, ok := strings.CutPrefix(secret, secretPrefix); ok {
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %s...: not base64 after the prefix: %w", secretPrefix, err)
		}
		if len(key) == 0 {
			return nil, errors.New("empty webhook secret")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// signature is "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
func signature(key []byte, id string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(unix, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign returns the webhook-signature header value of a request with the
// given webhook-id, timestamp and body, as the dispatcher sends it.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return signature(key, id, timestamp.Unix(), body), nil
}

// Verify checks a webhook request for a receiver: the headers'
// webhook-signature must hold a v1 signature of webhook-id,
// webhook-timestamp and body with secret, and the timestamp must be within
// DefaultVerifyTolerance of now. Check the raw body, before decoding it.
func Verify(secret string, h http.Header, body []byte) error {
	return VerifyAt(secret, h, body, time.Now(), DefaultVerifyTolerance)
}

// VerifyAt is Verify against the given time and tolerance (0: no
// timestamp check).
func VerifyAt(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing %s, %s or %s header", ErrSignature, HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature)
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrSignature, tsText)
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: timestamp %s is more than %s from now", ErrSignature, time.Unix(unix, 0).UTC().Format(time.RFC3339), tolerance)
		}
	}
	_, want, _ := strings.Cut(signature(key, id, unix, body), ",")
	wantMAC, _ := base64.StdEncoding.DecodeString(want)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, wantMAC) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}
