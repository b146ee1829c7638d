//go:build unix

package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/netnstest"
)

func TestCreateRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.pcapng")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	f, err := Create(link, 0)
	if err == nil {
		f.Close()
		t.Fatal("Create followed a symlink")
	}
	if !errors.Is(err, ErrSymlink) {
		t.Errorf("Create(symlink) = %v, want ErrSymlink", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep me" {
		t.Errorf("symlink target now holds %q", got)
	}
	if err := Check(link); !errors.Is(err, ErrSymlink) {
		t.Errorf("Check(symlink) = %v, want ErrSymlink", err)
	}
	// A dangling symlink must not be created through either.
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nothere"), dangling); err != nil {
		t.Fatal(err)
	}
	if f, err := Create(dangling, 0); err == nil {
		f.Close()
		t.Error("Create followed a dangling symlink")
	}
	if _, err := os.Lstat(filepath.Join(dir, "nothere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dangling symlink's target was created: %v", err)
	}
}

func TestCreateRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if f, err := Create(sub, 0); err == nil {
		f.Close()
		t.Fatal("Create opened a directory")
	} else if !errors.Is(err, ErrNotRegular) {
		t.Errorf("Create(dir) = %v, want ErrNotRegular", err)
	}
	if err := Check(sub); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Check(dir) = %v, want ErrNotRegular", err)
	}
}

func TestCreateRefusesHardLink(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := os.WriteFile(orig, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out")
	if err := os.Link(orig, path); err != nil {
		t.Fatal(err)
	}
	if f, err := Create(path, 0); err == nil {
		f.Close()
		t.Fatal("Create truncated a hard-linked file")
	} else if !errors.Is(err, ErrLinked) {
		t.Errorf("Create(hard link) = %v, want ErrLinked", err)
	}
	if got, _ := os.ReadFile(orig); string(got) != "secret" {
		t.Errorf("linked file now holds %q", got)
	}
}

func TestCreateFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader opened non-blocking first, so the writer's open returns.
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := Create(path, 0)
	if err != nil {
		t.Fatalf("Create(fifo) = %v", err)
	}
	if _, err := w.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	buf := make([]byte, 16)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "frame" {
		t.Errorf("read from fifo = %q, %v", buf[:n], err)
	}
	if err := Check(path); err != nil {
		t.Errorf("Check(fifo) = %v", err)
	}
}

func TestCreateMode(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		perm os.FileMode
		want os.FileMode
	}{
		{"default", 0, 0o600},
		{"asked", 0o640, 0o640},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			f, err := Create(path, tt.perm)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode = %#o, want %#o", got, tt.want)
			}
		})
	}
}

func TestCreateTruncatesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("existing file: size %d mode %#o, want 0 and 0600", fi.Size(), fi.Mode().Perm())
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		ok         bool
	}{
		{"new file", filepath.Join(dir, "new.pcapng"), true},
		{"existing file", file, true},
		{"missing parent", filepath.Join(dir, "missing", "x"), false},
		{"parent is a file", filepath.Join(file, "x"), false},
		{"empty", "", false},
		{"trailing slash", filepath.Join(dir, "newdir") + "/", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.path)
			if (err == nil) != tt.ok {
				t.Errorf("Check(%q) = %v, want ok=%v", tt.path, err, tt.ok)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new.pcapng")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check created the file: %v", err)
	}
}

func TestCreateChownsToSudoUser(t *testing.T) {
	netnstest.RequireRoot(t)
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	dir := t.TempDir()
	path := filepath.Join(dir, "owned")
	f, err := Create(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o777 != 0o600 {
		t.Errorf("file owner %d:%d mode %#o, want 65534:65534 0600", st.Uid, st.Gid, st.Mode&0o777)
	}

	tmp, err := MkdirTemp(dir, "demo-")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(tmp, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o777 != 0o700 {
		t.Errorf("dir owner %d:%d mode %#o, want 65534:65534 0700", st.Uid, st.Gid, st.Mode&0o777)
	}
}

func TestCreateWithoutSudoKeepsOwner(t *testing.T) {
	t.Setenv("SUDO_UID", "")
	t.Setenv("SUDO_GID", "")
	path := filepath.Join(t.TempDir(), "mine")
	f, err := Create(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != os.Geteuid() {
		t.Errorf("owner %d, want the process's %d", st.Uid, os.Geteuid())
	}
}
