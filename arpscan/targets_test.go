package arpscan

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarget(t *testing.T) {
	r := func(a, b string) Range { return Range{ip4(mustAddr(a)), ip4(mustAddr(b))} }
	tests := []struct {
		spec string
		want Range
		ok   bool
	}{
		{"198.18.0.7", r("198.18.0.7", "198.18.0.7"), true},
		{" 198.18.0.7 ", r("198.18.0.7", "198.18.0.7"), true},
		{"198.18.0.0/24", r("198.18.0.0", "198.18.0.255"), true},
		{"198.18.0.77/24", r("198.18.0.0", "198.18.0.255"), true}, // host bits ignored, as arp-scan
		{"198.18.0.9/32", r("198.18.0.9", "198.18.0.9"), true},
		{"0.0.0.0/0", r("0.0.0.0", "255.255.255.255"), true},
		{"198.18.0.10-198.18.0.20", r("198.18.0.10", "198.18.0.20"), true},
		{"198.18.0.10-198.18.0.10", r("198.18.0.10", "198.18.0.10"), true},
		{"198.18.0.250-198.18.1.5", r("198.18.0.250", "198.18.1.5"), true},
		{"198.18.0.0:255.255.255.0", r("198.18.0.0", "198.18.0.255"), true},
		{"198.18.0.0:255.255.255.255", r("198.18.0.0", "198.18.0.0"), true},
		{"", Range{}, false},
		{"198.18.0.0/33", Range{}, false},
		{"198.18.0/24", Range{}, false},
		{"198.18.0.20-198.18.0.10", Range{}, false},
		{"198.18.0.1-", Range{}, false},
		{"198.18.0.0:255.0.255.0", Range{}, false},
		{"2001:db8::1", Range{}, false},
		{"2001:db8::/64", Range{}, false},
		{"::ffff:198.18.0.1", Range{}, false},
		{"host.example", Range{}, false},
		{"198.18.0.1-2001:db8::1", Range{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseTarget(tt.spec)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseTarget(%q) error = %v, want ok=%v", tt.spec, err, tt.ok)
			}
			var te *TargetError
			if err != nil && !errors.As(err, &te) {
				t.Errorf("error %v is not a *TargetError", err)
			}
			if got != tt.want {
				t.Errorf("ParseTarget(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	addrs := func(ts *Targets) []string {
		var out []string
		for _, a := range ts.Addrs() {
			out = append(out, a.String())
		}
		return out
	}
	t.Run("merge, dedupe and exclude", func(t *testing.T) {
		ts, err := ParseTargets([]string{"198.18.0.4-198.18.0.9", "198.18.0.0/29", "198.18.0.9", "198.18.0.12"},
			[]string{"198.18.0.2", "198.18.0.5-198.18.0.6", "198.18.0.12/32"}, TargetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"198.18.0.0", "198.18.0.1", "198.18.0.3", "198.18.0.4", "198.18.0.7", "198.18.0.8", "198.18.0.9"}
		if diff := cmp.Diff(want, addrs(ts)); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		if ts.index(ip4(mustAddr("198.18.0.7"))) != 4 || ts.index(ip4(mustAddr("198.18.0.5"))) != -1 {
			t.Error("index lookup wrong")
		}
	})
	t.Run("edges of the address space", func(t *testing.T) {
		ts, err := ParseTargets([]string{"255.255.255.254-255.255.255.255", "0.0.0.0"}, nil, TargetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"0.0.0.0", "255.255.255.254", "255.255.255.255"}, addrs(ts)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	limits := []struct {
		name  string
		specs []string
		opt   TargetOptions
		n     int
		err   error
	}{
		{"a /16 is allowed", []string{"198.18.0.0/16"}, TargetOptions{}, 65536, nil},
		{"one more is not", []string{"198.18.0.0/16", "198.19.0.0"}, TargetOptions{}, 0, ErrTooManyTargets},
		{"overlaps count once", []string{"198.18.0.0/16", "198.18.0.0/17"}, TargetOptions{}, 65536, nil},
		{"--force lifts it", []string{"198.18.0.0/15"}, TargetOptions{Force: true}, 131072, nil},
		{"not beyond a /8", []string{"10.0.0.0/7"}, TargetOptions{Force: true}, 0, ErrTooManyTargets},
		{"a /0 is refused at once", []string{"0.0.0.0/0"}, TargetOptions{Force: true}, 0, ErrTooManyTargets},
		{"custom max", []string{"198.18.0.0/24"}, TargetOptions{Max: 100}, 0, ErrTooManyTargets},
	}
	for _, tt := range limits {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := ParseTargets(tt.specs, nil, tt.opt)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && ts.Len() != tt.n {
				t.Errorf("%d targets, want %d", ts.Len(), tt.n)
			}
		})
	}
	t.Run("everything excluded", func(t *testing.T) {
		_, err := ParseTargets([]string{"198.18.0.0/30"}, []string{"198.18.0.0/24"}, TargetOptions{})
		if !errors.Is(err, ErrNoTargets) {
			t.Errorf("err = %v, want ErrNoTargets", err)
		}
	})
}

func TestShuffle(t *testing.T) {
	ts := mustTargets(t, "198.18.0.0/24")
	ts.Shuffle(42)
	order := ts.SendOrder()
	seen := map[netip.Addr]bool{}
	for _, a := range order {
		seen[a] = true
	}
	if len(order) != 256 || len(seen) != 256 {
		t.Fatalf("shuffled order has %d entries, %d distinct; want 256", len(order), len(seen))
	}
	inPlace := 0
	for i, a := range order {
		if a == ts.Addr(i) {
			inPlace++
		}
	}
	if inPlace > 16 {
		t.Errorf("%d of 256 targets kept their place: not shuffled", inPlace)
	}
}

func TestReadTargetFile(t *testing.T) {
	in := "# lab hosts\n198.18.0.1 gateway\n\n  198.18.0.10-198.18.0.12\t# range\n198.18.1.0/30\n"
	got, err := ReadTargetFile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var want []Range
	for _, s := range []string{"198.18.0.1", "198.18.0.10-198.18.0.12", "198.18.1.0/30"} {
		r, _ := ParseTarget(s)
		want = append(want, r)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestReadTargetFileSecret: a file that is not a targets file (a password
// file given by mistake) is refused with its line number and a short,
// escaped excerpt, never the line itself.
func TestReadTargetFileSecret(t *testing.T) {
	secret := "root:$6$Vx9Qe3kd$JfR8pQ2Zl0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3\x1b[2J:19000:0:99999:7:::"
	_, err := ReadTargetFile(strings.NewReader("# hosts\n198.18.0.1\n" + secret + "\n"))
	var te *TargetError
	if !errors.As(err, &te) || te.Line != 3 {
		t.Fatalf("err = %v, want a *TargetError for line 3", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "JfR8pQ2Zl0aB1cD2eF3gH4") || strings.Contains(msg, "\x1b") || !strings.Contains(msg, "line 3") || len(msg) > 120 {
		t.Errorf("error %q: want line 3 and at most a short escaped excerpt", msg)
	}
}

// FuzzParseTarget: no input panics; a parsed range is ordered, and printed
// as a range it parses back to itself.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"198.18.0.1", "198.18.0.0/24", "198.18.0.1-198.18.0.9", "198.18.0.0:255.255.255.0",
		"0.0.0.0/0", "198.18.0.0/33", "::1", "1.2.3.4-1.2.3", "a-b", "198.18.0.1/", ":", "-", "1.2.3.4:0.0.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTarget(s)
		if err != nil {
			return
		}
		if r.First > r.Last {
			t.Fatalf("ParseTarget(%q) = %v: first after last", s, r)
		}
		again, err := ParseTarget(fmt.Sprintf("%s-%s", addr4(r.First), addr4(r.Last)))
		if err != nil || again != r {
			t.Fatalf("ParseTarget(%q) = %v, but its range form gives %v, %v", s, r, again, err)
		}
	})
}

// FuzzReadTargetFile: no file panics the reader, and an error never quotes
// more than a short excerpt of it.
func FuzzReadTargetFile(f *testing.F) {
	for _, s := range []string{"198.18.0.1\n# c\n198.18.0.0/30\n", "root:$6$abc:1:2:::\n", "\x1b[2J\n", strings.Repeat("9", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ReadTargetFile(strings.NewReader(s))
		if err != nil && len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes: %.80q...", len(err.Error()), err.Error())
		}
	})
}
