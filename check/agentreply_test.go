package check

import "testing"

func TestParseAgentReply(t *testing.T) {
	// Expected status and info were read from haproxy 2.6.12's stats
	// (agent_status, last_agt) for the same replies.
	for _, tc := range []struct {
		line, status, info string
		weight, maxconn    int
		admin              string
	}{
		{"up\n", "L7OK", "via agent : up", -1, -1, ""},
		{"UP\n", "L7OK", "via agent : UP", -1, -1, ""},
		{"up\r\n", "L7OK", "via agent : up", -1, -1, ""},
		{"down\n", "L7STS", "via agent : down", -1, -1, ""},
		{"down #why not\n", "L7STS", "via agent : down (why not)", -1, -1, ""},
		{"up 50% # hi\n", "L7OK", "via agent : up (hi)", 50, -1, ""},
		{"up garbage\n", "L7OK", "via agent : up (garbage)", -1, -1, ""},
		{"garbage up\n", "L7OK", "via agent : up (garbage)", -1, -1, ""},
		{"up,50%\n", "L7OK", "via agent : up", 50, -1, ""},
		{"up\tdrain\n", "L7OK", "via agent : up", -1, -1, "drain"},
		{"50% garbage\n", "CHECKED", "agent reports an error : garbage", 50, -1, ""},
		{"garbage\n", "CHECKED", "agent reports an error : garbage", -1, -1, ""},
		{"down#maintenance window\n", "CHECKED", "agent reports an error : down#maintenance", -1, -1, ""},
		{"fail#x\n", "CHECKED", "agent reports an error : fail#x", -1, -1, ""},
		{"-5%\n", "CHECKED", "agent reports an error : -5%", -1, -1, ""},
		{"5\n", "CHECKED", "agent reports an error : 5", -1, -1, ""},
		{"5%x\n", "CHECKED", "agent warns : Trailing garbage in weight string", -1, -1, ""},
		{"150%\n", "CHECKED", "", 150, -1, ""},
		{"maxconn:5\n", "CHECKED", "", -1, 5, ""},
		{"drain\n", "CHECKED", "", -1, -1, "drain"},
		{"MAINT\n", "CHECKED", "", -1, -1, "maint"},
		{"", "CHECKED", "", -1, -1, ""},
	} {
		a := ParseAgentReply(tc.line)
		r := a.Result()
		if r.Status.String() != tc.status || r.Info != tc.info || a.WeightPercent != tc.weight || a.Maxconn != tc.maxconn || a.Admin != tc.admin {
			t.Errorf("%q: got %s %q w%d m%d %q", tc.line, r.Status, r.Info, a.WeightPercent, a.Maxconn, a.Admin)
		}
	}
}

func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"up 50%\n", "down #x", "maxconn:99999999999999999999", "9999999999999999999999%", "#", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseAgentReply(s).Result()
		srv := NewServer(Params{Name: "b/s", Check: true, Agent: true, Weight: 256})
		srv.Observe(true, r)
		if srv.Weight() < 0 || srv.Weight() > MaxWeight {
			t.Fatalf("weight %d out of range", srv.Weight())
		}
	})
}
