package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit statuses, as STYLE.md fixes them.
const (
	exitOK      = 0 // success
	exitFailed  = 1 // the operation ran and failed: no lease, too few hosts answered
	exitUsage   = 2 // bad usage or environment: flags, interface, permissions, files
	exitUnknown = exitFailed
)

// app holds what every subcommand shares: the global flags and the streams.
// Subcommands get it as an argument; there are no package-level flag variables.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	iface   string // -i/--interface
	json    bool   // --json: one JSON document on stdout
	jsonl   bool   // --jsonl: one JSON object per line on stdout
	user    string // -Z/--user: the user to become once sockets are open
	verbose int    // -v, repeatable

	log *slog.Logger

	// started is set once a command's own code runs; an error before that
	// (unknown command, bad arguments) is a usage error.
	started bool
}

// exitError carries an exit status with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as bad usage or a bad environment (exit status 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// usageErrorf formats a bad-usage error (exit status 2).
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// failure marks err as an operation that ran and failed (exit status 1).
func failure(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitFailed, err: err}
}

// silent is an exit status with no message: the command already said why.
func silent(code int) error { return &exitError{code: code} }

func (e *exitError) silent() bool { return e.err == nil }

// run builds the command tree, executes it and maps the outcome to an exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if !a.started {
		err = usageError(err)
	}
	code, msg := classify(err)
	if msg != "" {
		fmt.Fprintf(stderr, "rawlab: %s\n", msg)
	}
	return code
}

// classify turns an error into an exit status and a one-line message.
func classify(err error) (int, string) {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			return ee.code, ""
		}
		return ee.code, oneLine(withHint(ee.err))
	}
	if isEnvironmentError(err) {
		return exitUsage, oneLine(withHint(err))
	}
	if errors.Is(err, context.Canceled) {
		return exitFailed, "interrupted"
	}
	return exitUnknown, oneLine(err.Error())
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "rawlab",
		Short: "Layer-2 lab tool: DHCP by hand, ARP scans, frame crafting and capture over AF_PACKET",
		Long: `rawlab talks to a network at layer 2 through raw AF_PACKET sockets.

It acquires DHCP leases by hand on an interface with no address, scans subnets
with ARP, crafts Ethernet/802.1Q/ARP/IPv4/UDP/ICMP/DHCP frames, and captures
what crossed the wire to pcapng. Sending needs root or CAP_NET_RAW.

Exit status: 0 success, 1 the operation failed, 2 bad usage or environment.`,
		Example: `  rawlab lab up && rawlab lab exec -- rawlab dhcp lease -i rl0
  rawlab capture -i veth0 -w out.pcapng -c 100
  rawlab craft arp --op request --target-ip 198.18.0.1 --hex`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.started = true
			level := slog.LevelWarn
			switch {
			case a.verbose >= 2:
				level = slog.LevelDebug
			case a.verbose == 1:
				level = slog.LevelInfo
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			if a.json && a.jsonl {
				return usageErrorf("--json and --jsonl exclude each other")
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(err)
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.iface, "interface", "i", "", "network interface to use")
	pf.BoolVar(&a.json, "json", false, "print the result as one JSON document (docs/json.md)")
	pf.BoolVar(&a.jsonl, "jsonl", false, "print results as JSON lines, one object per line, as they happen (docs/json.md)")
	pf.StringVarP(&a.user, "user", "Z", "", "drop root to `USER` once sockets are open (default: the sudo user, if any)")
	pf.CountVarP(&a.verbose, "verbose", "v", "log more to stderr (repeat for debug)")

	root.AddCommand(
		newVersionCmd(a),
		newArpscanCmd(a),
		newArpingCmd(a),
		newCaptureCmd(a),
		newReadCmd(a),
		newCraftCmd(a),
		newLabCmd(a),
		newDHCPCmd(a),
	)
	return root
}

// needInterface returns the -i flag or a usage error naming it.
func (a *app) needInterface() (string, error) {
	if a.iface == "" {
		return "", usageErrorf("no interface given: use -i IF")
	}
	return a.iface, nil
}

// positional wraps cobra's argument validators so that their errors exit 2.
func positional(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return usageError(v(cmd, args))
	}
}
