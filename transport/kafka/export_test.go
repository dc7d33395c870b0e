package kafka

// ConsumerConfigFor is consumerConfigFor, for tests.
var ConsumerConfigFor = consumerConfigFor
