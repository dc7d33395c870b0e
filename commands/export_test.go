package commands

// MaxAttempts is maxAttempts, for the retry tests.
const MaxAttempts = maxAttempts
