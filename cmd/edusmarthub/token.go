package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	"github.com/edusmarthub/edusmarthub/internal/config"
)

// maxTokenTTL bounds hand-minted tokens: long enough for a working week,
// short enough that a pasted token does not live forever.
const maxTokenTTL = 30 * 24 * time.Hour

func (a *app) tokenCmd() *cobra.Command {
	var (
		roles  []string
		school string
		sub    string
		ttl    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token --role ROLE [--school ID] [--sub ID] [--ttl D]",
		Short: "Print a bearer token signed with the configured secret",
		Long: `Print a bearer token (HS256 JWT) signed with the server's secret:
EDUSMARTHUB_JWT_SECRET, or in development the secret the server keeps in
$EDUSMARTHUB_DATA_DIR/jwt-secret (created on first use), so a token minted here
works against a server started with the same settings.

Roles: platform_admin, school_admin, teacher, guardian, service.
school_admin, teacher and guardian belong to a school: --school is required.`,
		Example: `  edusmarthub token --role platform_admin
  edusmarthub token --role school_admin --school 6f1c2a9e-8d4b-4c3e-9a57-0d2f4b1e7c11
  edusmarthub token --role teacher --school $SCHOOL --sub $TEACHER_ID --ttl 1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			claims, err := tokenClaims(roles, school, sub, ttl)
			if err != nil {
				return err
			}
			cfg, _, err := a.setup()
			if err != nil {
				return err
			}
			secret, err := jwtSecret(cfg)
			if err != nil {
				return err
			}
			tok, err := auth.Issue(secret, claims, ttl, time.Now())
			if err != nil {
				return err
			}
			// The token alone on stdout: TOKEN=$(edusmarthub token ...) works.
			_, err = fmt.Fprintln(a.stdout, tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&roles, "role", nil, "role(s) of the bearer; repeat the flag or separate with commas")
	f.StringVar(&school, "school", "", "school (tenant) ID, a UUID; required for school_admin, teacher and guardian")
	f.StringVar(&sub, "sub", "", "subject (user ID); a fresh UUID when empty")
	f.DurationVar(&ttl, "ttl", 24*time.Hour, "lifetime of the token")
	return cmd
}

// tokenClaims validates the flags and reports every problem at once.
func tokenClaims(roles []string, school, sub string, ttl time.Duration) (auth.Claims, error) {
	var errs []error
	c := auth.Claims{Subject: strings.TrimSpace(sub)}
	if len(roles) == 0 {
		errs = append(errs, errors.New("--role is required (one of platform_admin, school_admin, teacher, guardian, service)"))
	}
	for _, s := range roles {
		r, ok := commands.RoleFromString(strings.TrimSpace(s))
		if !ok {
			errs = append(errs, fmt.Errorf("--role %q is not one of platform_admin, school_admin, teacher, guardian, service", s))
			continue
		}
		c.Roles = append(c.Roles, r)
	}
	if school = strings.TrimSpace(school); school != "" {
		id, err := uuid.Parse(school)
		if err != nil {
			errs = append(errs, fmt.Errorf("--school %q is not a UUID", school))
		}
		c.SchoolID = id.String()
	}
	scoped := commands.Actor{Roles: c.Roles}.Has(commands.RoleSchoolAdmin, commands.RoleTeacher, commands.RoleGuardian)
	if scoped && school == "" {
		errs = append(errs, errors.New("--school is required for the roles school_admin, teacher and guardian"))
	}
	if c.Subject == "" && sub != "" {
		errs = append(errs, errors.New("--sub must not be blank"))
	}
	if c.Subject == "" {
		c.Subject = uuid.NewString()
	}
	if ttl <= 0 || ttl > maxTokenTTL {
		errs = append(errs, fmt.Errorf("--ttl %s is not between 0 and %s", ttl, maxTokenTTL))
	}
	if len(errs) > 0 {
		return auth.Claims{}, errors.Join(errs...)
	}
	return c, nil
}

// jwtSecret is the configured secret, or in development the one kept in
// the data folder, created on first use and shared by serve and token.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	if cfg.Production() {
		// config.Load refuses this; keep the guarantee local too.
		return nil, errors.New("EDUSMARTHUB_JWT_SECRET is required in production")
	}
	return auth.LoadOrCreateDevSecret(devSecretPath(cfg))
}

func devSecretPath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "jwt-secret") }
