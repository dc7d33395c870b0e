package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
)

// edusmarthub runs the binary in-process and returns its exit code,
// stdout and stderr.
func edusmarthub(t *testing.T, environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

const school = "6f1c2a9e-8d4b-4c3e-9a57-0d2f4b1e7c11"

func TestTokenDevSecretIsSharedWithServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	environ := map[string]string{"EDUSMARTHUB_DATA_DIR": dir}

	code, out, errOut := edusmarthub(t, environ, "token", "--role", "school_admin", "--school", school, "--sub", "u-1", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, errOut)
	}
	// The server loads the same file (serve: jwtSecret -> LoadOrCreateDevSecret).
	secret, err := auth.LoadOrCreateDevSecret(filepath.Join(dir, "jwt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || strings.ContainsAny(tok, " \t") {
		t.Fatalf("stdout should be the token alone, got %q", out)
	}
	actor, err := auth.Verify(secret, tok, time.Now())
	if err != nil {
		t.Fatalf("token does not verify with the dev secret file: %v", err)
	}
	want := commands.Actor{ID: "u-1", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: school}
	if actor.ID != want.ID || actor.SchoolID != want.SchoolID || !slices.Equal(actor.Roles, want.Roles) {
		t.Errorf("actor = %+v, want %+v", actor, want)
	}
	if _, err := auth.Verify(secret, tok, time.Now().Add(2*time.Hour)); err == nil {
		t.Error("a 1h token still verifies 2h later")
	}

	// A second token signs with the same, now existing, secret.
	code, out, errOut = edusmarthub(t, environ, "token", "--role", "platform_admin")
	if code != 0 {
		t.Fatalf("second token exited %d: %s", code, errOut)
	}
	actor, err = auth.Verify(secret, strings.TrimSpace(out), time.Now())
	if err != nil {
		t.Fatalf("second token: %v", err)
	}
	if _, err := uuid.Parse(actor.ID); err != nil {
		t.Errorf("default subject %q is not a UUID", actor.ID)
	}
	if actor.SchoolID != "" {
		t.Errorf("platform admin got school %q", actor.SchoolID)
	}
}

func TestTokenConfiguredSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := "a-configured-secret-of-enough-bytes-0123456789"
	environ := map[string]string{
		"EDUSMARTHUB_DATA_DIR":   dir,
		"EDUSMARTHUB_JWT_SECRET": secret,
		"EDUSMARTHUB_ENV":        "production",
	}
	code, out, errOut := edusmarthub(t, environ, "token", "--role", "teacher,guardian", "--school", strings.ToUpper(school))
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, errOut)
	}
	actor, err := auth.Verify([]byte(secret), strings.TrimSpace(out), time.Now())
	if err != nil {
		t.Fatalf("token does not verify with EDUSMARTHUB_JWT_SECRET: %v", err)
	}
	if !actor.Has(commands.RoleTeacher) || !actor.Has(commands.RoleGuardian) || actor.SchoolID != school {
		t.Errorf("actor = %+v", actor)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Errorf("a configured secret must not create files in the data folder: %v", matches)
	}
}

func TestTokenRejectsBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // every one must appear in stderr
	}{
		{"no role", nil, []string{"--role is required"}},
		{"unknown role", []string{"--role", "janitor"}, []string{`--role "janitor" is not one of`}},
		{"school role without school", []string{"--role", "teacher"}, []string{"--school is required"}},
		{"school admin without school", []string{"--role", "platform_admin,school_admin"}, []string{"--school is required"}},
		{"bad school", []string{"--role", "school_admin", "--school", "hillside"}, []string{`--school "hillside" is not a UUID`}},
		{"zero ttl", []string{"--role", "platform_admin", "--ttl", "0s"}, []string{"--ttl 0s"}},
		{"huge ttl", []string{"--role", "platform_admin", "--ttl", "9000h"}, []string{"--ttl 9000h"}},
		{"blank sub", []string{"--role", "platform_admin", "--sub", "  "}, []string{"--sub must not be blank"}},
		{"not a duration", []string{"--role", "platform_admin", "--ttl", "soon"}, []string{"--ttl"}},
		{"stray argument", []string{"--role", "platform_admin", "extra"}, []string{"unknown command"}},
		{"all at once", []string{"--role", "janitor,teacher", "--ttl", "-1h"}, []string{
			`--role "janitor"`, "--school is required", "--ttl -1h0m0s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			code, out, errOut := edusmarthub(t, map[string]string{"EDUSMARTHUB_DATA_DIR": dir}, append([]string{"token"}, tt.args...)...)
			if code == 0 {
				t.Fatalf("token %v succeeded, printed %q", tt.args, out)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing on failure", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
				t.Errorf("rejected flags still created %v", matches)
			}
		})
	}
}

