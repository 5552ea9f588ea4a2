// Command peer is the tailnet Tailscale's own Kubernetes operator logs in to in the side-by-side
// benchmark: Tailscale's test control server and a DERP server, both on loopback, behind one HTTP
// front. The operator uses OPERATOR_LOGIN_SERVER both as its control URL (tsnet) and as the base URL
// of its Tailscale API client, so the front sends /api/v2/ to the project's Tailscale simulator and
// everything else to the control server.
//
// Once serving it prints one JSON line on stdout: {"url": "<front URL>", "derp": "<DERP address>"}.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"tailscale.com/derp/derpserver"
	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
	"tailscale.com/types/logger"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address of the front (control protocol + API)")
	api := flag.String("api", "", "base URL of the Tailscale API to forward /api/v2/ to (the simulator)")
	magicDNS := flag.String("magic-dns", "", "MagicDNS suffix the control server hands out")
	verbose := flag.Bool("v", false, "log the control and DERP servers")
	flag.Parse()
	if *api == "" {
		log.Fatal("--api is required")
	}
	apiURL, err := url.Parse(*api)
	if err != nil {
		log.Fatalf("--api: %v", err)
	}
	logf := logger.Discard
	if *verbose {
		logf = log.Printf
	}

	derpAddr, stopDERP := startDERP(logf)
	defer stopDERP()
	host, portStr, _ := net.SplitHostPort(derpAddr)
	var port int
	fmt.Sscanf(portStr, "%d", &port)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	frontURL := "http://" + ln.Addr().String()
	control := &testcontrol.Server{
		Logf:            logf,
		ExplicitBaseURL: frontURL,
		MagicDNSDomain:  *magicDNS,
		DERPMap: &tailcfg.DERPMap{Regions: map[int]*tailcfg.DERPRegion{
			1: {RegionID: 1, RegionCode: "loopback", Nodes: []*tailcfg.DERPNode{{
				Name: "1a", RegionID: 1, HostName: host, IPv4: host, IPv6: "none",
				DERPPort: port, STUNPort: -1, InsecureForTests: true,
			}}},
		}},
	}
	toAPI := httputil.NewSingleHostReverseProxy(apiURL)
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v2/") {
			toAPI.ServeHTTP(w, r)
			return
		}
		control.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: front, ErrorLog: logger.StdLogger(logf)}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatalf("front: %v", err)
		}
	}()

	line, _ := json.Marshal(map[string]string{"url": frontURL, "derp": derpAddr})
	fmt.Println(string(line))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	srv.Close()
}

// startDERP serves a DERP server over TLS (self-signed; the DERP map marks it InsecureForTests) on loopback.
func startDERP(logf logger.Logf) (addr string, stop func()) {
	d := derpserver.New(key.NewNode(), logf)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("derp listen: %v", err)
	}
	hs := httptest.NewUnstartedServer(derpserver.Handler(d))
	hs.Listener.Close()
	hs.Listener = ln
	hs.Config.ErrorLog = logger.StdLogger(logf)
	hs.Config.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
	hs.StartTLS()
	return ln.Addr().String(), func() { hs.Close(); d.Close() }
}
