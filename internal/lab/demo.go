package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// DemoConfig is what `rawlab lab demo` was asked.
type DemoConfig struct {
	Pcap   string   // where dhcp lease records the exchange
	XID    string   // dhcp lease --xid, if not empty
	Extra  []string // more dhcp lease flags
	User   string   // -Z for the lab's server
	Stdout io.Writer
	Stderr io.Writer
}

// Demo is the one-command tour: it brings the lab up, runs
// `rawlab dhcp lease -i rl0 --pcap PCAP` (this very binary, /proc/self/exe)
// in the client namespace, prints the capture decoded, and brings the lab
// down again, also when something fails or ctx ends.
func (l *Lab) Demo(ctx context.Context, cfg DemoConfig) (err error) {
	out := cfg.Stdout
	fmt.Fprintf(out, "# rawlab lab up\n")
	if err := l.Up(ctx, Config{Hosts: DefaultHosts, User: cfg.User}); err != nil {
		return err
	}
	defer func() {
		if derr := l.Down(context.WithoutCancel(ctx)); derr != nil && err == nil {
			err = derr
		}
		fmt.Fprintf(out, "\n# rawlab lab down\nlab removed\n")
	}()
	pid, _ := l.ServerPID()
	fmt.Fprintf(out, "rl-client rl0 (no address) -- br0 in rl-sw -- rl-srv eth0 198.18.0.1/24, DHCP server pid %d\n\n", pid)

	args := []string{"dhcp", "lease", "-i", ClientIface, "--pcap", cfg.Pcap}
	if cfg.XID != "" {
		args = append(args, "--xid", cfg.XID)
	}
	args = append(args, cfg.Extra...)
	fmt.Fprintf(out, "# rawlab lab exec -- rawlab %s\n", strings.Join(args, " "))
	c := exec.CommandContext(ctx, "/proc/self/exe") // this very binary (SelfExe), never PATH's
	c.Args = append([]string{"rawlab"}, args...)
	c.Stdout, c.Stderr = out, cfg.Stderr
	runErr := l.Start(RoleClient, c)
	if runErr == nil {
		runErr = c.Wait()
	}

	fmt.Fprintf(out, "\n# rawlab read %s  (what crossed the wire)\n", cfg.Pcap)
	perr := WriteCapture(out, cfg.Pcap)
	if perr == nil {
		fmt.Fprintf(out, "\nThe DHCP messages field by field (RFC 2131 §2, options RFC 2132 §9):\n")
		perr = WriteDHCPFields(out, cfg.Pcap)
	}
	if perr != nil {
		fmt.Fprintf(cfg.Stderr, "rawlab: demo: %v\n", perr)
		if runErr == nil {
			return fmt.Errorf("lab: demo: %w", perr)
		}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return fmt.Errorf("lab: demo: dhcp lease exited with status %d", ee.ExitCode())
	}
	if runErr != nil {
		return fmt.Errorf("lab: demo: dhcp lease: %w", runErr)
	}
	return nil
}
