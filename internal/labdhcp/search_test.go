package labdhcp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/rfc1035label"
)

func TestEncodeSearch(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []byte
	}{
		{
			name:  "one name",
			names: []string{"rawlab.test"},
			want:  []byte{6, 'r', 'a', 'w', 'l', 'a', 'b', 4, 't', 'e', 's', 't', 0},
		},
		{
			// RFC 3397 §2's own example shape: the second name points into the first.
			name:  "suffix compressed",
			names: []string{"eng.apple.com", "marketing.apple.com"},
			want: []byte{
				3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
				9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 0x04,
			},
		},
		{
			name:  "whole name repeated is a bare pointer",
			names: []string{"a.test", "b.a.test", "a.test."},
			want:  []byte{1, 'a', 4, 't', 'e', 's', 't', 0, 1, 'b', 0xc0, 0x00, 0xc0, 0x00},
		},
		{
			// "a.b.c" ends in a pointer, so "x.a.b.c" may only point at "b.c":
			// no pointer chains.
			name:  "no nested pointers",
			names: []string{"b.c", "a.b.c", "x.a.b.c"},
			want:  []byte{1, 'b', 1, 'c', 0, 1, 'a', 0xc0, 0x00, 1, 'x', 1, 'a', 0xc0, 0x00},
		},
		{
			name:  "empty list",
			names: nil,
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeSearch(tt.names)
			if err != nil {
				t.Fatalf("EncodeSearch(%q): %v", tt.names, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EncodeSearch(%q) (-want +got):\n%s", tt.names, diff)
			}
			if len(tt.names) == 0 {
				return
			}
			// A decoder that follows pointers gives the names back.
			l, err := rfc1035label.FromBytes(got)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var want []string
			for _, n := range tt.names {
				want = append(want, trimDot(n))
			}
			if diff := cmp.Diff(want, l.Labels); diff != "" {
				t.Errorf("decoded names (-want +got):\n%s", diff)
			}
		})
	}
}

func trimDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

func TestEncodeSearchErrors(t *testing.T) {
	for _, names := range [][]string{{""}, {"a..b"}, {string(make([]byte, 64)) + ".test"}} {
		if _, err := EncodeSearch(names); err == nil {
			t.Errorf("EncodeSearch(%q) = nil error, want one", names)
		}
	}
}
