// Package pgcluster runs a local PostgreSQL cluster from the installed
// server binaries: the embedded database of `make run` (kept under the
// project's data folder across runs) and the throwaway clusters of tests
// and benchmarks.
//
// The server is a child process of the caller. It listens on 127.0.0.1
// only, with trust authentication for the superuser "postgres". When the
// caller is root the binaries run as the postgres OS user, because initdb
// and postgres refuse to run as root.
package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the
// server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// majorVersion is the server major version a data directory must have.
const majorVersion = "15"

// Superuser is the role every connection string names.
const Superuser = "postgres"

// Options configure Start.
type Options struct {
	// DataDir is the cluster's data directory (PGDATA). It is created and
	// initialised when it holds no cluster yet.
	DataDir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// BinDir holds initdb and postgres; DefaultBinDir when empty.
	BinDir string
	// Logger receives what the package does; nothing is logged when nil.
	Logger *slog.Logger
	// SocketDir, when set, is where the server also opens its Unix socket
	// (for psql -h DIR). Empty: no Unix socket, TCP only.
	SocketDir string
	// Throwaway marks a disposable cluster (tests, benchmarks): fsync,
	// synchronous_commit and full_page_writes are turned off, trading crash
	// safety for speed. A crash can lose or corrupt such a cluster, which
	// does not matter for data deleted at the end of the run. Never set it
	// for data that is kept.
	Throwaway bool
	// Settings are extra server settings (name to value), passed as
	// -c name=value after ours so they win.
	Settings map[string]string
}

// Cluster is a running server.
type Cluster struct {
	dataDir string
	port    int
	log     *slog.Logger

	// proc is nil when the server was already running when Start was
	// called: it belongs to whoever started it and Stop leaves it alone.
	proc    *os.Process
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts the cluster in o.DataDir, running initdb first if the
// directory holds no cluster yet, and returns once the server accepts
// connections. If a server is already running from that directory on
// o.Port, Start returns it as is. A postmaster.pid left behind by a crash is
// handled: PostgreSQL recovers from it, and a stale one whose pid now
// belongs to another process is removed.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("pgcluster: no data directory given")
	}
	if o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("pgcluster: port %d is not a TCP port (1-65535)", o.Port)
	}
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: data directory %q: %w", o.DataDir, err)
	}
	for _, bin := range []string{"initdb", "postgres"} {
		if err := checkBinary(filepath.Join(o.BinDir, bin)); err != nil {
			return nil, err
		}
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dataDir, owner, logger); err != nil {
		return nil, err
	}

	initialised, err := hasCluster(dataDir)
	if err != nil {
		return nil, err
	}
	if !initialised {
		if err := initdb(ctx, o, dataDir, owner, logger); err != nil {
			return nil, err
		}
	}

	running, err := checkPidFile(dataDir, logger)
	if err != nil {
		return nil, err
	}
	if running != nil {
		return adopt(ctx, dataDir, o.Port, running, logger)
	}

	if o.SocketDir != "" {
		if err := prepareSocketDir(o.SocketDir, owner); err != nil {
			return nil, err
		}
	}
	c := &Cluster{dataDir: dataDir, port: o.Port, log: logger, exited: make(chan struct{})}
	if err := c.start(ctx, o, owner); err != nil {
		return nil, err
	}
	return c, nil
}

// ConnString returns the URL of database on this cluster, as the
// superuser over TCP.
func (c *Cluster) ConnString(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     fmt.Sprintf("127.0.0.1:%d", c.port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// Done is closed when a server this Cluster started exits, for whatever
// reason; for a server that was already running it is never closed.
func (c *Cluster) Done() <-chan struct{} { return c.exited }

// CreateDatabase creates database name unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	return CreateDatabase(ctx, c.ConnString("postgres"), name)
}

// DropDatabase drops database name, if it exists, on the server that
// adminURL (as for CreateDatabase) points at. FORCE: a connection left
// behind (a subscription still stopping) does not keep it.
func DropDatabase(ctx context.Context, adminURL, name string) (err error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgcluster: drop database %q: connect: %w", name, err)
	}
	defer func() {
		if cerr := conn.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("pgcluster: drop database %q: close connection: %w", name, cerr)
		}
	}()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgcluster: drop database %q: %w", name, err)
	}
	return nil
}

