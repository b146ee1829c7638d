// Command rawlab talks to a network at layer 2 through raw AF_PACKET sockets:
// it acquires DHCP leases by hand, scans subnets with ARP, crafts frames and
// captures them to pcapng. See README.md for the walkthrough.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
