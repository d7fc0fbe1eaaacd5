package proxy

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// chromium runs headless Chromium with args and returns its stdout.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1600,1000", "--hide-scrollbars"}
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// TestStatsPageInBrowser loads the stats page in headless Chromium, takes
// a screenshot, and checks in the DOM Chromium built that every proxy and
// server is listed with its state, and in the screenshot that the state
// colours were painted (GOHAKA_KEEP_SCREENSHOT=1 keeps it in $TMPDIR).
func TestStatsPageInBrowser(t *testing.T) {
	sp := replyServers(t, 3)
	dead := deadPort(t)
	st, fe := freePort(t), freePort(t)
	r := startRuntime(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend web
    bind 127.0.0.1:%d
    default_backend app
backend app
    server up1 127.0.0.1:%d check inter 100ms
    server off 127.0.0.1:%d disabled
    server dead 127.0.0.1:%d check inter 100ms fall 1
    server drained 127.0.0.1:%d
backend spare
    server sp1 127.0.0.1:%d backup
listen stats
    mode http
    bind 127.0.0.1:%d
    stats enable
    stats uri /
    stats refresh 10s
`, fe, sp[0], sp[1], dead, sp[2], sp[0], st))
	if got := r.Command("set server app/drained state drain"); got != "" {
		t.Fatal(got)
	}
	waitFor(t, func() bool {
		csv := r.StatCSV(false)
		return regexp.MustCompile(`\napp,dead,[^\n]*,DOWN,`).MatchString(csv) && regexp.MustCompile(`\napp,up1,[^\n]*,UP,`).MatchString(csv)
	}, "checks to settle")
	hit(t, fe, 8)
	url := fmt.Sprintf("http://127.0.0.1:%d/;norefresh", st)
	shot := filepath.Join(t.TempDir(), "stats.png")
	chromium(t, "--screenshot="+shot, url)
	dom := chromium(t, "--dump-dom", url)
	want := map[string]string{
		"web/Frontend": "OPEN", "app/up1": "UP", "app/off": "MAINT", "app/dead": "DOWN", "app/drained": "DRAIN",
		"app/Backend": "UP", "spare/sp1": "no check", "spare/Backend": "UP", "stats/Frontend": "OPEN", "stats/Backend": "UP",
	}
	row := regexp.MustCompile(`<tr class="(\w+)" data-proxy="([^"]+)" data-name="([^"]+)" data-state="([^"]+)">`)
	seen := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(dom, -1) {
		name := m[3]
		if name == "FRONTEND" {
			name = "Frontend"
		} else if name == "BACKEND" {
			name = "Backend"
		}
		seen[m[2]+"/"+name] = m[4]
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("page in Chromium: %s is %q, want %q", k, seen[k], v)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("page lists %d rows, want %d: %v", len(seen), len(want), seen)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// the row colours: up green, down red, maintenance brown, drain blue
	colours := map[string][3]uint32{"up": {0xc0, 0xff, 0xc0}, "down": {0xff, 0x90, 0x90}, "maint": {0xc0, 0x78, 0x20}, "drain": {0xa0, 0xa0, 0xff}}
	found := map[string]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			for name, c := range colours {
				if cr>>8 == c[0] && cg>>8 == c[1] && cb>>8 == c[2] {
					found[name] = true
				}
			}
		}
	}
	for name := range colours {
		if !found[name] {
			t.Errorf("screenshot %s: no %s-coloured row painted", shot, name)
		}
	}
	if t.Failed() || os.Getenv("GOHAKA_KEEP_SCREENSHOT") != "" {
		keep := filepath.Join(os.TempDir(), "gohaka-stats-page.png")
		if b, err := os.ReadFile(shot); err == nil {
			os.WriteFile(keep, b, 0o644)
			t.Logf("screenshot kept at %s", keep)
		}
	}
}
