package labdhcp

import (
	"fmt"
	"strings"
)

// EncodeSearch encodes domain names for the Domain Search option (119) as
// RFC 3397 §2 describes: a sequence of RFC 1035 names in which a suffix
// already written is replaced by a two-byte compression pointer (RFC 1035
// §4.1.4: the top two bits set, then the 14-bit offset of the earlier
// occurrence). Offsets count from the first byte of the option data, as if
// the data of all option 119 instances were concatenated (RFC 3396).
//
// Names are taken without a trailing dot; an empty list gives nil.
func EncodeSearch(names []string) ([]byte, error) {
	var b []byte
	seen := map[string]int{} // suffix (lower case) -> offset of its first label
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
		terminated := false
		for i := range labels {
			suffix := strings.ToLower(strings.Join(labels[i:], "."))
			if off, ok := seen[suffix]; ok {
				// Pointer: 11 followed by the 14-bit offset.
				b = append(b, 0xc0|byte(off>>8), byte(off))
				terminated = true
				break
			}
			if len(b) < 0x4000 {
				seen[suffix] = len(b)
			}
			b = append(b, byte(len(labels[i])))
			b = append(b, labels[i]...)
		}
		if !terminated {
			b = append(b, 0) // the root label ends the name
		}
	}
	return b, nil
}
