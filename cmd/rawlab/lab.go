package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rawlab/rawlab/internal/lab"
	"github.com/rawlab/rawlab/internal/labdhcp"
	"github.com/rawlab/rawlab/internal/outfile"
	"github.com/rawlab/rawlab/internal/privdrop"
)

// labFlags are the flags every lab verb shares.
type labFlags struct {
	prefix string // hidden: a private lab for tests
}

func (f *labFlags) open() (*lab.Lab, error) {
	l, err := lab.New(f.prefix)
	if err != nil {
		return nil, usageError(err)
	}
	return l, nil
}

func newLabCmd(a *app) *cobra.Command {
	var lf labFlags
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Build the lab (namespaces, a bridge, an embedded DHCP server) and run commands in it",
		Long: `The lab is a set of network namespaces joined by a bridge, using only
198.18.0.0/15:

  rl-client  rl0, no address, 02:52:4c:00:00:02 (where rawlab dhcp runs)
  rl-srv     eth0 198.18.0.1/24, rawlab's embedded DHCP server
             (pool 198.18.0.100-198.18.0.199, options 1 3 6 15 28 42 51 54 58 59 119 121)
  rl-h1..5   eth0 198.18.0.11-15/24, kernels that answer ARP
  rl-sw      the bridge br0 (ports c0, s0, h1..)

It is the lab scripts/lab.sh builds, plus the DHCP server.

It needs root, nothing else (no iproute2: it speaks rtnetlink). IPv6 is off
in every namespace. up records what it creates and down removes only that;
the embedded DHCP server gives up root once its socket is open.`,
		Example: `  sudo rawlab lab up && sudo rawlab lab exec -- rawlab dhcp lease -i rl0
  sudo rawlab lab status --json
  sudo rawlab lab demo`,
		Args: positional(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("lab: unknown command %q: want up, down, status, exec or demo", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.PersistentFlags().StringVar(&lf.prefix, "prefix", lab.DefaultPrefix, "namespace name prefix (for a private lab)")
	cmd.PersistentFlags().MarkHidden("prefix")
	cmd.AddCommand(newLabUpCmd(a, &lf), newLabDownCmd(a, &lf), newLabStatusCmd(a, &lf),
		newLabExecCmd(a, &lf), newLabServeCmd(a, &lf), newLabDemoCmd(a, &lf))
	return cmd
}

// serverFlags configure the embedded DHCP server; up passes them to serve.
type serverFlags struct {
	pool          string
	lease, t1, t2 time.Duration
	dns           []string
	domain        string
	search        []string
}

func (f *serverFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.pool, "pool", "198.18.0.100-198.18.0.199", "addresses the DHCP server hands out, FIRST-LAST in 198.18.0.0/24")
	fs.DurationVar(&f.lease, "lease", time.Hour, "lease time (option 51)")
	fs.DurationVar(&f.t1, "t1", 0, "renewal time T1, option 58 (default lease/2)")
	fs.DurationVar(&f.t2, "t2", 0, "rebinding time T2, option 59 (default lease*7/8)")
	fs.StringSliceVar(&f.dns, "dns", []string{"198.18.0.1"}, "DNS servers to hand out (option 6), in 198.18.0.0/15")
	fs.StringVar(&f.domain, "domain", "lab.rawlab.test", "domain name to hand out (option 15)")
	fs.StringSliceVar(&f.search, "search", []string{"lab.rawlab.test", "rawlab.test"}, "domain search list (option 119)")
}

// config checks the flags and returns the server configuration.
func (f *serverFlags) config() (labdhcp.Config, error) {
	cfg := labdhcp.DefaultConfig()
	var err error
	if cfg.PoolStart, cfg.PoolEnd, err = labdhcp.ParsePool(f.pool); err != nil {
		return cfg, usageErrorf("--pool: %v", err)
	}
	cfg.LeaseTime, cfg.T1, cfg.T2 = f.lease, f.t1, f.t2
	cfg.DNS = nil
	for _, d := range f.dns {
		a, err := netip.ParseAddr(strings.TrimSpace(d))
		if err != nil || !a.Is4() || !netip.MustParsePrefix("198.18.0.0/15").Contains(a) {
			return cfg, usageErrorf("--dns %q: want IPv4 addresses in 198.18.0.0/15", d)
		}
		cfg.DNS = append(cfg.DNS, a)
	}
	cfg.Domain, cfg.Search = f.domain, f.search
	if _, err := labdhcp.New(cfg, nil); err != nil {
		return cfg, usageError(err)
	}
	return cfg, nil
}

// args renders the flags for `rawlab lab serve`.
func (f *serverFlags) args() []string {
	return []string{"--pool", f.pool, "--lease", f.lease.String(), "--t1", f.t1.String(), "--t2", f.t2.String(),
		"--dns", strings.Join(f.dns, ","), "--domain", f.domain, "--search", strings.Join(f.search, ",")}
}

func newLabUpCmd(a *app, lf *labFlags) *cobra.Command {
	var sf serverFlags
	var hosts int
	var noDHCP bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the lab and start its DHCP server",
		Example: `  sudo rawlab lab up
  sudo rawlab lab up --hosts 5 --lease 2m
  sudo rawlab lab up --pool 198.18.0.100-198.18.0.101   # a pool to exhaust
  sudo rawlab lab up --no-dhcp && sudo rawlab lab exec srv -- dnsmasq -d -p0 -F 198.18.0.100,198.18.0.199`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := sf.config(); err != nil {
				return err
			}
			if hosts < 0 || hosts > 50 {
				return usageErrorf("--hosts %d: want 0 to 50", hosts)
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			if err := needRoot("lab up"); err != nil {
				return err
			}
			cfg := lab.Config{Hosts: hosts, ServeArgs: sf.args(), NoServer: noDHCP, User: a.user}
			if err := labUp(cmd.Context(), l, cfg); err != nil {
				return err
			}
			if _, err := printStatus(cmd.Context(), a, l); err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintln(a.stderr, "lab up; try: sudo rawlab lab exec -- rawlab dhcp lease -i rl0   (then: sudo rawlab lab down)")
			}
			return nil
		},
	}
	sf.bind(cmd)
	cmd.Flags().IntVar(&hosts, "hosts", lab.DefaultHosts, "host namespaces rl-h1..N whose kernels answer ARP")
	cmd.Flags().BoolVar(&noDHCP, "no-dhcp", false, "do not start the embedded DHCP server (run your own in rl-srv on eth0)")
	return cmd
}

