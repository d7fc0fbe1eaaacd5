// Package balance owns server selection: every haproxy 2.6 balance
// algorithm, weights, backup servers, haproxy's hash functions and the
// map-based and consistent hash types. It is pure and deterministic: the
// caller passes every input (addresses, URIs, headers, the time for slow
// starts) and the package does no I/O.
package balance
