// Package track implements keepalived 2.2's trackers for VRRP instances:
// vrrp_script (a command run every interval, as a given user, with a
// timeout, counted with rise/fall), track_file (an integer read from a file
// times a weight) and track_interface (link state), and keepalived's
// arithmetic that turns them into an effective priority or a FAULT.
//
// The counting and the arithmetic are pure (Tracker, Priority); running
// scripts and reading files or interfaces is a thin layer around them.
package track
