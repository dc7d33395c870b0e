package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edusmarthub/edusmarthub/internal/config"
)

// version is set at build time (make build: -ldflags "-X main.version=...");
// otherwise it falls back to the VCS revision Go stamps into the binary.
var version = ""

// app is what every subcommand shares: the environment it was started
// with and where it writes.
type app struct {
	environ        map[string]string
	stdout, stderr io.Writer
}

func newRootCmd(environ map[string]string, stdout, stderr io.Writer) *cobra.Command {
	a := &app{environ: environ, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "edusmarthub",
		Short: "EduSmartHub: event-sourced school-management backend",
		Long: `EduSmartHub is an event-sourced CQRS backend for school management.

Every setting comes from an environment variable (see the README). With none
set, it keeps a PostgreSQL cluster of its own under ./.data and serves on :8080.`,
		// Errors are printed once by run; a usage dump would bury them.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError) // the subcommands inherit it
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.tokenCmd(),
		a.dlqCmd(),
		a.projectionsCmd(),
		a.replayCmd(),
		a.eventstoreCmd(),
		a.versionCmd(),
	)
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
	return root
}

// flagKinds says in words what a flag of each value type takes.
var flagKinds = map[string]string{
	"bool":   "true or false",
	"int":    "a whole number",
	"int64":  "a whole number",
	"uint64": "a whole number, 0 or more",
}

// flagError names a flag value that does not parse and what the flag
// takes, instead of passing on strconv's message.
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if !errors.As(err, &bad) {
		return err
	}
	want, ok := flagKinds[bad.GetFlag().Value.Type()]
	if !ok {
		return err
	}
	return fmt.Errorf("--%s %q: want %s", bad.GetFlag().Name, bad.GetValue(), want)
}

// refuseUnknownSubcommands makes a command that only groups others (dlq,
// projections, eventstore) fail on an argument that is none of them.
// Cobra would print the group's help and exit 0, so a mistyped verb in a
// script would pass for a success.
func refuseUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor does not apply
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if near := cmd.SuggestionsFor(args[0]); len(near) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(near, "\n\t")
		}
		return errors.New(msg)
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}

// setup loads and validates the configuration and builds the logger.
// Every subcommand that needs either calls it first.
func (a *app) setup() (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(a.environ)
	if err != nil {
		return config.Config{}, nil, err
	}
	logger := newLogger(cfg, a.stderr)
	for _, k := range config.UnknownVariables(a.environ) {
		logger.Warn("ignoring unknown variable; is it a typo?", "variable", k)
	}
	return cfg, logger, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, "edusmarthub", buildVersion())
			return err
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return info.Main.Version + " " + info.GoVersion
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev + dirty + " " + info.GoVersion
}