// labUp brings the lab up, mapping "already up" to a usage error.
func labUp(ctx context.Context, l *lab.Lab, cfg lab.Config) error {
	err := l.Up(ctx, cfg)
	if errors.Is(err, lab.ErrUp) || errors.Is(err, lab.ErrBusy) || errors.Is(err, os.ErrPermission) {
		return usageError(err)
	}
	if err != nil {
		return failure(err)
	}
	return nil
}

func newLabDownCmd(a *app, lf *labFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the DHCP server and remove the lab's namespaces (idempotent)",
		Long: `down stops the embedded DHCP server (by the pid in its pid file), ends any
other process still running inside a lab namespace (SIGTERM, then SIGKILL after
2 s), and deletes the namespaces; the veth pairs and the bridge go with them.
It deletes only the namespaces up recorded as its own (by inode): one merely
named like the lab's is left alone. Running it on a lab that is down is not
an error.`,
		Example: "  sudo rawlab lab down",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lf.open()
			if err != nil {
				return err
			}
			if err := needRoot("lab down"); err != nil {
				return err
			}
			if err := l.Down(context.WithoutCancel(cmd.Context())); errors.Is(err, lab.ErrBusy) {
				return usageError(err)
			} else if err != nil {
				return failure(err)
			}
			fmt.Fprintln(a.stderr, "lab down")
			return nil
		},
	}
}

