package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateDevSecret returns the signing secret kept in the file at
// path, creating it with 32 random bytes (hex, mode 0600) the first time.
// It is for dev mode only, when no secret is configured: the secret then
// survives restarts, so issued tokens keep working, and is never a
// constant in the code. Concurrent first calls agree on one secret.
func LoadOrCreateDevSecret(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("auth: dev secret path is empty")
	}
	secret, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: create dev secret folder: %w", err)
	}
	raw := make([]byte, MinSecretLen)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("auth: generate dev secret: %w", err)
	}
	// Write a temporary file and link it into place: the link fails if
	// another process got there first, and nobody ever reads half a file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create dev secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("auth: write dev secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSecret(path)
		}
		return nil, fmt.Errorf("auth: store dev secret: %w", err)
	}
	return raw, nil
}

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: read dev secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) < MinSecretLen {
		// Never replace it silently: every token issued with it would
		// stop working without a word.
		return nil, fmt.Errorf("auth: dev secret file %s is not %d or more hex-encoded bytes; delete it to generate a new one", path, MinSecretLen)
	}
	return secret, nil
}
