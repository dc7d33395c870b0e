package notify_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/notify"
)

// The example of the Standard Webhooks specification.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeaders(sig string, ts int64) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestSignMatchesTheStandardWebhooksExample(t *testing.T) {
	t.Parallel()
	got, err := notify.Sign(specSecret, specID, time.Unix(specTimestamp, 0), []byte(specBody))
	if err != nil || got != specSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, specSignature)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	for name, tc := range map[string]struct {
		secret string
		h      http.Header
		body   string
		now    time.Time
		ok     bool
	}{
		"the spec's example":          {specSecret, specHeaders(specSignature, specTimestamp), specBody, at, true},
		"one of several signatures":   {specSecret, specHeaders("v1,bm90IGl0 v2,xyz "+specSignature, specTimestamp), specBody, at, true},
		"within the tolerance":        {specSecret, specHeaders(specSignature, specTimestamp), specBody, at.Add(4 * time.Minute), true},
		"a changed body":              {specSecret, specHeaders(specSignature, specTimestamp), `{"test": 2432232315}`, at, false},
		"another secret":              {"whsec_" + "c2VjcmV0", specHeaders(specSignature, specTimestamp), specBody, at, false},
		"a replayed old request":      {specSecret, specHeaders(specSignature, specTimestamp), specBody, at.Add(10 * time.Minute), false},
		"a timestamp from the future": {specSecret, specHeaders(specSignature, specTimestamp), specBody, at.Add(-10 * time.Minute), false},
		"another timestamp":           {specSecret, specHeaders(specSignature, specTimestamp+1), specBody, time.Unix(specTimestamp+1, 0), false},
		"no signature":                {specSecret, specHeaders("", specTimestamp), specBody, at, false},
		"an unknown version only":     {specSecret, specHeaders("v2,"+specSignature[3:], specTimestamp), specBody, at, false},
	} {
		err := notify.VerifyAt(tc.secret, tc.h, []byte(tc.body), tc.now, notify.DefaultVerifyTolerance)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !tc.ok && !errors.Is(err, notify.ErrSignature) {
			t.Errorf("%s: error %v, want ErrSignature", name, err)
		}
	}
}

func TestVerifyNowAndRawSecrets(t *testing.T) {
	t.Parallel()
	// A secret without the whsec_ prefix is used as it is.
	now := time.Now()
	body := []byte(`{"hello":"world"}`)
	sig, err := notify.Sign("plain secret", "delivery-1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "delivery-1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := notify.Verify("plain secret", h, body); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := notify.Verify("other secret", h, body); !errors.Is(err, notify.ErrSignature) {
		t.Errorf("Verify with another secret: %v", err)
	}
}
