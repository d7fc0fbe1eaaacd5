// Package check owns gohaka's health checking: the probes that talk to a
// server (tcp connect, HTTP, tcp-check rule scripts, ssl-hello, mysql, pgsql,
// redis, smtp, ldap, agent, ICMP echo) and the rise/fall state machine that
// turns their results into server state changes, with haproxy 2.6 semantics.
//
// The state machine (Server) is pure: it takes results and returns events,
// and its interval and jitter helpers take the time and randomness they need
// as arguments. Probes do real I/O, one small function per check kind, each
// bounded by a context and the check timeouts. The Runner schedules probes per
// server on a Clock and reports events through a callback; it never decides
// routing. keepalived's tracking (vrrp_script, track_file, track_interface)
// lives in the track subpackage.
package check
