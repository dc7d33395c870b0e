package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// GET /asyncapi.json serves the document it was given, to anyone; a
// server given none answers 404 there.
func TestAsyncAPIRoute(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"asyncapi":"3.0.0"}`)
	for _, tc := range []struct {
		name string
		doc  []byte
		want int
	}{{"served", doc, http.StatusOK}, {"none", nil, http.StatusNotFound}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Never connects: pgxpool dials lazily.
			pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			store := newMemStore()
			srv, err := httpapi.NewServer(httpapi.Config{JWTSecret: secret, Registerer: prometheus.NewRegistry(), AsyncAPI: tc.doc},
				httpapi.Deps{Store: store, Pool: pool, Commands: commands.NewRepository(store, nil)})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/asyncapi.json", nil))
			if w.Code != tc.want {
				t.Fatalf("GET /asyncapi.json = %d %s, want %d", w.Code, w.Body, tc.want)
			}
			if tc.want == http.StatusOK && !bytes.Equal(w.Body.Bytes(), tc.doc) {
				t.Errorf("body = %s", w.Body)
			}
		})
	}
}
