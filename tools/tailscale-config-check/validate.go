package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"tailscale.com/ipn"
	"tailscale.com/kube/egressservices"
	"tailscale.com/kube/ingressservices"
	"tailscale.com/tailcfg"
)

// validateServe applies the structural rules tailscale exports or states plainly: service names
// (tailcfg.ServiceName.Validate), Web keys as host:port (ipn.HostPort.Port), Proxy targets as the
// CLI accepts them (ipn.ExpandProxyTargetValue, cmd/tailscale/cli/serve_v2.go), TCPForward as host:port and exclusive
// with HTTP/HTTPS and TerminateTLS only with TCPForward (ipn/serve.go TCPPortHandler docs), and Tun
// exclusive with TCP/Web handlers (ipn/ipnlocal/serve.go validateServeConfigUpdate).
func validateServe(sc *ipn.ServeConfig) error {
	if err := validateHandlers("", sc.TCP, sc.Web); err != nil {
		return err
	}
	for name, svc := range sc.Services {
		if err := name.Validate(); err != nil {
			return err
		}
		if svc == nil {
			continue
		}
		if svc.Tun && (len(svc.TCP) > 0 || len(svc.Web) > 0) {
			return fmt.Errorf("cannot configure TUN mode in combination with TCP or web handlers for %s", name)
		}
		if err := validateHandlers(name, svc.TCP, svc.Web); err != nil {
			return err
		}
	}
	for session, fg := range sc.Foreground {
		if fg == nil {
			continue
		}
		if err := validateServe(fg); err != nil {
			return fmt.Errorf("Foreground[%q]: %w", session, err)
		}
	}
	return nil
}

func validateHandlers(svc tailcfg.ServiceName, tcp map[uint16]*ipn.TCPPortHandler, web map[ipn.HostPort]*ipn.WebServerConfig) error {
	where := func(what string) string {
		if svc == "" {
			return what
		}
		return fmt.Sprintf("Services[%q].%s", svc, what)
	}
	for port, h := range tcp {
		if h == nil {
			continue
		}
		if h.TCPForward != "" && (h.HTTP || h.HTTPS) {
			return fmt.Errorf("%s: TCPForward cannot be combined with HTTP or HTTPS", where(fmt.Sprintf("TCP[%d]", port)))
		}
		if h.TerminateTLS != "" && h.TCPForward == "" {
			return fmt.Errorf("%s: TerminateTLS needs TCPForward", where(fmt.Sprintf("TCP[%d]", port)))
		}
		// Stored as host:port or unix:<path> (ipn/serve.go TCPPortHandler docs), not as the CLI's URL input.
		if h.TCPForward != "" && !strings.HasPrefix(h.TCPForward, "unix:") {
			if _, _, err := net.SplitHostPort(h.TCPForward); err != nil {
				return fmt.Errorf("%s.TCPForward: %w", where(fmt.Sprintf("TCP[%d]", port)), err)
			}
		}
	}
	for hp, w := range web {
		if _, err := hp.Port(); err != nil {
			return fmt.Errorf("%s: %w", where(fmt.Sprintf("Web[%q]", hp)), err)
		}
		if w == nil {
			continue
		}
		for mount, h := range w.Handlers {
			if h == nil || h.Proxy == "" {
				continue
			}
			if _, err := ipn.ExpandProxyTargetValue(h.Proxy, []string{"http", "https", "https+insecure", "unix"}, "http"); err != nil {
				return fmt.Errorf("%s.Proxy: %w", where(fmt.Sprintf("Web[%q].Handlers[%q]", hp, mount)), err)
			}
		}
	}
	return nil
}

// validateIngress: every mapping names both addresses (netip.Addr decodes "" as the zero address).
func validateIngress(cfgs ingressservices.Configs) error {
	for name, cfg := range cfgs {
		if err := tailcfg.ServiceName(name).Validate(); err != nil {
			return err
		}
		if cfg.IPv4Mapping == nil && cfg.IPv6Mapping == nil {
			return fmt.Errorf("%s: neither IPv4Mapping nor IPv6Mapping is set", name)
		}
		for family, m := range map[string]*ingressservices.Mapping{"IPv4Mapping": cfg.IPv4Mapping, "IPv6Mapping": cfg.IPv6Mapping} {
			if m == nil {
				continue
			}
			if !m.TailscaleServiceIP.IsValid() || !m.ClusterIP.IsValid() {
				return fmt.Errorf("%s.%s: TailscaleServiceIP and ClusterIP are both required", name, family)
			}
			if want := family == "IPv4Mapping"; m.TailscaleServiceIP.Is4() != want || m.ClusterIP.Is4() != want {
				return fmt.Errorf("%s.%s: addresses of the wrong IP family", name, family)
			}
		}
	}
	return nil
}

// validateEgress: PortMaps decodes its list with plain json.Unmarshal, which drops unknown fields,
// so the ports are decoded strictly again here; exactly one of ip/fqdn (egressservices.TailnetTarget docs).
func validateEgress(path string, cfgs egressservices.Configs) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ports map[string]struct {
		Ports json.RawMessage `json:"ports"`
	}
	if err := json.Unmarshal(raw, &ports); err != nil {
		return err
	}
	for name, cfg := range cfgs {
		var list []egressservices.PortMap
		if err := decodeStrictBytes(ports[name].Ports, &list); err != nil {
			return fmt.Errorf("%s.ports: %w", name, err)
		}
		t := cfg.TailnetTarget
		if (t.IP == "") == (t.FQDN == "") {
			return fmt.Errorf("%s.tailnetTarget: exactly one of ip and fqdn must be set", name)
		}
		if t.IP != "" {
			if _, err := netip.ParseAddr(t.IP); err != nil {
				return fmt.Errorf("%s.tailnetTarget.ip: %w", name, err)
			}
		}
		for _, p := range list {
			if p.Protocol != "TCP" && p.Protocol != "UDP" {
				return fmt.Errorf("%s.ports: protocol %q is not TCP or UDP", name, p.Protocol)
			}
			if p.MatchPort == 0 || p.TargetPort == 0 {
				return fmt.Errorf("%s.ports: matchPort and targetPort must be set", name)
			}
		}
	}
	return nil
}
