package labdhcp

import (
	"fmt"
	"strings"
)

// EncodeSearch encodes domain names for the Domain Search option (119) as
// RFC 3397 §2 describes: a sequence of RFC 1035 names in which a suffix
// already written is replaced by a two-byte compression pointer (RFC 1035
// §4.1.4: the top two bits set, then the 14-bit offset of the earlier
// occurrence) that points at a name written out in full, never at another
// pointer. Suffixes match exactly, so names keep their case. Offsets count from the first byte of the option data, as if
// the data of all option 119 instances were concatenated (RFC 3396).
//
// Names are taken without a trailing dot; an empty list gives nil.
func EncodeSearch(names []string) ([]byte, error) {
	var b []byte
	seen := map[string]int{} // suffix -> offset of its first label (exact, so names keep their case)
	for _, name := range names {
		name = strings.TrimSuffix(name, ".")
		if name == "" {
			return nil, fmt.Errorf("labdhcp: empty name in search list")
		}
		if len(name) > 253 {
			return nil, fmt.Errorf("labdhcp: search name %.20q...: longer than 253 bytes", name)
		}
		labels := strings.Split(name, ".")
		for i := range labels {
			if labels[i] == "" || len(labels[i]) > 63 {
				return nil, fmt.Errorf("labdhcp: search name %q: label %d must be 1 to 63 bytes", name, i+1)
			}
		}
		// Offsets are remembered only for names written out to the root
		// label: a pointer then never leads to another pointer. Nested
		// pointers are legal in RFC 1035 but several DHCP clients (busybox,
		// insomniacslk/dhcp) refuse them.
		var offsets []int
		terminated := false
		for i := range labels {
			if off, ok := seen[strings.Join(labels[i:], ".")]; ok {
				// Pointer: 11 followed by the 14-bit offset.
				b = append(b, 0xc0|byte(off>>8), byte(off))
				terminated = true
				break
			}
			offsets = append(offsets, len(b))
			b = append(b, byte(len(labels[i])))
			b = append(b, labels[i]...)
		}
		if !terminated {
			b = append(b, 0) // the root label ends the name
			for i, off := range offsets {
				if off < 0x4000 {
					suffix := strings.Join(labels[i:], ".")
					if _, ok := seen[suffix]; !ok {
						seen[suffix] = off
					}
				}
			}
		}
	}
	return b, nil
}
