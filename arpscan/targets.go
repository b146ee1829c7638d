package arpscan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// DefaultMaxTargets is the largest target list accepted without Force,
// 65,536 addresses (a /16).
const DefaultMaxTargets = 1 << 16

// HardMaxTargets is the largest target list accepted even with Force
// (a /8): every target costs a few bytes of state.
const HardMaxTargets = 1 << 24

// ErrTooManyTargets is wrapped by ParseTargets when the list is longer than
// the limit.
var ErrTooManyTargets = errors.New("too many targets")

// ErrNoTargets is wrapped by ParseTargets when nothing is left to scan.
var ErrNoTargets = errors.New("no targets")

// TargetError reports a target specification that does not parse. Line
// is its line in a targets file (0 for one given otherwise).
type TargetError struct {
	Spec   string
	Line   int
	Reason string
}

// maxExcerpt bounds how much of a bad specification an error quotes: a
// targets file may be anything (a password file given by mistake), so no
// more than a short, escaped excerpt is ever shown.
const maxExcerpt = 24

// Error returns "arpscan: bad target "EXCERPT": REASON", with "line N: "
// before it for a file's line.
func (e *TargetError) Error() string {
	ex := e.Spec
	cut := ""
	if len(ex) > maxExcerpt {
		ex, cut = ex[:maxExcerpt], "..."
	}
	if e.Line > 0 {
		return fmt.Sprintf("arpscan: line %d: bad target %q%s: %s", e.Line, ex, cut, e.Reason)
	}
	return fmt.Sprintf("arpscan: bad target %q%s: %s", ex, cut, e.Reason)
}

// Range is an inclusive range of IPv4 addresses held as integers.
type Range struct{ First, Last uint32 }

// Len returns the number of addresses in r.
func (r Range) Len() uint64 { return uint64(r.Last) - uint64(r.First) + 1 }

// ParseTarget parses one target specification, in any form arp-scan(1)
// accepts for an address: a single address (198.18.0.1), a CIDR prefix
// (198.18.0.0/24, network and broadcast included, host bits ignored), an
// inclusive range (198.18.0.10-198.18.0.20) or a network and netmask
// (198.18.0.0:255.255.255.0). Host names are not resolved.
func ParseTarget(spec string) (Range, error) {
	s := strings.TrimSpace(spec)
	bad := func(reason string) (Range, error) { return Range{}, &TargetError{Spec: spec, Reason: reason} }
	switch {
	case s == "":
		return bad("empty")
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return bad("not an IPv4 CIDR prefix")
		}
		if !p.Addr().Is4() {
			return bad("not IPv4")
		}
		p = p.Masked()
		first := ip4(p.Addr())
		host := uint32(0)
		if p.Bits() < 32 {
			host = ^uint32(0) >> p.Bits()
		}
		return Range{first, first | host}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		x, err1 := parse4(a)
		y, err2 := parse4(b)
		if err1 != nil || err2 != nil {
			return bad("not a range of two IPv4 addresses")
		}
		if y < x {
			return bad("range ends before it starts")
		}
		return Range{x, y}, nil
	case strings.Contains(s, ":"):
		a, m, _ := strings.Cut(s, ":")
		x, err1 := parse4(a)
		mask, err2 := parse4(m)
		if err1 != nil || err2 != nil {
			return bad("not an IPv4 network:netmask")
		}
		if ^mask&(^mask+1) != 0 { // the host part must be 0...01...1
			return bad("netmask is not contiguous")
		}
		return Range{x & mask, x&mask | ^mask}, nil
	default:
		x, err := parse4(s)
		if err != nil {
			return bad("not an IPv4 address")
		}
		return Range{x, x}, nil
	}
}

func parse4(s string) (uint32, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if !a.Is4() {
		return 0, errors.New("not IPv4")
	}
	return ip4(a), nil
}

