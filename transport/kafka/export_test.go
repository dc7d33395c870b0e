package kafka

// For tests.
var (
	ConsumerConfigFor = consumerConfigFor
	DecodeRecord      = decodeRecord
)
