package capture

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const helperEnv = "RAWLAB_CAPTURE_HELPER"

// TestHelperRecordForever is not a test: TestRecorderSIGKILL runs the test
// binary on it in a child process, which records frames until it is killed.
func TestHelperRecordForever(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return // only a helper process, run by TestRecorderSIGKILL
	}
	r, err := CreateRecorder(path, RecorderOptions{Interface: "veth0", BufferSize: 64 << 10, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	recs := testRecords()
	// Bounded: the parent kills us long before this ends.
	for i, end := 0, time.Now().Add(30*time.Second); time.Now().Before(end); i++ {
		if err := r.Write(recs[i%len(recs)]); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed within 30 s")
}

// TestRecorderSIGKILL kills a process while it records, and checks that
// the file reads back up to its last whole block.
func TestRecorderSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.pcapng")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRecordForever$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Wait for the file to hold a few buffers' worth, then kill.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper wrote less than 1 MiB in 20 s")
		}
		time.Sleep(5 * time.Millisecond) // polling for the file to grow
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	r, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("after %d records: %v, want EOF or io.ErrUnexpectedEOF", n, err)
			}
			t.Logf("file ends inside a block after %d records (a write cut by the kill)", n)
			break
		}
		n++
	}
	if n < 1000 {
		t.Errorf("read %d records from a file of more than 1 MiB", n)
	}
	t.Logf("%d records read back", n)
}
