package privdrop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// childEnv selects the re-exec'd child mode of this test binary.
const childEnv = "RAWLAB_PRIVDROP_CHILD"

// report is what a child prints after Drop.
type report struct {
	DropErr string `json:"drop_err"`
	// PrmBefore is CapPrm before Drop.
	PrmBefore string `json:"prm_before"`
	// Status maps /proc/self/status keys to values.
	Status map[string]string `json:"status"`
	// TaskCapEff and TaskCapPrm are every thread's sets.
	TaskCapEff []string `json:"task_cap_eff"`
	TaskCapPrm []string `json:"task_cap_prm"`
	TaskNNP    []string `json:"task_nnp"`
	// Keeper is CapEff of the thread WithNetAdmin runs on.
	Keeper string `json:"keeper"`
	// LinkAddIn and LinkAddOut are netlink.LinkAdd's result inside and
	// outside WithNetAdmin (the child runs in a namespace of its own).
	LinkAddIn  string `json:"link_add_in"`
	LinkAddOut string `json:"link_add_out"`
}

func TestMain(m *testing.M) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
	case "packet":
		packetChild()
		return
	case "steal":
		stealChild()
		return
	case "confine":
		confineChild()
		return
	default:
		child(mode)
		return
	}
	os.Exit(m.Run())
}

func child(mode string) {
	var r report
	r.PrmBefore = status("/proc/self/status")["CapPrm"]
	err := Drop(Config{User: os.Getenv("RAWLAB_PRIVDROP_USER"), KeepNetAdmin: mode == "keep"})
	if err != nil {
		r.DropErr = err.Error()
	}
	r.Status = status("/proc/self/status")
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range tasks {
		s := status(p)
		r.TaskCapEff = append(r.TaskCapEff, s["CapEff"])
		r.TaskCapPrm = append(r.TaskCapPrm, s["CapPrm"])
		r.TaskNNP = append(r.TaskNNP, s["NoNewPrivs"])
	}
	WithNetAdmin(func() error { //nolint:errcheck // fn returns nil
		r.Keeper = status("/proc/thread-self/status")["CapEff"]
		return nil
	})
	if mode == "keep" {
		r.LinkAddIn = errString(WithNetAdmin(func() error {
			return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pdin0"}, PeerName: "pdin1"})
		}))
		r.LinkAddOut = errString(netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pdout0"}, PeerName: "pdout1"}))
	}
	json.NewEncoder(os.Stdout).Encode(r) //nolint:errcheck // the parent fails on bad output
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func status(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// runChild re-executes this test binary (never a PATH lookup) in child mode
// in a new network namespace, with env added, and decodes its report.
func runChild(t *testing.T, exe, mode string, cred *syscall.Credential, env ...string) report {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "SUDO_UID=", "SUDO_GID=")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Credential: cred}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.Bytes())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return r
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func allEqual(t *testing.T, what string, got []string, want string) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: no threads reported", what)
	}
	for i, v := range got {
		if v != want {
			t.Errorf("%s of thread %d = %s, want %s", what, i, v, want)
		}
	}
}

const noCaps = "0000000000000000"

func TestDropToSudoUser(t *testing.T) {
	netnstest.RequireRoot(t)
	r := runChild(t, self(t), "drop", nil, "SUDO_UID=65534", "SUDO_GID=65534")
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	if got, want := r.Status["Uid"], "65534\t65534\t65534\t65534"; got != want {
		t.Errorf("Uid = %q, want %q", got, want)
	}
	if got, want := r.Status["Gid"], "65534\t65534\t65534\t65534"; got != want {
		t.Errorf("Gid = %q, want %q", got, want)
	}
	if g := r.Status["Groups"]; g != "" && g != "65534" {
		t.Errorf("Groups = %q, want none or nogroup", g)
	}
	allEqual(t, "CapEff", r.TaskCapEff, noCaps)
	allEqual(t, "CapPrm", r.TaskCapPrm, noCaps)
	// no_new_privs is per thread; a cgo binary can set it only on the
	// calling thread (see the package doc).
	if cgoLinked() {
		if !slices.Contains(r.TaskNNP, "1") {
			t.Errorf("NoNewPrivs on no thread: %v", r.TaskNNP)
		}
	} else {
		allEqual(t, "NoNewPrivs", r.TaskNNP, "1")
	}
}

