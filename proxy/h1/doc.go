// Package h1 parses HTTP/1.x message heads in place and frames their bodies,
// as strictly as haproxy 2.6 does: what haproxy answers with 400 is an
// error here too, and what it lets through is accepted.
package h1