func TestBadConfigurationNamesEveryVariable(t *testing.T) {
	t.Parallel()
	code, _, errOut := edusmarthub(t, map[string]string{
		"EDUSMARTHUB_DATA_DIR":  t.TempDir(),
		"EDUSMARTHUB_ENV":       "staging",
		"EDUSMARTHUB_LOG_LEVEL": "loud",
	}, "token", "--role", "platform_admin")
	if code == 0 {
		t.Fatal("token succeeded with a bad configuration")
	}
	for _, k := range []string{"EDUSMARTHUB_ENV", "EDUSMARTHUB_LOG_LEVEL"} {
		if !strings.Contains(errOut, k) {
			t.Errorf("stderr does not name %s:\n%s", k, errOut)
		}
	}
}

func TestUnknownVariableIsWarned(t *testing.T) {
	t.Parallel()
	code, _, errOut := edusmarthub(t, map[string]string{
		"EDUSMARTHUB_DATA_DIR": t.TempDir(),
		"EDUSMARTHUB_LOGLEVEL": "debug",
	}, "token", "--role", "platform_admin")
	if code != 0 {
		t.Fatalf("token exited %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "EDUSMARTHUB_LOGLEVEL") {
		t.Errorf("no warning about the unknown variable:\n%s", errOut)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, _ := edusmarthub(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "edusmarthub ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// A mistyped verb of a command group fails, naming it: printing the
// group's help and exiting 0 would let a script carry on as if it ran.
func TestGroupsRefuseUnknownSubcommands(t *testing.T) {
	t.Parallel()
	for _, group := range []string{"dlq", "eventstore", "projections"} {
		code, out, errOut := edusmarthub(t, nil, group, "frob")
		if want := `unknown command "frob" for "edusmarthub ` + group + `"`; code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s frob: exit %d, stderr %q; want a failure saying %s", group, code, errOut, want)
		}
		if out != "" {
			t.Errorf("%s frob printed %q", group, out)
		}
		if code, out, _ := edusmarthub(t, nil, group); code != 0 || !strings.Contains(out, "Available Commands") {
			t.Errorf("%s alone: exit %d, stdout %q; want its help", group, code, out)
		}
	}
	if _, _, errOut := edusmarthub(t, nil, "projections", "rebuid"); !strings.Contains(errOut, "Did you mean this?\n\trebuild") {
		t.Errorf("projections rebuid: stderr %q, want the suggestion rebuild", errOut)
	}
}

// A flag value that does not parse is named with what the flag takes, not
// with strconv's message.
func TestBadFlagValuesSayWhatTheFlagTakes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--channel", "teacher", "--from-position", "-3"}, `--from-position "-3": want a whole number, 0 or more`},
		{[]string{"projections", "rebuild", "--all", "--batch", "x"}, `--batch "x": want a whole number`},
		{[]string{"dlq", "list", "--all=maybe"}, `--all "maybe": want true or false`},
	} {
		code, _, errOut := edusmarthub(t, nil, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "strconv") {
			t.Errorf("%v: exit %d, stderr %q; want %q", tt.args, code, errOut, tt.want)
		}
	}
}
