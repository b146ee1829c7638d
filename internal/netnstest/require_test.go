package netnstest

import (
	"errors"
	"strings"
	"testing"
)

func TestRequirement(t *testing.T) {
	broken := func() error { return errors.New("unshare: operation not permitted") }
	works := func() error { return nil }
	called := func() error { t.Error("probe called for a non-root user"); return nil }
	tests := []struct {
		name     string
		euid     int
		env      string
		probe    func() error
		wantOK   bool
		wantText []string
	}{
		{"root and namespaces work", 0, "", works, true, nil},
		{"root, required, namespaces work", 0, "1", works, true, nil},
		{"not root", 1000, "", called, false, []string{"not root (euid 1000)", requireHint}},
		{"not root but required", 1000, "1", called, false, []string{RequireEnv + "=1 but not root", requireHint}},
		{"root but no namespaces", 0, "", broken, false, []string{"do not work: unshare: operation not permitted", requireHint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, ok := requirement(tt.euid, tt.env, tt.probe)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v (msg %q)", ok, tt.wantOK, msg)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(msg, w) {
					t.Errorf("msg = %q, want it to contain %q", msg, w)
				}
			}
			if tt.wantOK && msg != "" {
				t.Errorf("msg = %q, want empty", msg)
			}
		})
	}
}
