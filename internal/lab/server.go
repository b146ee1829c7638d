package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadyLine is what `rawlab lab serve` writes on its ready descriptor once
// its socket is bound.
const ReadyLine = "ready"

// ReadyFD is the descriptor number the ready pipe has in the server.
const ReadyFD = 3

// startServer runs `rawlab lab serve` inside the server namespace, detached
// (its own session, output to the log file), writes the pid file and waits
// for the ready line.
func (l *Lab) startServer(ctx context.Context, cfg Config) error {
	exe := cfg.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("lab: find rawlab: %w", err)
		}
	}
	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if err := os.MkdirAll(l.RunDir, 0o755); err != nil {
		return fmt.Errorf("lab: run directory: %w", err)
	}
	if err := os.Remove(l.LeaseFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab: old lease file: %w", err)
	}
	logf, err := os.OpenFile(l.LogFile(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("lab: log file: %w", err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("lab: ready pipe: %w", err)
	}
	defer pr.Close()
	args := append([]string{"netns", "exec", l.NS(RoleServer), exe, "lab", "serve",
		"--interface", Iface, "--lease-file", l.LeaseFile(), "--ready-fd", strconv.Itoa(ReadyFD)}, cfg.ServeArgs...)
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("lab: start server: %w", err)
	}
	pw.Close()
	l.proc = cmd.Process
	if err := os.WriteFile(l.PIDFile(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("lab: pid file: %w", err)
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
		if err := terminate(pid, 3*time.Second); err != nil {
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
	if !strings.Contains(cl, "lab\x00serve") || !strings.Contains(cl, l.LeaseFile()) {
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

// lastLine returns the last non-empty line of a file, for error messages.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if s := strings.TrimSpace(lines[len(lines)-1]); s != "" {
		return s
	}
	return "empty log"
}
