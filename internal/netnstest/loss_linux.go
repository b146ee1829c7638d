package netnstest

import (
	"strconv"
	"testing"
)

// SetLoss makes the named link drop percent of the frames it sends, at
// random: `tc qdisc replace dev IF root netem loss N%` (tc-netem(8)).
func (ns *NS) SetLoss(t testing.TB, ifname string, percent float64) {
	t.Helper()
	if percent < 0 || percent > 100 {
		t.Fatalf("netnstest: SetLoss %s: %v%% is not a percentage", ifname, percent)
	}
	ns.Exec(t, "tc", "qdisc", "replace", "dev", ifname, "root", "netem", "loss", strconv.FormatFloat(percent, 'f', -1, 64)+"%")
}
