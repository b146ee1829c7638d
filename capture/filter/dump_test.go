package filter

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadMnemonics maps the operand of every load in a "tcpdump -d" listing
// ("[12]", "[x + 14]", "[vlanp]", "#pktlen", "4*([14]&0xf)", ...) to the
// mnemonics printed for it ("ldh", "ldb", "ld", "ldxb", ...).
func loadMnemonics(dump string) map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for _, line := range strings.Split(dump, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[1], "ld") {
			continue
		}
		operand := strings.Join(f[2:], " ")
		if m[operand] == nil {
			m[operand] = map[string]bool{}
		}
		m[operand][f[1]] = true
	}
	return m
}

func only(set map[string]bool) (string, bool) {
	for k := range set {
		return k, len(set) == 1
	}
	return "", false
}

// TestDumpMnemonicsMatchTcpdump compiles every expression of the corpus
// and checks that Dump prints each load with the mnemonic "tcpdump -d"
// prints for a load of the same operand (ldb/ldh/ld by access size, ldxb
// for the IPv4 header length, "ld #pktlen" for the length), for
// DLT_EN10MB (-y EN10MB) and, as root, for a live Linux interface
// (KernelVLAN: "ldb [vlanp]", "ldh [vlan_tci]"). Where the two programs
// are the same, the whole listing must be the same.
func TestDumpMnemonicsMatchTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" && os.Geteuid() == 0 {
			t.Fatalf("tcpdump is required: %v", err)
		}
		t.Skipf("tcpdump not installed (%v): TestDumpMatchesTcpdump checks the printer against the golden file", err)
	}
	var inNS func(ctx context.Context, name string, args ...string) *exec.Cmd
	if os.Geteuid() == 0 {
		inNS = dummyNamespace(t)
	} else if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
		t.Fatal("root is required for tcpdump -d -i (the KernelVLAN flavour)")
	} else {
		t.Log("not root: -y EN10MB only, no live-interface flavour")
	}
	exprs := append(readExpressions(t), "vlan 10", "vlan 10 and arp", "vlan and vlan 20 and udp", "len > 100", "less 60",
		"ether[0] & 1 = 1", "ip[2:2] > 100", "tcp[tcpflags] & tcp-syn != 0", "icmp[icmptype] = icmp-echo")
	type result struct {
		expr     string
		kernel   bool
		out      string
		err      error
		compared int
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, e := range exprs {
		for _, kernel := range []bool{false, true} {
			if kernel && inNS == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, tcpdump, "-d", "-y", "EN10MB", "--", e)
				if kernel {
					cmd = inNS(ctx, tcpdump, "-d", "-i", "rlf0", "--", e)
				}
				out, err := cmd.Output()
				mu.Lock()
				results = append(results, result{expr: e, kernel: kernel, out: string(out), err: err})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	loads, same := 0, 0
	for _, r := range results {
		if r.err != nil {
			t.Errorf("tcpdump -d %q: %v", r.expr, r.err)
			continue
		}
		prog, err := Compile(r.expr, Options{KernelVLAN: r.kernel})
		if err != nil {
			t.Errorf("%q: %v", r.expr, err)
			continue
		}
		mine := Dump(prog)
		if mine == r.out {
			same++
		}
		theirs := loadMnemonics(r.out)
		for operand, ops := range loadMnemonics(mine) {
			// Compared where each listing loads the operand one way
			// ([20] is ip[6:2] under "ldh" and the IPv6 next header
			// under "ldb" in the same program).
			op, ok1 := only(ops)
			want, ok2 := only(theirs[operand])
			if !ok1 || !ok2 {
				continue
			}
			loads++
			if op != want {
				t.Errorf("%q (kernel %v): rawlab prints %q %s, tcpdump -d %q %s", r.expr, r.kernel, op, operand, want, operand)
			}
		}
	}
	if loads < 500 {
		t.Errorf("only %d loads compared", loads)
	}
	t.Logf("%d listings from tcpdump -d: %d loads compared by operand, all with tcpdump's mnemonic; %d listings identical line for line", len(results), loads, same)
}

// TestDumpAncillary: the kernel's VLAN loads print as libpcap 1.10's do,
// with or without tcpdump installed.
func TestDumpAncillary(t *testing.T) {
	prog, err := Compile("vlan 10", Options{KernelVLAN: true})
	if err != nil {
		t.Fatal(err)
	}
	d := Dump(prog)
	for _, want := range []string{"ldb      [vlanp]\n", "ldb      [vlan_tci]\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dump lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "ld       [vlan") {
		t.Errorf("Dump prints a 32-bit ancillary load:\n%s", d)
	}
}
