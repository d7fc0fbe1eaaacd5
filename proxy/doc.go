// Package proxy owns the forwarding runtime: listeners from `bind` lines,
// tcp mode forwarding that moves bulk data with splice(2) from event
// loops, http mode (HTTP/1.1, HTTP/2 to clients, TLS, rules and ACLs,
// persistence, compression), stick tables and their counters, server
// selection through the balance package, connection limits and queues,
// stats, logs and the runtime API, and soft and hard stops. It reads the
// parser model and never config text.
package proxy
