package arpscan

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseBandwidthAndRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"256000", 256000, true}, {"1000M", 1e9, true}, {"64K", 64000, true}, {"1.5m", 1.5e6, true}, {"2G", 2e9, true},
		{"", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"M", 0, false}, {"12X", 0, false}, {"1e400", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseBandwidth(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for in, ok := range map[string]bool{"max": true, "MAX": true, "50": true, "0.5": true, "0": false, "-3": false, "fast": false, "NaN": false} {
		if _, err := ParseRate(in); (err == nil) != ok {
			t.Errorf("ParseRate(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

// lockedBuffer is a goroutine-safe bytes.Buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDrawProgress(t *testing.T) {
	s, err := NewScanner(nopConn{}, mustTargets(t, "198.18.0.0/24"), Config{SrcMAC: scannerMAC})
	if err != nil {
		t.Fatal(err)
	}
	var w lockedBuffer
	stop := s.DrawProgress(&w)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "0/256 done, 0 answered, 0 sent") && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	stop()
	out := w.String()
	if !strings.HasPrefix(out, "\r[..............................] 0/256 done") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q: want a bar, then the line cleared", out)
	}
}