// CreateDatabase creates database name on the server that adminURL (a
// connection string to an existing database, as a role allowed to create
// databases) points at, unless it exists.
func CreateDatabase(ctx context.Context, adminURL, name string) (err error) {
	if name == "" {
		return errors.New("pgcluster: empty database name")
	}
	if len(name) > 63 {
		return fmt.Errorf("pgcluster: database name %q is longer than PostgreSQL's 63 bytes", name)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: connect: %w", name, err)
	}
	defer func() {
		if cerr := conn.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("pgcluster: create database %q: close connection: %w", name, cerr)
		}
	}()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", name, err)
	}
	return nil
}

// Stop shuts a server this Cluster started down (PostgreSQL's fast
// shutdown: open transactions are rolled back, clients disconnected) and
// waits for it to exit. If ctx ends first the server is killed
// (immediate shutdown) and ctx's error returned. A server that was already
// running when Start was called is left running. Stop may be called more
// than once.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.proc == nil {
		c.log.Info("postgres was running before we started it: leaving it running", "data_dir", c.dataDir)
		return nil
	}
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	select {
	case <-c.exited:
		c.log.Info("postgres had already exited", "data_dir", c.dataDir, "err", c.waitErr)
		return nil
	default:
	}
	if err := c.proc.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgcluster: stop postgres (pid %d): %w", c.proc.Pid, err)
	}
	select {
	case <-c.exited:
		c.log.Info("postgres stopped", "data_dir", c.dataDir)
		return nil
	case <-ctx.Done():
	}
	// Immediate shutdown: the next start runs crash recovery, which is
	// safe; better than leaving a server behind.
	_ = c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		_ = c.proc.Kill()
		<-c.exited
	}
	return fmt.Errorf("pgcluster: fast shutdown of postgres did not finish, killed it: %w", ctx.Err())
}

// start launches the postmaster and waits until it is ready.
func (c *Cluster) start(ctx context.Context, o Options, owner *osUser) error {
	logPath := filepath.Join(c.dataDir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: open server log: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor
	if owner != nil {
		if err := os.Chown(logPath, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("pgcluster: chown server log: %w", err)
		}
	}
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("pgcluster: server log: %w", err)
	}

	args := []string{"-D", c.dataDir}
	for _, kv := range serverSettings(o) {
		args = append(args, "-c", kv)
	}
	cmd := exec.Command(filepath.Join(o.BinDir, "postgres"), args...)
	cmd.Dir = "/" // the server user may not be able to enter the caller's directory
	cmd.Env = withMallocTuning(serverEnv())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	deathSignal := syscall.SIGINT // fast shutdown keeps a kept cluster clean
	if o.Throwaway {
		deathSignal = syscall.SIGQUIT
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C in the terminal reaches the caller,
		// which shuts down in order and then stops the server.
		Setpgid: true,
		// If the caller dies without stopping the server, the kernel stops
		// it: no orphaned servers holding the port and the directory.
		Pdeathsig: deathSignal,
	}
	if owner != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(owner.uid), Gid: uint32(owner.gid)}
	}

	// Pdeathsig fires when the thread that forked the child exits, and Go
	// may end idle threads. The goroutine below keeps its thread locked, and
	// so alive, for as long as the server runs.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.exited)
		// Leaving the goroutine locked ends its thread, which is what we
		// want: the thread's only job is over.
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.proc = cmd.Process
	c.log.Info("postgres starting", "data_dir", c.dataDir, "port", c.port, "pid", c.proc.Pid, "log", logPath, "throwaway", o.Throwaway)

	if err := c.waitReady(ctx); err != nil {
		tail := logTail(logPath, logStart)
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = c.stop(stopCtx)
		if tail != "" {
			return fmt.Errorf("%w\nserver log (%s):\n%s", err, logPath, tail)
		}
		return err
	}
	c.log.Info("postgres ready", "data_dir", c.dataDir, "port", c.port)
	return nil
}

