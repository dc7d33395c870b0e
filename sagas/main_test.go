package sagas_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
