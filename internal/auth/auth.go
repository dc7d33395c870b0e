// Package auth issues and verifies the bearer tokens of the HTTP API:
// HS256 JWTs carrying the caller's subject, roles and school. Only HS256 is
// accepted, so a token cannot choose a weaker (or no) algorithm, and the
// roles are parsed into commands.Role so an unknown role never gets in.
package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Issuer is the "iss" of every token; Verify rejects others.
const Issuer = "edusmarthub"

// MinSecretLen is the shortest accepted HMAC secret: HS256 wants at least
// as many key bits as the hash has (RFC 7518 section 3.2).
const MinSecretLen = 32

// Leeway is the clock skew tolerated on "exp", "nbf" and "iat".
const Leeway = 30 * time.Second

// ErrInvalidToken is matched (errors.Is) by every Verify failure; the
// error's text says what is wrong and is safe to show the caller.
var ErrInvalidToken = errors.New("invalid token")

// Claims is what a token says about its bearer.
type Claims struct {
	// Subject is the caller's ID ("sub"): a user (teacher, guardian,
	// admin) or a service.
	Subject string
	// Roles are what the caller may do ("roles"); at least one.
	Roles []commands.Role
	// SchoolID is the tenant the caller belongs to ("school"), a UUID.
	// Required for school-bound roles (school_admin, teacher, guardian);
	// empty for a platform admin or a cross-school service.
	SchoolID string
}

// wireClaims is the JWT body.
type wireClaims struct {
	Roles  []string `json:"roles"`
	School string   `json:"school,omitempty"`
	jwt.RegisteredClaims
}

// Issue signs a token for c, valid from now for ttl.
func Issue(secret []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("auth: secret is %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("auth: token lifetime must be positive, got %s", ttl)
	}
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	actor, err := actorOf(c.Subject, roles, c.SchoolID)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	wc := wireClaims{
		Roles:  roles,
		School: actor.SchoolID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   actor.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, wc).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// Verify checks a token's signature (HS256 only), issuer and lifetime at
// now, and returns the actor it names.
func Verify(secret []byte, token string, now time.Time) (commands.Actor, error) {
	if len(secret) < MinSecretLen {
		// A configuration error, not the caller's: say so plainly.
		return commands.Actor{}, fmt.Errorf("auth: secret is %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	// Name a wrong algorithm as such: the library reports it as a bad
	// signature, which sends the caller looking for the wrong problem.
	if head, _, err := p.ParseUnverified(token, &jwt.MapClaims{}); err == nil && head.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return commands.Actor{}, fmt.Errorf("%w: unsupported signing algorithm %q (only HS256)", ErrInvalidToken, head.Method.Alg())
	}
	var wc wireClaims
	_, err := p.ParseWithClaims(token, &wc, func(*jwt.Token) (any, error) { return secret, nil })
	if err != nil {
		return commands.Actor{}, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	actor, err := actorOf(wc.Subject, wc.Roles, wc.School)
	if err != nil {
		return commands.Actor{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return actor, nil
}

// actorOf validates the claims both Issue and Verify care about.
func actorOf(subject string, roles []string, school string) (commands.Actor, error) {
	if subject == "" {
		return commands.Actor{}, errors.New("missing subject")
	}
	if len(roles) == 0 {
		return commands.Actor{}, errors.New("no roles")
	}
	a := commands.Actor{ID: subject, Roles: make([]commands.Role, 0, len(roles))}
	for _, s := range roles {
		r, ok := commands.RoleFromString(s)
		if !ok {
			return commands.Actor{}, fmt.Errorf("unknown role %q", s)
		}
		a.Roles = append(a.Roles, r)
	}
	if school != "" {
		id, err := uuid.Parse(school)
		if err != nil {
			return commands.Actor{}, fmt.Errorf("school %q is not a UUID", school)
		}
		// Canonical form, so it compares equal to path parameters.
		a.SchoolID = id.String()
	}
	if a.SchoolID == "" && a.Has(commands.RoleSchoolAdmin, commands.RoleTeacher, commands.RoleGuardian) {
		return commands.Actor{}, errors.New("roles school_admin, teacher and guardian need a school")
	}
	return a, nil
}

// reason turns a jwt error into a short phrase for the caller.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature is invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unsupported signing algorithm (only HS256)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing expiry"
	}
	return "token rejected"
}
