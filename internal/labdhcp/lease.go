package labdhcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// State is where an address stands in the lease table.
type State uint8

// States of an address. The zero value is invalid.
const (
	StateOffered  State = iota + 1 // offered in answer to a DISCOVER, held for Config.OfferHold
	StateBound                     // acknowledged: the client holds it until Expires
	StateDeclined                  // a client found it in use (DECLINE): out of the pool until Expires
)

var stateNames = map[State]string{StateOffered: "offered", StateBound: "bound", StateDeclined: "declined"}

// String returns the state's name: offered, bound or declined.
func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) {
	if _, ok := stateNames[s]; !ok {
		return nil, fmt.Errorf("labdhcp: invalid lease state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	for k, v := range stateNames {
		if v == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("labdhcp: unknown lease state %q", b)
}

// Lease is one row of the lease table.
type Lease struct {
	IP       netip.Addr `json:"ip"`
	MAC      string     `json:"mac"`                 // chaddr, aa:bb:cc:dd:ee:ff
	ClientID string     `json:"client_id,omitempty"` // option 61 in hex, when the client sent one
	Hostname string     `json:"hostname,omitempty"`  // option 12 as the client sent it
	State    State      `json:"state"`
	Start    time.Time  `json:"start"`   // when the state was last entered or the lease renewed
	Expires  time.Time  `json:"expires"` // end of the offer, lease or decline hold
}

// key identifies the client holding l: its client identifier, else its MAC.
func (l *Lease) key() string {
	if l.ClientID != "" {
		return "id:" + l.ClientID
	}
	return "mac:" + l.MAC
}

// leaseFile is the JSON document a lease file holds.
type leaseFile struct {
	Leases []Lease `json:"leases"`
}

// ReadLeaseFile reads a lease table written by a Server with Config.LeaseFile.
// A missing file is an empty table.
//
// The file is the server's, written after it gave up root: a symlink or
// anything but a regular file there is refused, not followed.
func ReadLeaseFile(path string) ([]Lease, error) {
	b, err := readNoFollow(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("labdhcp: read lease file: %w", err)
	}
	var f leaseFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("labdhcp: lease file %s: %w", path, err)
	}
	return f.Leases, nil
}

// writeLeaseFile replaces path with leases, atomically (temporary file and rename).
func writeLeaseFile(path string, leases []Lease) error {
	b, err := json.MarshalIndent(leaseFile{Leases: leases}, "", "  ")
	if err != nil {
		return fmt.Errorf("labdhcp: encode leases: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".leases-*")
	if err != nil {
		return fmt.Errorf("labdhcp: write lease file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("labdhcp: write lease file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("labdhcp: write lease file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("labdhcp: write lease file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("labdhcp: write lease file: %w", err)
	}
	return nil
}

// sortLeases orders leases by address.
func sortLeases(ls []Lease) {
	slices.SortFunc(ls, func(a, b Lease) int { return a.IP.Compare(b.IP) })
}
