// Package proxy owns the forwarding runtime: listeners from `bind` lines,
// tcp mode forwarding that moves bulk data with splice(2), server
// selection through the balance package, connection limits and queues, and
// soft and hard stops. It reads the parser model and never config text.
package proxy
