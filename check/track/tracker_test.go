package track

import (
	"strings"
	"testing"
)

// The sequences below were run through keepalived 2.2.7 (a vrrp_instance
// with base priority 100 tracking one vrrp_script in a network namespace);
// want lists the effective priority keepalived logged after each run, and
// "F" for FAULT.
func TestScriptPriorityAsKeepalived(t *testing.T) {
	for _, tc := range []struct {
		name       string
		w          Weight
		rise, fall int
		initFail   bool
		runs       string // exit codes
		initial    string
		want       string
	}{
		{"fail first, fall ignored", Weight{W: -10}, 2, 2, false, "1 1 1 0 0 0", "100", "90 90 90 90 100 100"},
		{"ok then fall 2", Weight{W: -10}, 2, 2, false, "0 1 1 0 0", "100", "100 100 90 90 100"},
		{"init_fail positive", Weight{W: 10}, 2, 2, true, "0 0", "100", "110 110"},
		{"rise 3 first ok", Weight{W: 10}, 3, 2, false, "0 0", "100", "110 110"},
		{"init_fail negative", Weight{W: -10}, 2, 2, true, "1 0 0", "100", "90 90 100"},
		{"weight 0", Weight{}, 1, 1, false, "0 1 0", "F", "100 F 100"},
		{"weight 0 init_fail", Weight{}, 1, 1, true, "1 0", "F", "F 100"},
		{"defaults", Weight{W: 10}, 1, 1, false, "0 0 1", "100", "110 110 100"},
		{"track weight override", Weight{W: -30}, 1, 1, false, "1", "100", "70"},
		{"reverse positive", Weight{W: 10, Reverse: true}, 1, 1, false, "0 0 1", "100", "90 90 100"},
		{"reverse negative", Weight{W: -10, Reverse: true}, 1, 1, false, "1 1 0", "100", "110 110 100"},
	} {
		tr := NewTracker(tc.rise, tc.fall, tc.initFail)
		show := func() string {
			d, fault := ScriptDelta(tc.w, tr.Status())
			if fault {
				return "F"
			}
			return itoa(Priority(100, d))
		}
		if got := show(); got != tc.initial {
			t.Errorf("%s: initial %s, want %s", tc.name, got, tc.initial)
		}
		var got []string
		for _, c := range strings.Fields(tc.runs) {
			tr.Observe(c == "0")
			got = append(got, show())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, strings.Join(got, " "), tc.want)
		}
	}
}

func TestFileAndPriorityArithmetic(t *testing.T) {
	// keepalived 2.2.7: track_file values and the priority it logged
	for _, tc := range []struct {
		w       int
		content string
		want    string
	}{
		{-10, "3\n", "70"}, {-10, "0\n", "100"}, {-10, "-2\n", "120"}, {-10, "abc\n", "100"},
		{0, "0\n", "100"}, {0, "1\n", "F"}, {5, "", "100"}, {5, "2\n", "110"}, {5, "300\n", "254"},
	} {
		d, fault := FileDelta(Weight{W: tc.w}, ParseFileValue(tc.content))
		got := itoa(Priority(100, d))
		if fault {
			got = "F"
		}
		if got != tc.want {
			t.Errorf("weight %d file %q: got %s want %s", tc.w, tc.content, got, tc.want)
		}
	}
	if Priority(255, -100) != 255 || Priority(100, -200) != 1 || Priority(100, 10, -30, 5) != 85 {
		t.Error("priority clamping")
	}
	if ParseFileValue("  -7 apples") != -7 || ParseFileValue("99999999999999999999") != 1<<20 {
		t.Error("file value parsing")
	}
}

func TestInterfaceDelta(t *testing.T) {
	// track_interface: weight 0 means a down link is a FAULT
	if _, f := ScriptDelta(Weight{}, StatusFailed); !f {
		t.Error("down interface with weight 0 must fault")
	}
	if d, f := ScriptDelta(Weight{W: 20}, StatusOK); d != 20 || f {
		t.Error("up interface with weight 20")
	}
	if d, _ := ScriptDelta(Weight{W: -20}, StatusFailed); d != -20 {
		t.Error("down interface with weight -20")
	}
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestSplitCommand(t *testing.T) {
	got := SplitCommand(`/bin/sh -c 'exit 3'  "a b"c`)
	if strings.Join(got, "|") != "/bin/sh|-c|exit 3|a bc" {
		t.Fatalf("got %q", got)
	}
}
