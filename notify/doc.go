// Package notify delivers the in-app messages of the communication channel
// (message.sent.v1) to people outside the app: by e-mail (SMTP) and to a
// webhook.
//
// A Dispatcher is a Kafka handler ("notify.delivery" on the communication
// channel, built in cmd). For every message it resolves each recipient to
// an e-mail address through an AddressBook (internal/directory reads the
// teacher directory and the students' guardians) and delivers through each
// configured channel once per (message, recipient, channel):
//
//   - Handle records the message and one delivery row per recipient and
//     channel (table notification_deliveries, migration 00005) in one
//     transaction, then makes the first attempt of each. A recipient
//     without an address is skipped (and counted) on every channel.
//   - A delivery that was sent is never sent again, however often the
//     message is redelivered. A failed attempt is recorded (attempts,
//     last_error) and, when it may succeed later (network errors, SMTP 4xx
//     replies, HTTP 5xx and 429), retried with exponential backoff by Run
//     (or RetryDue), at most MaxAttempts times in all; then, or at once
//     for a permanent rejection (SMTP 5xx, HTTP 4xx), it is marked failed
//     with the reason. Handle returns nil whatever its first attempts
//     give (only failing to record is an error), so one bad address
//     holds up the topic for one attempt at most, never for its retries.
//     Run must therefore run beside the Kafka handler: it makes every
//     attempt after the first.
//   - An attempt in flight holds a lease on its row, so replicas (and a
//     redelivery racing the retry loop) never attempt the same delivery at
//     once. Only a crash between the send and the record of its success
//     can send a copy twice; the receiver can tell: the e-mail's
//     Message-ID and the webhook-id header are derived from the message,
//     recipient and channel and are the same on every attempt.
//
// The webhook body is a CloudEvents 1.0 JSON event (structured mode,
// type "edusmarthub.notification.v1", WebhookEvent) signed the Standard
// Webhooks way: webhook-id, webhook-timestamp and webhook-signature
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>". Receivers check it with
// Verify.
package notify
