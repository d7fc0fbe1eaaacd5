package h1

// Chunks walks a chunked body as it passes, without copying it: Feed tells
// how many bytes belong to the body and when it has ended.
type Chunks struct {
	state int   // one of the ck* states
	left  int64 // data bytes left in the current chunk
	size  int64
	digs  int
	// Trailer collects the trailer lines (Decode only), LF-terminated.
	Trailer []byte
	dst     *[]byte
}

const (
	ckSize        = iota // reading hex digits
	ckExt                // after the size: whitespace, extensions, up to LF
	ckData               // chunk data
	ckDataCR             // CR after data
	ckDataLF             // LF after data
	ckTrailer            // start of a trailer line (or the final empty line)
	ckTrailerLine        // inside a trailer line
	ckDone
)

// Reset prepares c for a new body.
func (c *Chunks) Reset() { *c = Chunks{Trailer: c.Trailer[:0]} }

// Done reports whether the final chunk and trailers have been seen.
func (c *Chunks) Done() bool { return c.state == ckDone }

// Decode is Feed that also appends the chunk data to *dst (which may share
// p's array at or before p's start) and collects the trailers.
func (c *Chunks) Decode(p []byte, dst *[]byte) (int, error) {
	c.dst = dst
	n, err := c.Feed(p)
	c.dst = nil
	return n, err
}

// Feed consumes bytes of the body from p; it returns how many belong to
// the body (all of p unless the body ends inside it) or ErrBad.
func (c *Chunks) Feed(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		b := p[i]
		switch c.state {
		case ckSize:
			switch {
			case b >= '0' && b <= '9', b >= 'a' && b <= 'f', b >= 'A' && b <= 'F':
				if c.digs >= 15 {
					return i, ErrBad
				}
				c.size = c.size<<4 | int64(unhex(b))
				c.digs++
			case c.digs > 0 && (b == ' ' || b == '\t' || b == ';'):
				c.state = ckExt
			case c.digs > 0 && b == '\r':
				c.state = ckExt
			case c.digs > 0 && b == '\n':
				c.endSize()
			default:
				return i, ErrBad
			}
		case ckExt:
			if b == '\n' {
				c.endSize()
			}
		case ckData:
			n := int64(len(p) - i)
			if n > c.left {
				n = c.left
			}
			c.left -= n
			if c.dst != nil {
				*c.dst = append(*c.dst, p[i:i+int(n)]...)
			}
			i += int(n)
			if c.left == 0 {
				c.state = ckDataCR
			}
			continue
		case ckDataCR:
			switch b {
			case '\r':
				c.state = ckDataLF
			case '\n':
				c.state = ckSize
			default:
				return i, ErrBad
			}
		case ckDataLF:
			if b != '\n' {
				return i, ErrBad
			}
			c.state = ckSize
		case ckTrailer:
			switch b {
			case '\r':
			case '\n':
				c.state = ckDone
				return i + 1, nil
			default:
				c.state = ckTrailerLine
				if c.dst != nil {
					c.Trailer = append(c.Trailer, b)
				}
			}
		case ckTrailerLine:
			if b == '\n' {
				c.state = ckTrailer
			}
			if c.dst != nil && b != '\r' {
				c.Trailer = append(c.Trailer, b)
			}
		case ckDone:
			return i, nil
		}
		i++
	}
	return i, nil
}

func (c *Chunks) endSize() {
	if c.size == 0 {
		c.state = ckTrailer
	} else {
		c.state, c.left = ckData, c.size
	}
	c.size, c.digs = 0, 0
}

func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b >= 'a':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}

// Limit is the room haproxy 2.6 leaves a message head for a given
// tune.bufsize and tune.maxrewrite (0: the defaults 16384 and 1024), in the
// units of Msg.Size. Measured against haproxy 2.6.12: with the defaults a
// head of Size 15275 passes and 15276 is refused.
func Limit(bufsize, maxrewrite int) int {
	if bufsize <= 0 {
		bufsize = 16384
	}
	if maxrewrite <= 0 {
		maxrewrite = 1024
	}
	return bufsize - maxrewrite - 85
}
