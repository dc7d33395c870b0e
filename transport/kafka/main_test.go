package kafka_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

// One TestMain for the package's tests (producer and consumer side):
// it stops the throwaway PostgreSQL cluster that pgtest starts on first use.
func TestMain(m *testing.M) { pgtest.Main(m) }
