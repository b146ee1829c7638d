package netnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RawlabPackage is the import path Rawlab builds.
const RawlabPackage = "github.com/rawlab/rawlab/cmd/rawlab"

// buildTimeout bounds `go build` of the rawlab binary.
const buildTimeout = 5 * time.Minute

var (
	rawlabOnce sync.Once
	rawlabPath string
	rawlabErr  error
)

// Rawlab returns the path of a rawlab binary built, once per test process,
// with `go build -o DIR/rawlab github.com/rawlab/rawlab/cmd/rawlab` and
// CGO_ENABLED=0 (as it ships). The test fails, with the compiler's output, if
// the build fails. The binary lives in a directory named after this process
// under os.TempDir; directories left by earlier, finished test processes are
// removed when the next one builds.
func Rawlab(t testing.TB) string {
	t.Helper()
	rawlabOnce.Do(func() { rawlabPath, rawlabErr = buildRawlab() })
	if rawlabErr != nil {
		t.Fatalf("netnstest: %v", rawlabErr)
	}
	return rawlabPath
}

const rawlabDirPrefix = "rawlab-netnstest-"

func buildRawlab() (string, error) {
	removeStaleBuilds()
	dir, err := os.MkdirTemp("", rawlabDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("build rawlab: %w", err)
	}
	path := filepath.Join(dir, "rawlab")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-buildvcs=false", "-o", path, RawlabPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build %s: %w\n%s", RawlabPackage, err, out)
	}
	return path, nil
}

// goTool returns the go command: from PATH (go test puts its own first), or
// else the one of the toolchain that built this binary, for a test binary run
// directly under sudo, which often drops /usr/local/go/bin from PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// removeStaleBuilds removes the build directories of test processes that
// have exited.
func removeStaleBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), rawlabDirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), rawlabDirPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil {
			continue // still running
		}
		os.RemoveAll(d)
	}
}
