package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rawlab/rawlab/internal/namespace"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// ReadyLine is what `rawlab lab serve` writes on its ready descriptor once
// its socket is bound and it has given up root.
const ReadyLine = "ready"

// ReadyFD is the descriptor number the ready pipe has in the server.
const ReadyFD = 3

// SelfExe names this very binary; the lab runs rawlab through it, never
// through PATH.
const SelfExe = "/proc/self/exe"

// SignalReady tells whoever started the server that it serves: ReadyLine
// on descriptor fd (then closed), or on fallback when fd is not positive.
func SignalReady(fd int, fallback io.Writer) error {
	if fd <= 0 {
		_, err := fmt.Fprintln(fallback, ReadyLine)
		return err
	}
	f := os.NewFile(uintptr(fd), "ready")
	if f == nil {
		return fmt.Errorf("lab: ready descriptor %d: not open", fd)
	}
	defer f.Close()
	_, err := io.WriteString(f, ReadyLine+"\n")
	return err
}

// startServer runs `rawlab lab serve` inside the server namespace, detached
// (its own session, output to the log file), writes the pid file and waits
// for the ready line.
func (l *Lab) startServer(ctx context.Context, cfg Config) error {
	exe := cfg.Exe
	if exe == "" {
		exe = SelfExe
	}
	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	// The server's own directory, owned by whom it drops to.
	owner, ok, err := privdrop.Resolve(cfg.User)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if !ok {
		owner = privdrop.Identity{UID: -1, GID: -1}
	}
	// A fresh one: an earlier server's, perhaps another user's, goes
	// (os.RemoveAll follows no symlink).
	if err := os.RemoveAll(l.ServerDir()); err != nil {
		return fmt.Errorf("lab: old server directory: %w", err)
	}
	if err := outfile.MkdirPrivate(l.ServerDir(), owner); err != nil {
		return fmt.Errorf("lab: server directory: %w", err)
	}
	logf, err := outfile.CreateFor(l.LogFile(), 0o600, privdrop.Identity{UID: -1, GID: -1})
	if err != nil {
		return fmt.Errorf("lab: log file: %w", err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("lab: ready pipe: %w", err)
	}
	defer pr.Close()
	args := []string{"rawlab", "lab", "--prefix", l.Prefix, "serve", "--interface", Iface,
		"--lease-file", l.LeaseFile(), "--ready-fd", strconv.Itoa(ReadyFD)}
	if cfg.User != "" {
		args = append(args, "--user", cfg.User)
	}
	cmd := &exec.Cmd{Path: exe, Args: append(args, cfg.ServeArgs...)}
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the child
	cmd.SysProcAttr = detached()
	if err := namespace.Start(l.NS(RoleServer), cmd); err != nil {
		pw.Close()
		return fmt.Errorf("lab: start server: %w", err)
	}
	pw.Close()
	l.proc = cmd.Process
	pf, err := outfile.CreateFor(l.PIDFile(), 0o600, privdrop.Identity{UID: -1, GID: -1})
	if err != nil {
		return fmt.Errorf("lab: pid file: %w", err)
	}
	_, werr := fmt.Fprintf(pf, "%d\n", cmd.Process.Pid)
	if cerr := pf.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("lab: pid file: %w", werr)
	}
	if err := pr.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("lab: ready pipe: %w", err)
	}
	done := context.AfterFunc(ctx, func() { pr.SetReadDeadline(time.Unix(1, 0)) })
	defer done()
	line, rerr := bufio.NewReader(pr).ReadString('\n')
	if strings.TrimSpace(line) == ReadyLine {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("lab: waiting for the server: %w", ctx.Err())
	}
	why := "exited"
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		why = fmt.Sprintf("not ready after %v", timeout)
	}
	return fmt.Errorf("lab: DHCP server %s: %s (log %s)", why, lastLine(l.LogFile()), l.LogFile())
}

// stopServer ends the server named by the pid file, if it is still ours.
func (l *Lab) stopServer() error {
	pid, ok := l.ServerPID()
	if ok {
		if err := namespace.Terminate(pid, 3*time.Second); err != nil {
			return err
		}
	}
	if l.proc != nil { // started by this process: reap it
		l.proc.Wait()
		l.proc = nil
	}
	if err := os.Remove(l.PIDFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab: pid file: %w", err)
	}
	return nil
}

// ServerPID returns the server's pid from the pid file and whether that
// process is running and is this lab's server (its command line names the
// lab's lease file, so a reused pid is never taken for it).
func (l *Lab) ServerPID() (int, bool) {
	b, err := os.ReadFile(l.PIDFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cl := cmdline(pid)
	if !strings.Contains(cl, "\x00serve\x00") || !strings.Contains(cl, l.LeaseFile()) {
		return pid, false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie (state Z) has exited.
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return pid, false
		}
	}
	return pid, true
}

// cmdline returns the NUL-separated arguments of pid, or "" if it is gone.
func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return string(b)
}

// lastLine returns the last non-empty line of a file, for error messages,
// quoted: the log holds what the server printed.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if s := strings.TrimSpace(lines[len(lines)-1]); s != "" {
		if len(s) > 200 {
			s = s[:200]
		}
		return strconv.Quote(s)
	}
	return "empty log"
}
