package main

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

// The tests that need a database share the harness's throwaway cluster;
// serve's own test still starts the embedded cluster it is about.
func TestMain(m *testing.M) { pgtest.Main(m) }