func newLabStatusCmd(a *app, lf *labFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Show the lab's namespaces, addresses, DHCP server and leases",
		Example: "  sudo rawlab lab status\n  sudo rawlab lab status --json | jq .leases",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lf.open()
			if err != nil {
				return err
			}
			if err := needRoot("lab status"); err != nil {
				return err
			}
			st, err := printStatus(cmd.Context(), a, l)
			if err != nil {
				return err
			}
			if !st.Up {
				return silent(exitFailed)
			}
			return nil
		},
	}
}

// printStatus prints the lab's status as text or JSON, and returns it.
func printStatus(ctx context.Context, a *app, l *lab.Lab) (*lab.Status, error) {
	st, err := l.Status(ctx)
	if err != nil {
		return nil, failure(err)
	}
	if a.json {
		return st, json.NewEncoder(a.stdout).Encode(st)
	}
	return st, st.WriteText(a.stdout)
}

func newLabExecCmd(a *app, lf *labFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec [NAMESPACE] -- COMMAND [ARG...]",
		Short: "Run a command inside a lab namespace (default: the client, rl-client)",
		Example: `  sudo rawlab lab exec -- rawlab dhcp lease -i rl0
  sudo rawlab lab exec srv -- ip -br addr
  sudo rawlab lab exec h1 ping -c1 198.18.0.1`,
		Args: positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lf.open()
			if err != nil {
				return err
			}
			ns := lab.RoleClient
			switch dash := cmd.ArgsLenAtDash(); {
			case dash == 1:
				ns, args = args[0], args[1:]
			case dash > 1:
				return usageErrorf("lab exec: want [NAMESPACE] -- COMMAND, got %q before --", args[:dash])
			case dash < 0 && slices.Index(args, "--") > 1:
				// Flags stop at the first argument, so cobra leaves "--" in args.
				return usageErrorf("lab exec: want [NAMESPACE] -- COMMAND, got %q before --", args[:slices.Index(args, "--")])
			case dash < 0 && len(args) > 1 && l.IsName(args[0]):
				// Flags stop at the first argument, so a "--" after the
				// namespace arrives as an argument.
				ns, args = args[0], args[1:]
				if args[0] == "--" {
					args = args[1:]
				}
			}
			if len(args) == 0 {
				return usageErrorf("lab exec: no command given")
			}
			if err := needRoot("lab exec"); err != nil {
				return err
			}
			// Exec replaces this process: the command's status is ours.
			return usageError(l.Exec(ns, args))
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newLabServeCmd(a *app, lf *labFlags) *cobra.Command {
	var sf serverFlags
	var leaseFile string
	var readyFD int
	var outside bool
	cmd := &cobra.Command{
		Use:   "serve -i IF",
		Short: "Run the embedded DHCP server in the foreground (lab up starts it in rl-srv)",
		Long: `serve answers DHCP on IF, which must be the lab's: serve runs only inside the
lab's server namespace as lab up recorded it, on a link the lab made. Once its
sockets are open it becomes the sudo user (or -Z USER), keeping only
CAP_NET_ADMIN, on one thread, for the neighbour entries it installs.`,
		Hidden:  true,
		Example: `  sudo rawlab lab exec srv -- rawlab lab serve -i eth0 -v`,
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ifname, err := a.needInterface()
			if err != nil {
				return err
			}
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			if err := l.ServeHere(ifname, outside); err != nil {
				return usageError(err)
			}
			cfg.LeaseFile = leaseFile
			level := slog.LevelInfo
			if a.verbose > 0 {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			srv, err := labdhcp.New(cfg, log)
			if err != nil {
				return usageError(err)
			}
			ready := func() error {
				// Sockets and netlink are open: from now on write only the
				// lease file's directory, and give up root, before reading.
				if err := privdrop.Confine(confineTo(leaseFile)); err != nil {
					return err
				}
				if err := privdrop.Drop(privdrop.Config{User: a.user, KeepNetAdmin: true}); err != nil {
					return err
				}
				return lab.SignalReady(readyFD, a.stderr)
			}
			if err := srv.Serve(cmd.Context(), ifname, ready); err != nil {
				return usageError(err)
			}
			log.Info("stopped")
			return nil
		},
	}
	sf.bind(cmd)
	cmd.Flags().StringVar(&leaseFile, "lease-file", "", "keep the lease table in this JSON file")
	cmd.Flags().IntVar(&readyFD, "ready-fd", 0, "write \"ready\" on this descriptor once serving (default: stderr)")
	cmd.Flags().BoolVar(&outside, "outside-lab", false, "serve in a test's own namespace, never the host's")
	cmd.Flags().MarkHidden("outside-lab")
	return cmd
}

// confineTo is where the server may write: its lease file's directory.
func confineTo(leaseFile string) []string {
	if leaseFile == "" {
		return nil
	}
	return []string{filepath.Dir(leaseFile)}
}

// needRoot returns a usage error unless we run as root: the lab creates
// network namespaces.
func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return usageErrorf("%s needs root to manage network namespaces: run it as root (sudo)", what)
	}
	return nil
}

