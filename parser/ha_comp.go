package parser

// compAlgos are the compression algorithms gohaka's runtime has.
var compAlgos = map[string]bool{"gzip": true, "deflate": true, "raw-deflate": true, "identity": true}

// kwCompression keeps `compression algo|type|offload` lines for the
// runtime; other forms, or an algorithm it lacks, are warned about as
// not implemented.
func (r *haReader) kwCompression(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	impl := len(args) > 0
	if impl {
		switch args[0] {
		case "algo":
			for _, a := range args[1:] {
				impl = impl && compAlgos[a]
			}
		case "type", "offload":
		default:
			impl = false
		}
	}
	if !impl {
		r.notImpl(kpos, key, px.Kind+" '"+px.Name+"'")
	}
	px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
}
