// Command demo-backend is the pair of toy web servers `make run` puts
// behind gohaka's demo config: each answers every request with its name.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

func main() {
	addrs := os.Args[1:]
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:8081", "127.0.0.1:8082"}
	}
	for i, a := range addrs {
		name := fmt.Sprintf("web%d", i+1)
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s (%s %s)\n", name, r.Method, r.URL.Path)
		})
		go func(addr string) { log.Fatal(http.ListenAndServe(addr, mux)) }(a)
	}
	log.Printf("demo backends on %s", strings.Join(addrs, ", "))
	select {}
}