// waitReady waits until the postmaster reports itself ready in
// postmaster.pid (as pg_ctl does) and a connection succeeds.
func (c *Cluster) waitReady(ctx context.Context) error {
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(2 * time.Minute) // recovery after a crash can take a while
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("pgcluster: postgres exited during startup: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: waiting for postgres to start: %w", ctx.Err())
		case <-deadline:
			return errors.New("pgcluster: postgres did not become ready within 2 minutes")
		case <-ticker.C:
		}
		pf, err := readPidFile(c.dataDir)
		if err != nil || pf.pid != c.proc.Pid || pf.status != "ready" {
			continue
		}
		if err := ping(ctx, c.ConnString("postgres")); err != nil {
			c.log.Debug("postgres not accepting connections yet", "err", err)
			continue
		}
		return nil
	}
}

func ping(ctx context.Context, connString string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// serverSettings are the -c settings of the postmaster, sorted for
// stable logs.
func serverSettings(o Options) []string {
	s := map[string]string{
		"port":                    strconv.Itoa(o.Port),
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": o.SocketDir, // empty: no socket (Debian's default dir may not exist)
		// Tests and dev run many pools at once.
		"max_connections": "200",
		// The log goes to server.log in the data directory; keep it short.
		"log_line_prefix": "%m [%p] %q%u@%d ",
		"log_checkpoints": "off",
	}
	if o.Throwaway {
		// Throwaway clusters are deleted after the run, so crash safety is
		// not worth the disk waits.
		s["fsync"] = "off"
		s["synchronous_commit"] = "off"
		s["full_page_writes"] = "off"
	}
	for k, v := range o.Settings {
		s[k] = v
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+s[k])
	}
	return out
}

// serverEnv is the caller's environment without the PG* variables, which
// would otherwise change what initdb and postgres do.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// mallocTuning keeps glibc from handing the top of each backend's heap
// back to the kernel as soon as a query frees it. glibc starts with both
// its thresholds at 128 KiB and raises them only when a block it gave
// from mmap is freed (mmap's to that size, at most 32 MiB, trim's to
// twice that); our backends seldom free one, so theirs stayed at the
// start. Their heaps grew by 144 KiB and shrank again in four brk calls
// about 450 times a second at 500 commands/s: 3-5% of the 2-core
// machine's CPU in brk, plus the page faults of touching the memory
// again (perf, cmd/projbench). Setting either variable fixes both
// thresholds: here 8 MiB for mmap (blocks under it come from the heap;
// PostgreSQL's memory contexts grow in blocks of up to 8 MiB, whose
// largest, with glibc's header, still goes to mmap) and 16 MiB of free
// heap top a backend may keep, about what glibc's own rule would set
// after freeing such a block. Set by the caller, these variables win.
var mallocTuning = []string{
	"MALLOC_MMAP_THRESHOLD_=" + strconv.Itoa(8<<20),
	"MALLOC_TRIM_THRESHOLD_=" + strconv.Itoa(16<<20),
}

// withMallocTuning adds mallocTuning to env, except the variables env
// already sets.
func withMallocTuning(env []string) []string {
	for _, kv := range mallocTuning {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") }) {
			env = append(env, kv)
		}
	}
	return env
}

// osUser is the account the server runs as, when it is not the caller.
type osUser struct {
	name     string
	uid, gid int
}

// serverUser returns the postgres OS user when the caller is root, and nil
// (run as ourselves) otherwise.
func serverUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, so PostgreSQL must run as the postgres OS user, which was not found (the postgresql-15 package creates it): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: postgres user has uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: postgres user has gid %q: %w", u.Gid, err)
	}
	return &osUser{name: u.Username, uid: uid, gid: gid}, nil
}

func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("pgcluster: %s not found: the PostgreSQL 15 server binaries are needed (Debian/Ubuntu package postgresql-15): %w", path, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("pgcluster: %s is not an executable file (expected from the postgresql-15 package)", path)
	}
	return nil
}

