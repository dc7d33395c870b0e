package kafka

// For tests.
var (
	ConsumerConfigFor = consumerConfigFor
	DecodeRecord      = decodeRecord
)

const FetchWaitMinBytes = fetchWaitMinBytes