func newLabDemoCmd(a *app, lf *labFlags) *cobra.Command {
	var pcap, xid string
	cmd := &cobra.Command{
		Use:   "demo [-- EXTRA-DHCP-LEASE-FLAGS]",
		Short: "Bring the lab up, lease an address by hand, print the decoded exchange, tear the lab down",
		Long: `demo is the one-command tour: it builds the lab, runs

  rawlab dhcp lease -i rl0 --pcap DIR/demo.pcapng

inside rl-client against the embedded DHCP server (DIR is a fresh private
directory, removed at the end), prints the lease, then reads the capture back
and prints every frame decoded with its comment, and removes the lab again
(also when something fails or on Ctrl-C). It needs root, nothing else.`,
		Example: `  sudo rawlab lab demo
  sudo rawlab lab demo --xid 0
  sudo rawlab lab demo -- --no-arp-check --hostname lab1`,
		Args: positional(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if d := cmd.ArgsLenAtDash(); d != 0 && len(args) > 0 {
				return usageErrorf("lab demo: extra flags for dhcp lease go after --")
			}
			if a.json {
				return usageErrorf("lab demo prints a walk-through for people; for JSON run `rawlab lab up` and `rawlab lab exec -- rawlab dhcp lease -i rl0 --json`")
			}
			l, err := lf.open()
			if err != nil {
				return err
			}
			if xid != "" {
				if _, err := strconv.ParseUint(xid, 0, 32); err != nil {
					return usageErrorf("--xid %q: want a 32-bit number, decimal or 0x hex", xid)
				}
			}
			if pcap != "" {
				if err := outfile.Check(pcap); err != nil {
					return usageErrorf("--pcap: %v", err)
				}
			}
			if err := needRoot("lab demo"); err != nil {
				return err
			}
			if pcap == "" {
				dir, err := outfile.MkdirTemp("", "rawlab-demo-")
				if err != nil {
					return failure(err)
				}
				defer os.RemoveAll(dir)
				pcap = filepath.Join(dir, "demo.pcapng")
			}
			return runDemo(cmd.Context(), a, l, pcap, xid, args)
		},
	}
	cmd.Flags().StringVar(&pcap, "pcap", "", "where the exchange is recorded (default: a fresh private directory, removed after)")
	cmd.Flags().StringVar(&xid, "xid", "", "transaction ID for dhcp lease (default random; 0 makes the walk-through reproducible)")
	return cmd
}

// runDemo is `rawlab lab demo`: lab.Demo with the CLI's exit statuses.
func runDemo(ctx context.Context, a *app, l *lab.Lab, pcap, xid string, extra []string) error {
	err := l.Demo(ctx, lab.DemoConfig{Pcap: pcap, XID: xid, Extra: extra, User: a.user, Stdout: a.stdout, Stderr: a.stderr})
	if errors.Is(err, lab.ErrUp) || errors.Is(err, lab.ErrBusy) || errors.Is(err, os.ErrPermission) {
		return usageError(err)
	}
	if err != nil {
		return failure(err)
	}
	return nil
}
