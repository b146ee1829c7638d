package dhcpclient

import "strings"

// State is a DHCP client state of RFC 2131 §4.4 (figure 5).
type State uint8

// Client states. The zero value is invalid.
const (
	StateInvalid    State = iota
	StateInit             // INIT: no lease, about to send DHCPDISCOVER
	StateSelecting        // SELECTING: DHCPDISCOVER sent, collecting offers
	StateRequesting       // REQUESTING: DHCPREQUEST for a chosen offer sent
	StateBound            // BOUND: the lease is held
	StateInitReboot       // INIT-REBOOT: a previous address is known
	StateRebooting        // REBOOTING: DHCPREQUEST for that address sent
	StateRenewing         // RENEWING: unicast DHCPREQUEST to the leasing server
	StateRebinding        // REBINDING: broadcast DHCPREQUEST to any server
)

var stateNames = [...]string{"INVALID", "INIT", "SELECTING", "REQUESTING", "BOUND", "INIT-REBOOT", "REBOOTING", "RENEWING", "REBINDING"}

// String returns the RFC name, e.g. "REQUESTING".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "INVALID"
}

// MarshalText encodes s as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// label is the state in lower case, as step comments write it.
func (s State) label() string { return strings.ToLower(s.String()) }

// ARPCheck selects the conflict check run on an address before it is
// accepted (RFC 5227 §2.1.1).
type ARPCheck uint8

// Conflict checks. The zero value is invalid; a zero Config.ARPCheck means
// ARPCheckShort.
const (
	ARPCheckInvalid ARPCheck = iota
	// ARPCheckShort sends one ARP Probe and waits Config.ProbeWait (200 ms
	// by default) for an answer.
	ARPCheckShort
	// ARPCheckRFC5227 applies RFC 5227 §2.1.1 timing: a random wait of up to
	// PROBE_WAIT (1 s), PROBE_NUM (3) probes PROBE_MIN to PROBE_MAX (1-2 s)
	// apart, then ANNOUNCE_WAIT (2 s).
	ARPCheckRFC5227
	// ARPCheckNone skips the check.
	ARPCheckNone
)

// String returns "short", "rfc5227" or "none".
func (a ARPCheck) String() string {
	switch a {
	case ARPCheckShort:
		return "short"
	case ARPCheckRFC5227:
		return "rfc5227"
	case ARPCheckNone:
		return "none"
	}
	return "invalid"
}

// ParseARPCheck parses "short", "rfc5227" or "none".
func ParseARPCheck(s string) (ARPCheck, error) {
	for _, a := range []ARPCheck{ARPCheckShort, ARPCheckRFC5227, ARPCheckNone} {
		if strings.EqualFold(s, a.String()) {
			return a, nil
		}
	}
	return ARPCheckInvalid, &ConfigError{Field: FieldARPCheck, Value: s, Reason: "want short, rfc5227 or none"}
}
