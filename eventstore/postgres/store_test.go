package postgres_test

import (
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/eventstore/storetest"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return postgres.New(pgtest.NewPool(t), postgres.WithPollInterval(50*time.Millisecond))
	})
}
