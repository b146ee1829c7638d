package labdhcp

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadLeaseFileRefusesSymlink: the lease file lives in a directory the
// server's (unprivileged) user owns; root's `lab status` must not follow a
// symlink planted there.
func TestReadLeaseFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(`{"leases":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "leases.json")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLeaseFile(link); err == nil {
		t.Error("ReadLeaseFile followed a symlink")
	}
	if ls, err := ReadLeaseFile(filepath.Join(dir, "missing.json")); err != nil || ls != nil {
		t.Errorf("missing lease file: %v, %v; want an empty table", ls, err)
	}
	if ls, err := ReadLeaseFile(secret); err != nil || len(ls) != 0 {
		t.Errorf("regular lease file: %v, %v", ls, err)
	}
}
