package netnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts for processes started by Start.
const (
	// ReadyTimeout bounds how long Start waits for the ready line.
	ReadyTimeout = 20 * time.Second
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
	// ioDrainTimeout bounds how long output is read after the process exits
	// (a forked child may hold the pipe open).
	ioDrainTimeout = 2 * time.Second
)

// Proc is a process started in a namespace by Start. Its stdout and stderr
// are collected line by line. It is killed by PID when the test ends.
type Proc struct {
	// Cmd is the running command; Cmd.Process.Pid is the daemon's own PID.
	Cmd *exec.Cmd

	name string

	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed and replaced on every new line

	done    chan struct{} // closed once the process has exited and output is drained
	waitErr error
}

// Start runs name inside the namespace, collecting its stdout and stderr, and
// returns once ready returns true for one of its output lines. If the process
// exits first, or no line is ready within ReadyTimeout, the test fails with
// the collected output. A nil ready returns as soon as the process has started.
// The process is killed by PID at cleanup if it is still running.
func (ns *NS) Start(t testing.TB, ready func(line string) bool, name string, args ...string) *Proc {
	t.Helper()
	return StartCmd(t, ns.Command(context.Background(), name, args...), ready, ReadyTimeout)
}

// StartCmd starts cmd (from NS.Command, with Env or Dir set as needed; its
// Stdout and Stderr must be nil) as Start does, with the given ready timeout.
func StartCmd(t testing.TB, cmd *exec.Cmd, ready func(line string) bool, timeout time.Duration) *Proc {
	t.Helper()
	if cmd.Stdout != nil || cmd.Stderr != nil {
		t.Fatalf("netnstest: StartCmd %s: Stdout and Stderr must be nil", cmd)
	}
	p := &Proc{
		Cmd:     cmd,
		name:    strings.Join(cmd.Args, " "),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	// One writer for both streams: exec shares one pipe, keeping the order.
	w := procWriter{p}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = ioDrainTimeout
	if err := cmd.Start(); err != nil {
		t.Fatalf("netnstest: start %s: %v", p.name, err)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.flushPartial()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.kill(); err != nil {
			t.Errorf("netnstest: %v", err)
		}
		if t.Failed() {
			t.Logf("netnstest: output of %s:\n%s", p.name, p.Output())
		}
	})
	if ready == nil {
		return p
	}
	if _, err := p.waitLine(ready, timeout, true); err != nil {
		t.Fatalf("netnstest: %s: not ready: %v\noutput:\n%s", p.name, err, p.Output())
	}
	return p
}

// procWriter splits what the process writes into lines.
type procWriter struct{ p *Proc }

func (w procWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.addLine(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

// addLine records a line; p.mu is held.
func (p *Proc) addLine(s string) {
	p.lines = append(p.lines, strings.TrimSuffix(s, "\r"))
	close(p.changed)
	p.changed = make(chan struct{})
}

// flushPartial records an unterminated last line; p.mu is held.
func (p *Proc) flushPartial() {
	if len(p.partial) > 0 {
		p.addLine(string(p.partial))
		p.partial = nil
	}
}

// Pid returns the process ID.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Lines returns a copy of the complete output lines so far (stdout and stderr
// interleaved).
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Output returns the output so far as one string, lines joined by "\n".
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.lines, "\n")
	if len(p.partial) > 0 {
		s += "\n" + string(p.partial)
	}
	return s
}

// WaitLine waits until a line of output (one already seen or a later one)
// matches, and returns it. The test fails if the process exits or timeout
// passes first.
func (p *Proc) WaitLine(t testing.TB, match func(line string) bool, timeout time.Duration) string {
	t.Helper()
	line, err := p.waitLine(match, timeout, true)
	if err != nil {
		t.Fatalf("netnstest: %s: %v\noutput:\n%s", p.name, err, p.Output())
	}
	return line
}

// waitLine returns the first line that matches; it gives up when timeout
// passes or, if failOnExit, when the process has exited.
func (p *Proc) waitLine(match func(string) bool, timeout time.Duration, failOnExit bool) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	next := 0
	for {
		p.mu.Lock()
		lines, changed := p.lines[next:], p.changed
		next = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, nil
			}
		}
		select {
		case <-changed:
		case <-p.done:
			p.mu.Lock()
			rest := p.lines[next:]
			p.mu.Unlock()
			for _, l := range rest {
				if match(l) {
					return l, nil
				}
			}
			if failOnExit {
				return "", fmt.Errorf("exited (%v) before the expected line", p.exitErr())
			}
		case <-timer.C:
			return "", fmt.Errorf("no expected line within %v", timeout)
		}
	}
}

func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// Done is closed once the process has exited and its output is collected.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns what exec.Cmd.Wait returned
// (an *exec.ExitError for a non-zero status or a signal), or ctx's error,
// wrapped, if ctx ends first.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waitErr
	case <-ctx.Done():
		return fmt.Errorf("netnstest: wait for %s: %w", p.name, ctx.Err())
	}
}

// Signal sends sig to the process (by PID) unless it has exited.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("netnstest: signal %s: %w", p.name, err)
	}
	return nil
}

// Stop is StopWithin(StopTimeout).
func (p *Proc) Stop() error { return p.StopWithin(StopTimeout) }

// StopWithin asks the process to end with SIGTERM and waits up to timeout for
// it; a process still running then is killed with SIGKILL. It returns nil if
// the process exited with status 0 or died of that SIGTERM, and an error if it
// exited with another status (an *exec.ExitError, also when it had already
// exited before Stop) or had to be killed. It is safe to call more than once.
func (p *Proc) StopWithin(timeout time.Duration) error {
	if p.Exited() {
		return p.Wait(context.Background())
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := p.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		if err := p.kill(); err != nil {
			return err
		}
		return fmt.Errorf("netnstest: %s did not stop within %v of SIGTERM; killed", p.name, timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return err
}

// kill sends SIGKILL and waits (bounded) for the process to be reaped.
func (p *Proc) kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killTimeout):
		return fmt.Errorf("%s (pid %d) not reaped %v after SIGKILL", p.name, p.Pid(), killTimeout)
	}
}
