package parser

// kwStick keeps `stick on|match|store-request src [table NAME]` for the
// runtime, which sticks clients to servers by their address; other
// patterns are warned about as not implemented.
func (r *haReader) kwStick(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if !r.needArgs(key, args, 1, kpos, "a pattern") {
		return
	}
	ok := args[0] == "src"
	for i := 1; i < len(args); i++ {
		if args[i] == "table" {
			i++
			continue
		}
		ok = false // a condition (if/unless) or more
	}
	if !ok {
		r.notImpl(kpos, key, px.Kind+" '"+px.Name+"'")
	}
	px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
}
