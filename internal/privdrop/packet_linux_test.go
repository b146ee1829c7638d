package privdrop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// packetReport is what the "packet" child prints once it has dropped.
type packetReport struct {
	OpenErr    string   `json:"open_err"`   // the filtered socket, opened with file caps
	DropErr    string   `json:"drop_err"`   // Drop
	ReopenErr  string   `json:"reopen_err"` // a second, unfiltered socket after the drop
	Dumpable   int      `json:"dumpable"`   // PR_GET_DUMPABLE after the drop
	TaskCapEff []string `json:"task_cap_eff"`
	PID        int      `json:"pid"`
	FD         int      `json:"fd"`
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// packetChild opens a packet socket the way rawlab does (no protocol until
// the filter is attached, then bind), drops, tries for a second socket,
// reports, and holds its socket until stdin closes.
func packetChild() {
	var r packetReport
	r.PID = os.Getpid()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		// BPF_RET|BPF_K 0: accept nothing (bpf(4), struct sock_filter).
		prog := []unix.SockFilter{{Code: 0x06, K: 0}}
		err = unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &prog[0]})
	}
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: 1})
	}
	r.FD = fd
	r.OpenErr = errString(err)
	r.DropErr = errString(Drop(Config{}))
	fd2, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err == nil {
		unix.Close(fd2)
	}
	r.ReopenErr = errString(err)
	r.Dumpable, _ = unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range tasks {
		r.TaskCapEff = append(r.TaskCapEff, status(p)["CapEff"])
	}
	json.NewEncoder(os.Stdout).Encode(r) //nolint:errcheck // the parent fails on bad output
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// stealChild tries to take the packet child's socket with pidfd_getfd(2).
func stealChild() {
	pid, _ := strconv.Atoi(os.Getenv("RAWLAB_PRIVDROP_PID"))
	fd, _ := strconv.Atoi(os.Getenv("RAWLAB_PRIVDROP_FD"))
	pfd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		var got int
		got, err = unix.PidfdGetfd(pfd, fd, 0)
		if err == nil {
			unix.Close(got)
		}
	}
	fmt.Println(errString(err))
}

// buildNoCgo builds this package's test binary with CGO_ENABLED=0 (as a
// setcap'd rawlab must be built) into dir.
func buildNoCgo(t *testing.T, dir string) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go" // tests may run peers from PATH
	}
	out := filepath.Join(dir, "privdrop.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-c", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		if os.Geteuid() != 0 && os.Getenv("RAWLAB_REQUIRE_NETNS") != "1" {
			// An unprivileged user may lack a module cache or a writable
			// build cache; CI (root, RAWLAB_REQUIRE_NETNS=1) must build.
			t.Skipf("cannot build a cgo-free test binary here: %v\n%s", err, b)
		}
		t.Fatalf("go test -c: %v\n%s", err, b)
	}
	return out
}

// TestFileCapsPacketSocket: a user holding a cap_net_raw+ep binary gets
// only the filtered packet socket opened before the drop. After Drop no
// thread holds a capability, a second (unfiltered) packet socket is
// refused, and another process of the same user cannot take the socket
// (pidfd_getfd(2)): the process is not dumpable.
func TestFileCapsPacketSocket(t *testing.T) {
	netnstest.RequireRoot(t)
	built := buildNoCgo(t, t.TempDir())
	bin := netnstest.CapCopy(t, built, 1<<unix.CAP_NET_RAW)
	// A copy without capabilities, for the user's other process.
	plain := netnstest.CapCopy(t, built, 0)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=packet", "SUDO_UID=", "SUDO_GID=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Credential: nobody}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("packet child: %v", err)
	}
	var r packetReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("packet child said %q: %v", line, err)
	}
	if r.OpenErr != "" {
		t.Fatalf("opening the filtered socket with cap_net_raw: %s", r.OpenErr)
	}
	if r.DropErr != "" {
		t.Fatalf("Drop: %s", r.DropErr)
	}
	if !strings.Contains(r.ReopenErr, "operation not permitted") {
		t.Errorf("a second packet socket after the drop: %q, want operation not permitted", r.ReopenErr)
	}
	if r.Dumpable != 0 {
		t.Errorf("dumpable = %d after the drop, want 0", r.Dumpable)
	}
	allEqual(t, "CapEff", r.TaskCapEff, noCaps)

	steal := exec.Command(plain)
	steal.Env = append(os.Environ(), childEnv+"=steal",
		"RAWLAB_PRIVDROP_PID="+strconv.Itoa(r.PID), "RAWLAB_PRIVDROP_FD="+strconv.Itoa(r.FD))
	steal.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
	out, err := steal.Output()
	if err != nil {
		t.Fatalf("steal child: %v", err)
	}
	if got := strings.TrimSpace(string(out)); !strings.Contains(got, "operation not permitted") {
		t.Errorf("pidfd_getfd of the packet socket by the same user: %q, want operation not permitted", got)
	}
}
