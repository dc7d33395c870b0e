package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	now    = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	school = "6f1c1d5e-3a8b-4c2d-9e0f-1a2b3c4d5e6f"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	tok, err := auth.Issue(secret, auth.Claims{Subject: "u-1", Roles: []commands.Role{commands.RoleTeacher}, SchoolID: strings.ToUpper(school)}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := auth.Verify(secret, tok, now.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "u-1" || got.SchoolID != school || !slices.Equal(got.Roles, []commands.Role{commands.RoleTeacher}) {
		t.Fatalf("actor = %+v", got)
	}
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret []byte
		claims auth.Claims
		ttl    time.Duration
		want   string
	}{
		{"short secret", []byte("short"), auth.Claims{Subject: "a", Roles: []commands.Role{commands.RolePlatformAdmin}}, time.Hour, "secret"},
		{"no subject", secret, auth.Claims{Roles: []commands.Role{commands.RolePlatformAdmin}}, time.Hour, "subject"},
		{"no roles", secret, auth.Claims{Subject: "a"}, time.Hour, "no roles"},
		{"unknown role", secret, auth.Claims{Subject: "a", Roles: []commands.Role{"janitor"}}, time.Hour, `"janitor"`},
		{"teacher without school", secret, auth.Claims{Subject: "a", Roles: []commands.Role{commands.RoleTeacher}}, time.Hour, "need a school"},
		{"school not uuid", secret, auth.Claims{Subject: "a", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: "x"}, time.Hour, "not a UUID"},
		{"zero ttl", secret, auth.Claims{Subject: "a", Roles: []commands.Role{commands.RolePlatformAdmin}}, 0, "lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.Issue(tt.secret, tt.claims, tt.ttl, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// sign builds a token by hand, for claims Issue refuses to write.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "u-1", "roles": []string{"school_admin"}, "school": school,
			"iss": auth.Issuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good, err := auth.Issue(secret, auth.Claims{Subject: "u-1", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: school}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	// alg "none" with a forged body: the classic downgrade.
	parts := strings.Split(good, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	// HS384 with the right secret: still not HS256.
	hs384 := sign(t, jwt.SigningMethodHS384, secret, valid())
	// HS256 header but signed by hand with a different key.
	mac := hmac.New(sha256.New, []byte("another secret of thirty-two bytes!"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name  string
		token string
		at    time.Time
		want  string
	}{
		{"empty", "", now, "malformed"},
		{"garbage", "not.a.token", now, "malformed"},
		{"alg none", noneHeader + "." + parts[1] + ".", now, "algorithm"},
		{"alg HS384", hs384, now, "algorithm"},
		{"wrong key", forged, now, "signature"},
		{"expired", good, now.Add(time.Hour + auth.Leeway + time.Second), "expired"},
		{"issued in the future", good, now.Add(-time.Hour), "not valid yet"},
		{"no expiry", sign(t, jwt.SigningMethodHS256, secret, with("exp", nil)), now, "expiry"},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, secret, with("iss", "someone")), now, "issuer"},
		{"no subject", sign(t, jwt.SigningMethodHS256, secret, with("sub", nil)), now, "subject"},
		{"unknown role", sign(t, jwt.SigningMethodHS256, secret, with("roles", []string{"root"})), now, `"root"`},
		{"no roles", sign(t, jwt.SigningMethodHS256, secret, with("roles", nil)), now, "no roles"},
		{"roles not array", sign(t, jwt.SigningMethodHS256, secret, with("roles", "school_admin")), now, "malformed"},
		{"school admin without school", sign(t, jwt.SigningMethodHS256, secret, with("school", nil)), now, "need a school"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.Verify(secret, tt.token, tt.at)
			if !errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidToken mentioning %q", err, tt.want)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	t.Parallel()
	tok, err := auth.Issue(secret, auth.Claims{Subject: "svc", Roles: []commands.Role{commands.RoleService}}, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	// A verifier whose clock is a little behind or ahead still accepts it.
	for _, at := range []time.Time{now.Add(-auth.Leeway / 2), now.Add(time.Minute + auth.Leeway/2)} {
		if _, err := auth.Verify(secret, tok, at); err != nil {
			t.Errorf("at %s: %v", at, err)
		}
	}
}

func TestLoadOrCreateDevSecret(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "jwt-secret")
	first, err := auth.LoadOrCreateDevSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Fatalf("secret is %d bytes", len(first))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := auth.LoadOrCreateDevSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Error("second call returned a different secret")
	}
}

func TestLoadOrCreateDevSecretConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jwt-secret")
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = auth.LoadOrCreateDevSecret(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(got[i]) != string(got[0]) {
			t.Fatal("concurrent first calls disagree on the secret")
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".secret-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestLoadOrCreateDevSecretRejectsDamagedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jwt-secret")
	if err := os.WriteFile(path, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := auth.LoadOrCreateDevSecret(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file", err)
	}
	if _, err := auth.LoadOrCreateDevSecret(""); err == nil {
		t.Error("empty path accepted")
	}
}