// prepareDir makes dataDir exist with the modes PostgreSQL demands, owned
// by the server user, and reachable by it.
func prepareDir(dataDir string, owner *osUser, logger *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return fmt.Errorf("pgcluster: create parent of data directory: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pgcluster: create data directory: %w", err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return fmt.Errorf("pgcluster: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pgcluster: data directory %s is not a directory", dataDir)
	}
	if owner != nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != owner.uid {
			// A fresh directory, or one made by another user: hand all of
			// it to the server user, as PostgreSQL requires.
			if err := chownTree(dataDir, owner); err != nil {
				return err
			}
		}
		if err := makeTraversable(filepath.Dir(dataDir), owner, logger); err != nil {
			return err
		}
	}
	// PostgreSQL refuses a data directory that group or others can enter.
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dataDir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: chmod data directory: %w", err)
		}
	}
	return nil
}

func chownTree(root string, owner *osUser) error {
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, owner.uid, owner.gid)
	})
	if err != nil {
		return fmt.Errorf("pgcluster: give %s to the %s user: %w", root, owner.name, err)
	}
	return nil
}

// makeTraversable lets the server user pass through every directory above
// the data directory: it adds the search (x) bit for others where it is
// missing. Only traversal is granted, never listing or reading.
func makeTraversable(dir string, owner *osUser, logger *slog.Logger) error {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: resolve %s: %w", dir, err)
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		reachable := mode&0o001 != 0 ||
			(st != nil && int(st.Uid) == owner.uid && mode&0o100 != 0) ||
			(st != nil && int(st.Gid) == owner.gid && mode&0o010 != 0)
		if !reachable {
			if err := os.Chmod(dir, fi.Mode()|0o001); err != nil {
				return fmt.Errorf("pgcluster: let the %s user through %s: %w", owner.name, dir, err)
			}
			logger.Info("added search permission for others so the postgres user can reach its data directory", "dir", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func prepareSocketDir(dir string, owner *osUser) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create socket directory: %w", err)
	}
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("pgcluster: chown socket directory: %w", err)
		}
	}
	return nil
}

// hasCluster reports whether dataDir holds an initialised cluster of the
// right major version.
func hasCluster(dataDir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		entries, err := os.ReadDir(dataDir)
		if err != nil {
			return false, fmt.Errorf("pgcluster: read data directory: %w", err)
		}
		if len(entries) > 0 {
			return false, fmt.Errorf("pgcluster: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it or choose another data directory", dataDir)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgcluster: read PG_VERSION: %w", err)
	}
	if v := strings.TrimSpace(string(b)); v != majorVersion {
		return false, fmt.Errorf("pgcluster: %s holds a PostgreSQL %s cluster, but these are PostgreSQL %s binaries; remove it or choose another data directory", dataDir, v, majorVersion)
	}
	return true, nil
}

// initdb creates the cluster: superuser postgres, UTF-8, C locale, trust on
// the loopback address only.
func initdb(ctx context.Context, o Options, dataDir string, owner *osUser, logger *slog.Logger) error {
	args := []string{
		"-D", dataDir,
		"-U", Superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--no-locale",
		"--no-instructions",
	}
	if o.Throwaway {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(o.BinDir, "initdb"), args...)
	cmd.Dir = "/"
	cmd.Env = serverEnv()
	if owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(owner.uid), Gid: uint32(owner.gid)}}
	}
	logger.Info("initialising PostgreSQL cluster", "data_dir", dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb %s: %w\n%s", dataDir, err, bytes.TrimSpace(out))
	}
	// initdb's trust rules also cover ::1 and replication; keep exactly
	// what the server is for.
	hba := "# Written by pgcluster: trust for local connections only; the server listens on 127.0.0.1 alone.\n" +
		"local all all trust\n" +
		"host  all all 127.0.0.1/32 trust\n"
	hbaPath := filepath.Join(dataDir, "pg_hba.conf")
	if err := os.WriteFile(hbaPath, []byte(hba), 0o600); err != nil {
		return fmt.Errorf("pgcluster: write pg_hba.conf: %w", err)
	}
	if owner != nil {
		if err := os.Chown(hbaPath, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("pgcluster: chown pg_hba.conf: %w", err)
		}
	}
	return nil
}

