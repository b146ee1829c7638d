package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/rawlab/rawlab/internal/labdhcp"
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
		ns := Namespace{Name: name, Role: l.role(name), Links: []Link{}}
		base[ns.Role] = true
		out, err := ipOutput(ctx, "-j", "-n", name, "addr", "show")
		if err != nil {
			return nil, err
		}
		var links []struct {
			IfName    string   `json:"ifname"`
			Address   string   `json:"address"`
			OperState string   `json:"operstate"`
			Flags     []string `json:"flags"`
			Master    string   `json:"master"`
			AddrInfo  []struct {
				Family    string `json:"family"`
				Local     string `json:"local"`
				PrefixLen int    `json:"prefixlen"`
			} `json:"addr_info"`
		}
		if err := json.Unmarshal(out, &links); err != nil {
			return nil, fmt.Errorf("lab: ip -j addr in %s: %w", name, err)
		}
		for _, k := range links {
			if k.IfName == "lo" {
				continue
			}
			lk := Link{Name: k.IfName, MAC: k.Address, State: k.OperState, Master: k.Master, Addrs: []string{}}
			for _, f := range k.Flags {
				lk.Up = lk.Up || f == "UP"
			}
			for _, a := range k.AddrInfo {
				if a.Family == "inet" {
					lk.Addrs = append(lk.Addrs, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
				}
			}
			ns.Links = append(ns.Links, lk)
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

// Command returns a command that runs args inside the lab namespace ns (a
// short name such as "client" or a full one), through `ip netns exec`. It
// checks that the namespace exists.
func (l *Lab) Command(ctx context.Context, ns string, args ...string) (*exec.Cmd, error) {
	full := l.NS(ns)
	if !l.isOurs(full) {
		return nil, fmt.Errorf("lab: %q is not a lab namespace (client, srv, sw, h1...)", ns)
	}
	nss, err := l.Namespaces()
	if err != nil {
		return nil, err
	}
	found := false
	for _, n := range nss {
		found = found || n == full
	}
	if !found {
		return nil, fmt.Errorf("lab: namespace %s does not exist (is the lab up? `rawlab lab up`)", full)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("lab: no command to run in %s", full)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", full}, args...)...), nil
}
