package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/rawlab/rawlab/internal/labdhcp"
	"github.com/rawlab/rawlab/internal/namespace"
)

// Status is what `rawlab lab status` reports.
type Status struct {
	Up         bool            `json:"up"` // the client, switch and server namespaces exist
	Namespaces []Namespace     `json:"namespaces"`
	Server     ServerStatus    `json:"server"`
	Leases     []labdhcp.Lease `json:"leases"`
}

// Namespace is one lab namespace and its links (lo left out).
type Namespace struct {
	Name  string `json:"name"`
	Role  string `json:"role"` // client, switch, server or host
	Links []Link `json:"links"`
}

// Link is one interface of a namespace.
type Link struct {
	Name   string   `json:"name"`
	MAC    string   `json:"mac"`
	State  string   `json:"state"` // operstate (RFC 2863), as the kernel reports it
	Up     bool     `json:"up"`    // administratively up (IFF_UP)
	Master string   `json:"master,omitempty"`
	Addrs  []string `json:"addrs"` // CIDR notation, IPv4
}

// ServerStatus describes the embedded DHCP server.
type ServerStatus struct {
	PID       int    `json:"pid,omitempty"`
	Running   bool   `json:"running"`
	LogFile   string `json:"log_file"`
	LeaseFile string `json:"lease_file"`
}

// Status inspects the lab.
func (l *Lab) Status(ctx context.Context) (*Status, error) {
	nss, err := l.Namespaces()
	if err != nil {
		return nil, err
	}
	st := &Status{Namespaces: []Namespace{}, Leases: []labdhcp.Lease{}}
	base := map[string]bool{}
	for _, name := range nss {
		ns := Namespace{Name: name, Role: l.role(name)}
		base[ns.Role] = true
		if ns.Links, err = links(name); err != nil {
			return nil, err
		}
		st.Namespaces = append(st.Namespaces, ns)
	}
	pid, running := l.ServerPID()
	st.Server = ServerStatus{PID: pid, Running: running, LogFile: l.LogFile(), LeaseFile: l.LeaseFile()}
	if !running {
		st.Server.PID = 0
	}
	ls, err := labdhcp.ReadLeaseFile(l.LeaseFile())
	if err != nil {
		return nil, err
	}
	if ls != nil {
		st.Leases = ls
	}
	st.Up = base["client"] && base["switch"] && base["server"]
	return st, nil
}

// role names the part a namespace plays.
func (l *Lab) role(name string) string {
	switch strings.TrimPrefix(name, l.Prefix) {
	case RoleClient:
		return "client"
	case RoleSwitch:
		return "switch"
	case RoleServer:
		return "server"
	}
	return "host"
}

// Exec replaces this process with args run inside the lab namespace ns (a
// short name such as "client" or a full one), as `ip netns exec` does, with
// /sys showing the namespace's devices. The command runs with this
// process's privileges: it is the one the user named. A bare name is looked
// up only in root-owned PATH directories no one else can write. Exec
// returns only on failure.
func (l *Lab) Exec(ns string, args []string) error {
	full := l.NS(ns)
	if !l.isOurs(full) {
		return fmt.Errorf("lab: %q is not a lab namespace (client, srv, sw, h1...)", ns)
	}
	if len(args) == 0 {
		return fmt.Errorf("lab: no command to run in %s", full)
	}
	if err := l.exists(full); err != nil {
		return err
	}
	path, err := lookPath(args[0])
	if err != nil {
		return err
	}
	return execIn(full, path, args, os.Environ())
}

// Start starts cmd (not yet started) inside the lab namespace ns.
func (l *Lab) Start(ns string, cmd *exec.Cmd) error {
	full := l.NS(ns)
	if err := l.exists(full); err != nil {
		return err
	}
	return namespace.Start(full, cmd)
}

// exists checks that the full namespace name is one of the lab's own.
func (l *Lab) exists(full string) error {
	nss, err := l.Namespaces()
	if err != nil {
		return err
	}
	if !slices.Contains(nss, full) {
		return fmt.Errorf("lab: namespace %s does not exist (is the lab up? `rawlab lab up`)", full)
	}
	return nil
}
