package balance

import "hash/crc32"

// HashFunc is one of haproxy's string hash functions.
type HashFunc func([]byte) uint32

// HashSDBM is the sdbm hash (haproxy's default for hash-type).
func HashSDBM(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

// HashDJB2 is Bernstein's djb2 hash.
func HashDJB2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = (h << 5) + h + uint32(c)
	}
	return h
}

// HashWT6 is haproxy's wt6 hash: two 32-bit lanes mixed with rotations
// whose amounts depend on the data.
func HashWT6(b []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	s0, s1 := uint32(6), uint32(18)
	for _, c := range b {
		t := uint32(c)
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<s0 | h1>>(32-s0)
		h1 = h0<<s1 | h0>>(32-s1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		s0 = t & 0x1f
		s1 = t >> 11
	}
	return h0 ^ h1
}

// HashCRC32 is the IEEE CRC-32.
func HashCRC32(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// HashNone uses no hash: the first four bytes, big-endian (for keys that
// are already numbers).
func HashNone(b []byte) uint32 {
	var h uint32
	for i := 0; i < len(b) && i < 4; i++ {
		h = h<<8 | uint32(b[i])
	}
	return h
}

// Avalanche is the integer mix haproxy applies with `avalanche` (Bob
// Jenkins' 6-shift 32-bit hash, then a multiplication by a large prime).
func Avalanche(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	// spread the result over the whole 32-bit space (a prime near 3/4 of it)
	return a * 3221225473
}

// HashFuncByName returns the function for a hash-type name.
func HashFuncByName(name string) HashFunc {
	switch name {
	case "djb2":
		return HashDJB2
	case "wt6":
		return HashWT6
	case "crc32":
		return HashCRC32
	case "none":
		return HashNone
	default:
		return HashSDBM
	}
}

// DefaultAvalanche says whether haproxy 2.6 applies avalanche for a
// hash-type line: when asked to, and also for `hash-type consistent` written
// without a hash function (measured against haproxy 2.6.12).
func DefaultAvalanche(consistent, functionGiven, avalanche bool) bool {
	return avalanche || consistent && !functionGiven
}
