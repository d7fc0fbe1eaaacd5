package proxy

// This file holds the xxHash converters xxh32, xxh64 and xxh3.

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// xxh32 is XXH32 of b with a seed (the algorithm of xxHash's
// specification; no package for it is in the module list).
func xxh32(b []byte, seed uint32) uint32 {
	var p1, p2, p3, p4, p5 uint32 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	round := func(acc, in uint32) uint32 { return bits.RotateLeft32(acc+in*p2, 13) * p1 }
	n := len(b)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := seed+p1+p2, seed+p2, seed, seed-p1
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, binary.LittleEndian.Uint32(b))
			v2 = round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + p5
	}
	h += uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*p3, 17) * p4
	}
	for _, c := range b {
		h = bits.RotateLeft32(h+uint32(c)*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}

// xxhConv is xxh32([seed]) (unsigned), xxh64([seed]) and xxh3([seed])
// (signed 64 bits), as haproxy gives them.
func xxhConv(name string, args []string, bad func(string) error) (convFn, error) {
	var seed uint64
	if len(args) > 0 && args[0] != "" {
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return nil, bad("the seed must be an integer")
		}
		seed = uint64(n)
	}
	return func(_ *hreq, out, in []byte) ([]byte, bool) {
		switch name {
		case "xxh32":
			return strconv.AppendUint(out, uint64(xxh32(in, uint32(seed))), 10), true
		case "xxh64":
			d := xxhash.NewWithSeed(seed)
			d.Write(in)
			return strconv.AppendInt(out, int64(d.Sum64()), 10), true
		}
		return strconv.AppendInt(out, int64(xxh3.HashSeed(in, seed)), 10), true
	}, nil
}
