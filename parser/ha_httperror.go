package parser

import "strings"

// httpErrorCodes are the statuses haproxy 2.6 keeps an error message for
// (http-error, errorfile).
var httpErrorCodes = map[string]bool{"200": true, "400": true, "401": true, "403": true, "404": true, "405": true,
	"407": true, "408": true, "410": true, "413": true, "425": true, "429": true, "500": true, "501": true,
	"502": true, "503": true, "504": true}

// kwHTTPError reads `http-error status N [content-type T] [hdr N V]...
// [string S | lf-string S | file F | lf-file F | errorfile F | errorfiles
// NAME | default-errorfiles]` as haproxy 2.6 checks it; the line is kept
// for the runtime, which builds the answer.
func (r *haReader) kwHTTPError(px *Proxy, key string, args []string, apos []Pos, kpos Pos) {
	if len(args) == 0 {
		r.d.Errorf(kpos, "%s : expects at least a <status> as arguments.", key)
		return
	}
	ctype, payload, lf := false, false, false
	for i := 0; i < len(args); i++ {
		w := args[i]
		need := func(what string) bool {
			if i+1 >= len(args) {
				r.d.Errorf(apos[i], "%s : '%s' expects %s as argument", key, w, what)
				return false
			}
			i++
			return true
		}
		switch w {
		case "status":
			if !need("<status_code>") {
				return
			}
			if !httpErrorCodes[args[i]] {
				r.d.Errorf(apos[i], "%s : Unexpected status code '%s'", key, args[i])
				return
			}
		case "content-type":
			if !need("<ctype>") {
				return
			}
			ctype = true
		case "hdr":
			if !need("<name>") || !need("<fmt>") {
				return
			}
		case "string", "lf-string":
			if !need("<str>") {
				return
			}
			payload, lf = payload || args[i] != "", lf || w == "lf-string"
		case "file", "lf-file", "errorfile":
			if !need("<file>") {
				return
			}
			msg := key + " : error opening file '%s'." // haproxy's words end without the dot for file/lf-file
			if w != "errorfile" {
				msg = strings.TrimSuffix(msg, ".")
			}
			if !r.checkFile(apos[i], args[i], msg) {
				return
			}
			payload, lf = payload || w != "errorfile", lf || w == "lf-file"
		case "errorfiles":
			if !need("<name>") {
				return
			}
		case "default-errorfiles":
		default:
			r.d.Errorf(apos[i], "%s : unknown keyword '%s'.", key, w)
			return
		}
	}
	if !ctype && lf {
		r.d.Errorf(kpos, "%s : a content type must be defined with a log-format payload", key)
		return
	}
	if !ctype && payload {
		r.d.Errorf(kpos, "%s : a content type must be defined when non-empty payload is configured", key)
		return
	}
	px.Settings = append(px.Settings, Line{Words: append([]string{key}, args...), Pos: append([]Pos{kpos}, apos...)})
}
