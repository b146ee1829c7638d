package privdrop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// confineReport is what the "confine" child prints.
type confineReport struct {
	ABI        int    `json:"abi"` // landlock ABI, or -1 without Landlock
	ConfineErr string `json:"confine_err"`
	InsideErr  string `json:"inside_err"`  // creating a file in the allowed directory
	FileErr    string `json:"file_err"`    // writing the allowed file
	OutsideErr string `json:"outside_err"` // creating a file elsewhere
	ReadErr    string `json:"read_err"`    // reading elsewhere (never restricted)
}

// confineChild confines itself to RAWLAB_PRIVDROP_DIR and
// RAWLAB_PRIVDROP_FILE, then tries to write inside and outside.
func confineChild() {
	var r confineReport
	abi, _, e := syscall.Syscall(444, 0, 0, 1) // landlock_create_ruleset(NULL, 0, VERSION)
	r.ABI = int(abi)
	if e != 0 {
		r.ABI = -1
	}
	dir, file, other := os.Getenv("RAWLAB_PRIVDROP_DIR"), os.Getenv("RAWLAB_PRIVDROP_FILE"), os.Getenv("RAWLAB_PRIVDROP_OTHER")
	r.ConfineErr = errString(Confine([]string{dir, file}))
	r.InsideErr = errString(os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o600))
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("x"))
		f.Close()
	}
	r.FileErr = errString(err)
	r.OutsideErr = errString(os.WriteFile(filepath.Join(other, "new"), []byte("x"), 0o600))
	_, err = os.ReadFile(filepath.Join(other, "existing"))
	r.ReadErr = errString(err)
	json.NewEncoder(os.Stdout).Encode(r) //nolint:errcheck // the parent fails on bad output
}

// TestConfine: after Confine, a binary built without cgo writes only where
// it was allowed, and still reads anywhere. Without Landlock in the kernel
// Confine is a quiet no-op, which the test checks too.
func TestConfine(t *testing.T) {
	base := t.TempDir()
	bin := buildNoCgo(t, base)
	dir, other := filepath.Join(base, "allowed"), filepath.Join(base, "other")
	file := filepath.Join(base, "allowed.pcapng")
	for _, d := range []string{dir, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{file, filepath.Join(other, "existing")} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=confine", "RAWLAB_PRIVDROP_DIR="+dir,
		"RAWLAB_PRIVDROP_FILE="+file, "RAWLAB_PRIVDROP_OTHER="+other)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("confine child: %v", err)
	}
	var r confineReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("confine child said %q: %v", out, err)
	}
	t.Logf("landlock ABI %d", r.ABI)
	for what, e := range map[string]string{"Confine": r.ConfineErr, "create in the allowed dir": r.InsideErr,
		"write the allowed file": r.FileErr, "read elsewhere": r.ReadErr} {
		if e != "" {
			t.Errorf("%s: %s", what, e)
		}
	}
	if r.ABI < 1 {
		if r.OutsideErr != "" {
			t.Errorf("without Landlock, writing elsewhere failed: %s", r.OutsideErr)
		}
		if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
			t.Log("this kernel has no Landlock: only the quiet no-op was checked")
		}
		return
	}
	if !strings.Contains(r.OutsideErr, "permission denied") {
		t.Errorf("writing outside the allowed paths: %q, want permission denied", r.OutsideErr)
	}
	if _, err := os.Stat(filepath.Join(other, "new")); err == nil {
		t.Error(fmt.Sprintf("%s/new was created", other))
	}
}