func ip4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(x uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// mergeRanges sorts rs and merges overlapping or adjacent ranges.
func mergeRanges(rs []Range) []Range {
	slices.SortFunc(rs, func(a, b Range) int {
		switch {
		case a.First < b.First:
			return -1
		case a.First > b.First:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && uint64(r.First) <= uint64(out[n-1].Last)+1 {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtractRanges returns the merged ranges in a minus those in b (both merged).
func subtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		first := uint64(r.First)
		last := uint64(r.Last)
		for j < len(b) && uint64(b[j].Last) < first {
			j++
		}
		k := j
		for k < len(b) && uint64(b[k].First) <= last && first <= last {
			if uint64(b[k].First) > first {
				out = append(out, Range{uint32(first), uint32(uint64(b[k].First) - 1)})
			}
			first = uint64(b[k].Last) + 1
			k++
		}
		if first <= last {
			out = append(out, Range{uint32(first), uint32(last)})
		}
	}
	return out
}

// TargetOptions limit ParseTargets.
type TargetOptions struct {
	// Max is the largest accepted count; 0 means DefaultMaxTargets.
	Max int
	// Force lifts Max up to HardMaxTargets.
	Force bool
}

// Targets is a set of IPv4 addresses to scan: sorted, without duplicates,
// plus the order in which they are sent.
type Targets struct {
	addrs []uint32 // sorted, unique
	order []uint32 // indexes into addrs in send order; nil = sequential
}

// ParseTargets builds the target set from specifications (see ParseTarget)
// minus the excluded ones. Duplicates and overlaps count once. It checks the
// count before expanding anything, so a huge range costs nothing to refuse.
func ParseTargets(specs, exclude []string, opt TargetOptions) (*Targets, error) {
	return ParseTargetsWith(nil, specs, exclude, opt)
}

// ParseTargetsWith is ParseTargets with ranges already parsed (from
// ReadTargetFile) added to the specifications.
func ParseTargetsWith(ranges []Range, specs, exclude []string, opt TargetOptions) (*Targets, error) {
	in := slices.Clone(ranges)
	var ex []Range
	for _, s := range specs {
		r, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		in = append(in, r)
	}
	for _, s := range exclude {
		r, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		ex = append(ex, r)
	}
	return NewTargets(in, ex, opt)
}

// NewTargets builds the target set from ranges minus the excluded ranges.
func NewTargets(in, exclude []Range, opt TargetOptions) (*Targets, error) {
	rs := subtractRanges(mergeRanges(slices.Clone(in)), mergeRanges(slices.Clone(exclude)))
	var n uint64
	for _, r := range rs {
		n += r.Len()
	}
	limit := uint64(opt.Max)
	if limit == 0 {
		limit = DefaultMaxTargets
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("arpscan: %w: every address is excluded or none was given", ErrNoTargets)
	case n > HardMaxTargets:
		return nil, fmt.Errorf("arpscan: %w: %d addresses, more than the %d allowed even when forced", ErrTooManyTargets, n, HardMaxTargets)
	case n > limit && !opt.Force:
		return nil, fmt.Errorf("arpscan: %w: %d addresses, more than %d without force", ErrTooManyTargets, n, limit)
	}
	addrs := make([]uint32, 0, n)
	for _, r := range rs {
		for x := uint64(r.First); x <= uint64(r.Last); x++ {
			addrs = append(addrs, uint32(x))
		}
	}
	return &Targets{addrs: addrs}, nil
}

// Len returns the number of targets.
func (t *Targets) Len() int { return len(t.addrs) }

// Addr returns the i-th target in ascending address order.
func (t *Targets) Addr(i int) netip.Addr { return addr4(t.addrs[i]) }

// Addrs returns every target in ascending address order.
func (t *Targets) Addrs() []netip.Addr {
	out := make([]netip.Addr, len(t.addrs))
	for i, x := range t.addrs {
		out[i] = addr4(x)
	}
	return out
}

// Shuffle sets a random send order (Fisher-Yates, PCG seeded with seed), as
// arp-scan's --random; the same seed gives the same order.
func (t *Targets) Shuffle(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x72617770))
	t.order = make([]uint32, len(t.addrs))
	for i := range t.order {
		t.order[i] = uint32(i)
	}
	r.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
}

// SendOrder returns the targets in the order they will be sent.
func (t *Targets) SendOrder() []netip.Addr {
	out := make([]netip.Addr, len(t.addrs))
	for i := range out {
		out[i] = addr4(t.addrs[t.at(i)])
	}
	return out
}

// at returns the index into addrs of the i-th target to send.
func (t *Targets) at(i int) int {
	if t.order == nil {
		return i
	}
	return int(t.order[i])
}

// index returns the index of ip in addrs, or -1.
func (t *Targets) index(ip uint32) int {
	i, ok := slices.BinarySearch(t.addrs, ip)
	if !ok {
		return -1
	}
	return i
}

// ReadTargetPath reads the targets file at path ("-" for stdin) with
// ReadTargetFile.
func ReadTargetPath(path string, stdin io.Reader) ([]Range, error) {
	if path == "-" {
		return ReadTargetFile(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arpscan: %w", err)
	}
	defer f.Close()
	return ReadTargetFile(f)
}

// ReadTargetFile reads target specifications from r, one per line as
// arp-scan's --file: the first whitespace-separated field of each line;
// blank lines and lines starting with '#' are skipped. Each is parsed as it
// is read; a bad one returns a *TargetError with its line number and a
// short excerpt, never the whole line.
func ReadTargetFile(r io.Reader) ([]Range, error) {
	var out []Range
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		rg, err := ParseTarget(f[0])
		if err != nil {
			var te *TargetError
			if errors.As(err, &te) {
				te.Line = line
			}
			return nil, err
		}
		out = append(out, rg)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("arpscan: read targets: line %d: %w", line+1, err)
	}
	return out, nil
}
