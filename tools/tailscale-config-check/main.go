// Command tailscale-config-check validates the files the operator writes for its proxies with
// Tailscale's own types and loader (tailscale.com at the version go.mod pins), so a config that a
// real tailscaled or containerboot would refuse fails here first.
//
//	tailscale-config-check <tailscaled|serve|ingress|egress> <file>...
//
// It prints one line per failing file (the Go error text) and exits 1 if any file fails, 2 on usage errors.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"tailscale.com/ipn"
	"tailscale.com/ipn/conffile"
	"tailscale.com/kube/egressservices"
	"tailscale.com/kube/ingressservices"
)

var checks = map[string]func(path string) error{
	"tailscaled": checkTailscaled,
	"serve":      checkServe,
	"ingress":    checkIngress,
	"egress":     checkEgress,
}

func main() {
	if len(os.Args) < 3 || checks[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: %s <%s> <file>...\n", os.Args[0], kinds())
		os.Exit(2)
	}
	check := checks[os.Args[1]]
	failed := false
	for _, path := range os.Args[2:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func kinds() string {
	names := make([]string, 0, len(checks))
	for k := range checks {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString("|")
		}
		b.WriteString(n)
	}
	return b.String()
}

// checkTailscaled runs tailscaled's own loader for --config files: HuJSON, the version key, unknown
// fields and every field's type (opt.Bool accepts only true, false and null).
func checkTailscaled(path string) error {
	c, err := conffile.Load(path)
	if err != nil {
		return err
	}
	// What tailscaled does next with the file (ipn/ipnlocal ReloadConfig); it rejects, e.g., routes with host bits.
	_, err = c.Parsed.ToPrefs()
	return err
}

// checkServe decodes an ipn.ServeConfig strictly. containerboot itself ignores unknown fields
// (cmd/containerboot/serve.go uses json.Unmarshal), so an unknown field here is a field tailscaled
// would silently drop: a typo in what we meant to configure.
func checkServe(path string) error {
	var sc ipn.ServeConfig
	if err := decodeStrict(path, &sc); err != nil {
		return err
	}
	return validateServe(&sc)
}

func checkIngress(path string) error {
	var cfgs ingressservices.Configs
	if err := decodeStrict(path, &cfgs); err != nil {
		return err
	}
	return validateIngress(cfgs)
}

func checkEgress(path string) error {
	var cfgs egressservices.Configs
	if err := decodeStrict(path, &cfgs); err != nil {
		return err
	}
	return validateEgress(path, cfgs)
}

// decodeStrict is encoding/json with unknown fields and trailing data refused.
func decodeStrict(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeStrictBytes(raw, v)
}

func decodeStrictBytes(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
