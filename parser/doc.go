// Package parser owns gohaka's shared model (Config and its parts) and the
// readers that fill it from haproxy.cfg and keepalived.conf: a source layer
// with a source map, hand-written tokenizers, section/block structure, and a
// keyword table. Every value keeps its source position and every problem is
// reported as a Diag with file:line:col. Nothing here opens a socket.
package parser