func TestDropToNamedUser(t *testing.T) {
	netnstest.RequireRoot(t)
	r := runChild(t, self(t), "drop", nil, "RAWLAB_PRIVDROP_USER=65534")
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	if got, want := r.Status["Uid"], "65534\t65534\t65534\t65534"; got != want {
		t.Errorf("Uid = %q, want %q", got, want)
	}
	allEqual(t, "CapEff", r.TaskCapEff, noCaps)
}

func TestDropPlainRootStaysRoot(t *testing.T) {
	netnstest.RequireRoot(t)
	r := runChild(t, self(t), "drop", nil)
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	if got, want := r.Status["Uid"], "0\t0\t0\t0"; got != want {
		t.Errorf("Uid = %q, want %q (plain root stays root)", got, want)
	}
}

func TestDropKeepNetAdmin(t *testing.T) {
	netnstest.RequireRoot(t)
	r := runChild(t, self(t), "keep", nil, "SUDO_UID=65534", "SUDO_GID=65534")
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	if got, want := r.Status["Uid"], "65534\t65534\t65534\t65534"; got != want {
		t.Errorf("Uid = %q, want %q", got, want)
	}
	const netAdmin = "0000000000001000"
	if r.Keeper != netAdmin {
		t.Errorf("keeper thread CapEff = %s, want %s", r.Keeper, netAdmin)
	}
	held := 0
	for i, v := range r.TaskCapEff {
		switch v {
		case netAdmin:
			held++
		case noCaps:
		default:
			t.Errorf("thread %d CapEff = %s", i, v)
		}
	}
	if held != 1 {
		t.Errorf("%d threads hold CAP_NET_ADMIN, want exactly 1 (the keeper)", held)
	}
	if r.LinkAddIn != "" {
		t.Errorf("LinkAdd inside WithNetAdmin: %s", r.LinkAddIn)
	}
	if !strings.Contains(r.LinkAddOut, "operation not permitted") {
		t.Errorf("LinkAdd outside WithNetAdmin = %q, want operation not permitted", r.LinkAddOut)
	}
}

// cgoLinked reports whether this test binary links cgo, where
// syscall.AllThreadsSyscall is unavailable.
func cgoLinked() bool {
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0)
	return e == syscall.ENOTSUP
}

func TestDropFileCaps(t *testing.T) {
	netnstest.RequireRoot(t)
	exe := netnstest.CapCopy(t, self(t), 1<<unix.CAP_NET_RAW)
	r := runChild(t, exe, "drop", &syscall.Credential{Uid: 65534, Gid: 65534})
	if want := "0000000000002000"; r.PrmBefore != want {
		t.Fatalf("child's CapPrm before Drop = %s, want %s (CAP_NET_RAW from the file)", r.PrmBefore, want)
	}
	if cgoLinked() {
		if !strings.Contains(r.DropErr, "cgo") {
			t.Errorf("cgo binary: Drop = %q, want a refusal naming cgo", r.DropErr)
		}
		return
	}
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	allEqual(t, "CapEff", r.TaskCapEff, noCaps)
	allEqual(t, "CapPrm", r.TaskCapPrm, noCaps)
}

func TestFileCapsOnlyFalseForRoot(t *testing.T) {
	if os.Getuid() == 0 && FileCapsOnly() {
		t.Error("FileCapsOnly() = true for real uid 0")
	}
	if os.Getuid() != 0 {
		eff, perm, err := caps()
		if err != nil {
			t.Fatal(err)
		}
		if want := eff != 0 || perm != 0; FileCapsOnly() != want {
			t.Errorf("FileCapsOnly() = %v, want %v", FileCapsOnly(), want)
		}
	}
}