// pidFile is the part of postmaster.pid we read (see PostgreSQL's
// miscadmin.h, LOCK_FILE_LINE_*).
type pidFile struct {
	pid    int
	port   int
	status string // "starting", "stopping", "ready", "standby"
}

func readPidFile(dataDir string) (pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	var pf pidFile
	if len(lines) >= 1 {
		pf.pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if len(lines) >= 4 {
		pf.port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	if len(lines) >= 8 {
		pf.status = strings.TrimSpace(lines[7])
	}
	if pf.pid <= 0 {
		return pf, fmt.Errorf("postmaster.pid has no pid")
	}
	return pf, nil
}

// checkPidFile looks at a postmaster.pid already in dataDir. It returns
// the file when a postmaster of this directory is running. A file whose
// process is gone is left to PostgreSQL, which recovers from it; a file
// whose pid now belongs to an unrelated process is removed, because
// PostgreSQL would refuse to start.
func checkPidFile(dataDir string, logger *slog.Logger) (*pidFile, error) {
	pf, err := readPidFile(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// An empty or torn file is what a crash during startup leaves.
		logger.Warn("ignoring unreadable postmaster.pid", "data_dir", dataDir, "err", err)
		return nil, removeStale(dataDir)
	}
	switch postmasterState(pf.pid, dataDir) {
	case procGone:
		logger.Info("stale postmaster.pid (its server is gone); PostgreSQL will recover", "data_dir", dataDir, "pid", pf.pid)
		return nil, nil
	case procOther:
		logger.Warn("removing stale postmaster.pid: its pid now belongs to another process", "data_dir", dataDir, "pid", pf.pid)
		return nil, removeStale(dataDir)
	default:
		return &pf, nil
	}
}

func removeStale(dataDir string) error {
	if err := os.Remove(filepath.Join(dataDir, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pgcluster: remove stale postmaster.pid: %w", err)
	}
	return nil
}

type procState int

const (
	procGone  procState = iota // no such process
	procOther                  // a process that is not a postmaster of this directory
	procOurs                   // a postgres process of this directory, or one we cannot inspect
)

func postmasterState(pid int, dataDir string) procState {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return procGone
	}
	// The postmaster runs with the data directory as its working directory.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return procGone
		}
		// Another user's process: its command line is still readable.
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && !bytes.Contains(cmdline, []byte("postgres")) {
			return procOther
		}
		return procOurs // cannot tell: assume the server is real
	}
	resolved, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		resolved = dataDir
	}
	if cwd == dataDir || cwd == resolved {
		return procOurs
	}
	return procOther
}

// adopt returns a server that was already running from dataDir.
func adopt(ctx context.Context, dataDir string, port int, pf *pidFile, logger *slog.Logger) (*Cluster, error) {
	if pf.port != 0 && pf.port != port {
		return nil, fmt.Errorf("pgcluster: a postgres server (pid %d) is already running from %s on port %d, not %d; stop it or use its port", pf.pid, dataDir, pf.port, port)
	}
	c := &Cluster{dataDir: dataDir, port: port, log: logger, exited: make(chan struct{})}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(time.Minute)
	for {
		if err := ping(ctx, c.ConnString("postgres")); err == nil {
			logger.Info("using the postgres server already running from the data directory", "data_dir", dataDir, "port", port, "pid", pf.pid)
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pgcluster: waiting for the running server (pid %d): %w", pf.pid, ctx.Err())
		case <-deadline:
			return nil, fmt.Errorf("pgcluster: a postgres server (pid %d) runs from %s but does not accept connections on 127.0.0.1:%d", pf.pid, dataDir, port)
		case <-ticker.C:
		}
	}
}

// logTail returns the server log written since offset, at most 40 lines.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for throwaway clusters.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	return port, nil
}
