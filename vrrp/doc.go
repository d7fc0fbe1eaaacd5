// Package vrrp owns the VRRP speaker: the VRRPv2/v3 packet codec (RFC 3768,
// RFC 5798), the protocol state machine as pure code driven by adverts and
// time, and (in the Linux driver) raw sockets and VIP changes. It does not
// parse config text; it takes its settings from the caller.
package vrrp
