package netnstest

import (
	"os"
	"strconv"
	"testing"
)

func TestOwner(t *testing.T) {
	me, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		rec       string
		alive, ok bool
	}{
		{pid + " " + me + "\n", true, true},
		{pid + " ?", true, true},
		{pid + " 1", false, true}, // same PID, other start time: reused
		{"2147483647 1", false, true},
		{"", false, false},
		{"abc 1", false, false},
		{pid, false, false},
		{"-1 5", false, false},
	}
	for _, tt := range tests {
		_, alive, ok := owner(tt.rec)
		if alive != tt.alive || ok != tt.ok {
			t.Errorf("owner(%q) = alive %v ok %v, want %v %v", tt.rec, alive, ok, tt.alive, tt.ok)
		}
	}
}
