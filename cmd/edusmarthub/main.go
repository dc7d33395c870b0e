// Command edusmarthub is the EduSmartHub backend: one binary that serves
// the HTTP API, applies the database migrations and mints development
// tokens. Configuration comes from environment variables only, read once
// here (see internal/config and the README's table).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/caarlos0/env/v11"
)

func main() {
	// One signal context for every subcommand: SIGINT/SIGTERM stop serve
	// gracefully and let migrate stop the embedded cluster it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills at once: the way out
		// of a shutdown that hangs. The embedded PostgreSQL dies with us.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], env.ToMap(os.Environ()), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args with the given environment and
// returns the process exit code. It is main without the process globals,
// so tests drive the binary in-process.
func run(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) int {
	root := newRootCmd(environ, stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "edusmarthub: %v\n", err)
		return 1
	}
	return 0
}
