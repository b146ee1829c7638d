package dhcpclient

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// NAKError is a DHCPNAK: the server refused the request (RFC 2131 §3.1 step
// 4, §4.3.2).
type NAKError struct {
	State     State      `json:"state"` // the state the DHCPREQUEST was sent in
	Server    netip.Addr `json:"server"`
	ServerMAC MAC        `json:"server_mac"`
	Message   string     `json:"message,omitempty"` // option 56, if the server gave one
	Requested netip.Addr `json:"requested,omitzero"`
}

// Error names the server, the address and its message.
func (e *NAKError) Error() string {
	s := fmt.Sprintf("dhcpclient: DHCPNAK from %s", e.Server)
	if e.Requested.IsValid() {
		s += fmt.Sprintf(" for %s", e.Requested)
	}
	s += fmt.Sprintf(" (%s)", e.State.label())
	if e.Message != "" {
		s += fmt.Sprintf(": %q", e.Message)
	}
	return s
}

// ConflictError says the ARP check found another host using the address
// (RFC 5227 §2.1.1); the client sent a DHCPDECLINE for it.
type ConflictError struct {
	Address netip.Addr `json:"address"`
	Holder  MAC        `json:"holder"` // the MAC that claimed the address
	Server  netip.Addr `json:"server"` // the server that offered it
}

// Error names the address and the MAC holding it.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("dhcpclient: address %s offered by %s is in use by %s (declined)", e.Address, e.Server, e.Holder)
}

// NoReplyError says the retransmission schedule ran out with no acceptable
// reply (RFC 2131 §4.1).
type NoReplyError struct {
	Message string          // e.g. "DHCPDISCOVER"
	State   State           // state the messages were sent in
	Tries   int             // how many were sent
	Waits   []time.Duration // the wait after each
	Ignored int             // frames received and ignored meanwhile
}

// Error says how many tries went out and that nothing came back.
func (e *NoReplyError) Error() string {
	var total time.Duration
	w := make([]string, len(e.Waits))
	for i, d := range e.Waits {
		total += d
		w[i] = d.Round(time.Millisecond).String()
	}
	what := e.Message
	if e.State != StateInvalid {
		what += " (" + e.State.label() + ")"
	}
	s := fmt.Sprintf("dhcpclient: no reply to %s: %d tries sent over %s (waits %s), nothing came back",
		what, e.Tries, total.Round(time.Millisecond), strings.Join(w, ", "))
	if e.Ignored > 0 {
		s += fmt.Sprintf(" that matched (%d DHCP frames ignored)", e.Ignored)
	}
	return s
}

// ConfigError is an invalid Config field, found before anything is sent.
type ConfigError struct {
	Field, Value, Reason string
}

// Error names the field and why it is wrong.
func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("dhcpclient: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("dhcpclient: %s %q: %s", e.Field, e.Value, e.Reason)
}

// RogueError says that only servers outside Config.Trusted answered: their
// offers were not requested.
type RogueError struct {
	Offers []*Reply
}

// Error names the servers that answered.
func (e *RogueError) Error() string {
	var parts []string
	for _, o := range e.Offers {
		parts = append(parts, fmt.Sprintf("%s (from %s, %s) offering %s", o.Server, o.SrcIP, o.ServerMAC, o.Address))
	}
	return "dhcpclient: only unexpected servers answered: " + strings.Join(parts, "; ")
}
