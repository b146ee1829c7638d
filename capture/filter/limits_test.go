package filter

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLimits checks that hostile expressions are refused with the error
// that names the limit, after work bounded by the limit rather than by the
// input: the parser counts nesting, so 100,000 parentheses stop at the
// length check and 8,000 at level MaxDepth+1.
func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want error
	}{
		{"8000 parentheses", strings.Repeat("(", 8000) + "arp" + strings.Repeat(")", 8000), ErrTooDeep},
		{"100000 parentheses", strings.Repeat("(", 100000) + "arp" + strings.Repeat(")", 100000), ErrTooLong},
		{"not chain", strings.Repeat("not ", 300) + "arp", ErrTooDeep},
		{"! chain", strings.Repeat("!", 300) + "arp", ErrTooDeep},
		{"arithmetic parentheses", strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + " = 1", ErrTooDeep},
		{"unary minus", "len = " + strings.Repeat("-", 300) + "1", ErrTooDeep},
		{"modulus chain", "len = " + strings.Repeat("1 % ", 300) + "1", ErrTooDeep},
		{"nested loads", strings.Repeat("ip[", 300) + "0" + strings.Repeat("]", 300) + " = 1", ErrTooDeep},
		{"id list", "host (" + strings.Repeat("(", 300) + "198.18.0.1" + strings.Repeat(")", 301), ErrTooDeep},
		{"one byte too long", "arp" + strings.Repeat(" ", MaxExprLen-2), ErrTooLong},
		{"too complex", "host 198.18.0.1 or " + strings.Repeat("198.18.0.2 or ", 4000) + "198.18.0.3", ErrTooComplex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.expr, Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %T, want a *SyntaxError", err)
			}
			msg := err.Error()
			if len(msg) > 250 || strings.Contains(msg, "\n") {
				t.Errorf("error is %d bytes (or several lines), want the expression cut short: %q", len(msg), msg)
			}
			if !strings.Contains(msg, "…") {
				t.Errorf("error %q does not say the expression was cut", msg)
			}
		})
	}
	// Just inside the limits: accepted.
	for _, e := range []string{
		strings.Repeat("(", MaxDepth) + "arp" + strings.Repeat(")", MaxDepth),
		strings.Repeat("not ", MaxDepth) + "arp",
		"arp" + strings.Repeat(" ", MaxExprLen-3),
	} {
		if _, err := Compile(e, Options{}); err != nil {
			t.Errorf("%d bytes: %v", len(e), err)
		}
	}
}

func TestSyntaxErrorExcerpt(t *testing.T) {
	long := strings.Repeat("arp or ", 30) + "port foo" + strings.Repeat(" or arp", 30)
	_, err := Compile(long, Options{})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	msg := se.Error()
	if !strings.Contains(msg, "port foo") || !strings.HasPrefix(msg, "filter: at 215: ") {
		t.Errorf("Error() = %q, want the position and the text around it", msg)
	}
	if n := strings.Count(msg, "…"); n != 2 {
		t.Errorf("Error() = %q, want … on both sides of the excerpt", msg)
	}
	lines := strings.Split(se.Caret(), "\n")
	if len(lines) != 2 || len(lines[0]) > maxQuoted+2*len("…") {
		t.Fatalf("Caret() = %q, want two lines, the first cut short", se.Caret())
	}
	col := utf8.RuneCountInString(lines[1]) - 1
	if r := []rune(lines[0]); col >= len(r) || string(r[col:col+4]) != "foo " {
		t.Errorf("caret under %q, want under \"foo\":\n%s", string(r[col:]), se.Caret())
	}
	// A cut never splits a UTF-8 sequence.
	_, err = Compile(strings.Repeat("é", 100)+" arp", Options{})
	if err == nil || !utf8.ValidString(err.Error()) {
		t.Errorf("Error() = %q, want valid UTF-8", err)
	}
}

// TestCaseAndNumbers checks that keywords and named numbers are
// case-sensitive and that bad numbers say what is wrong, as in libpcap.
func TestCaseAndNumbers(t *testing.T) {
	tcpdump, _ := exec.LookPath("tcpdump")
	tests := []struct {
		expr string
		ok   bool   // libpcap compiles it
		msg  string // part of rawlab's error
	}{
		{"arp", true, ""},
		{"ARP", false, `keywords are case-sensitive: "arp"`},
		{"Icmp", false, `keywords are case-sensitive: "icmp"`},
		{"HOST 198.18.0.1", false, `keywords are case-sensitive: "host"`},
		{"icmp[icmptype] = icmp-echo", true, ""},
		{"icmp[icmptype] = ICMP-ECHO", false, `keywords are case-sensitive: "icmp-echo"`},
		{"tcp[TCPFLAGS] = 2", false, `keywords are case-sensitive: "tcpflags"`},
		{"tcp port domain", true, ""},
		{"tcp port DOMAIN", false, `unknown port "DOMAIN"`},
		{`ether proto \arp`, true, ""},
		{`ether proto \ARP`, false, `unknown ether proto "ARP"`},
		{"ip proto UDP", true, ""},
		{`ip proto \Udp`, false, `unknown ip proto "Udp"`},
		{"ip proto IPv6-ICMP", true, ""},
		{"ether host AA:BB:CC:DD:EE:FF", true, ""},
		{"port 0X35", true, ""},
		{"ip[4294967295] = 1", true, ""},
		{"ip[10000000000] = 1", false, "number 10000000000 out of range: numbers are 0 to 4294967295"},
		{"ip[4294967296] = 1", false, "out of range"},
		{"ip[0x100000000] = 1", false, "number 0x100000000 out of range"},
		{"port 99999999999", false, "out of range"},
		{"less 99999999999", false, "out of range"},
		{"ip[08] = 1", false, "number 08 contains a non-octal digit"},
		{"portrange 1-99999999999", false, "number 99999999999 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Compile(tt.expr, Options{})
			if tt.ok {
				if err != nil {
					t.Errorf("Compile: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Compile: %v, want an error containing %q", err, tt.msg)
			}
			if tcpdump != "" {
				err := exec.Command(tcpdump, "-d", "-y", "EN10MB", "--", tt.expr).Run()
				if (err == nil) != tt.ok {
					t.Errorf("libpcap compiles it: %v, the test says %v", err == nil, tt.ok)
				}
			}
		})
	}
}

// TestLongWordsInErrors: a word quoted in an error is cut short too.
func TestLongWordsInErrors(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, e := range []string{
		"port " + long, "host " + long, "ip proto " + long, "ether proto \\" + long, "ether host " + long,
		"portrange 1-" + long, "ip[" + strings.Repeat("9", 5000) + "] = 1", "less " + strings.Repeat("9", 5000),
		"net " + strings.Repeat("1.", 2000) + "1", long,
	} {
		_, err := Compile(e, Options{})
		if err == nil {
			t.Fatalf("%.20q...: no error", e)
		}
		if msg := err.Error(); len(msg) > 300 {
			t.Errorf("%.20q...: error of %d bytes: %.300s", e, len(msg), msg)
		}
	}
}
