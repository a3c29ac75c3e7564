package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/internal/providercheck"
	"github.com/recyclegate/recyclegate/sdk"
)

// cmdProvider is the provider author's kit: describe, check, new.
func cmdProvider(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("provider", args, stdout); err != nil {
		return err
	}
	switch args[0] {
	case "describe":
		return cmdProviderDescribe(args[1:], stdout)
	case "check":
		return cmdProviderCheck(args[1:], stdout)
	}
	return cmdProviderNew(args[1:], stdout)
}

// interleaved parses flags before and after the positional arguments, as
// go test does, and returns the positional ones.
func interleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

const describeDetail = `ID is a provider built into this binary, or one that --config's host.yaml
names; PATH is a plugin binary or a .wasm module, started to ask it.
The config keys are those a providers[].config block of host.yaml may set:
the host refuses any other key, and a value not of the key's type, with
its line, before it configures the provider.
`

func cmdProviderDescribe(args []string, stdout io.Writer) error {
	fs := newFlagSet("provider describe", stdout, describeDetail)
	configPath := fs.String("config", "", "a host.yaml that names the provider (for a provider not built in)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	pos, err := interleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one provider: an id or the path of a plugin or .wasm file")
	}
	m, err := describeProvider(pos[0], *configPath)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	return writeManifest(stdout, m)
}

// describeProvider finds the manifest of a built-in id, a file, or an id
// of the host.yaml at configPath.
func describeProvider(what, configPath string) (sdk.Manifest, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cache := registry.WASMCacheDir("")
	if configPath != "" {
		cfg, err := core.LoadConfig(configPath)
		if err != nil {
			return sdk.Manifest{}, err
		}
		for _, p := range cfg.Providers {
			if p.ID != what {
				continue
			}
			if p.Runtime == core.RuntimeBuiltin {
				break
			}
			return providercheck.Describe(ctx, p.Path, cache)
		}
	}
	if b, ok := builtinByID(what); ok {
		return b.newAdapter().Manifest(), nil
	}
	if _, err := os.Stat(what); err == nil {
		return providercheck.Describe(ctx, what, cache)
	}
	ids := make([]string, len(builtins))
	for i, b := range builtins {
		ids[i] = b.id
	}
	hint := ""
	if configPath == "" {
		hint = "; for another provider give the path of its binary or .wasm, or --config host.yaml"
	}
	return sdk.Manifest{}, fmt.Errorf("no provider %q: built in are %s%s", what, strings.Join(ids, ", "), hint)
}

// writeManifest prints a manifest for a person: what the provider is, and
// the keys its configuration takes.
func writeManifest(w io.Writer, m sdk.Manifest) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s: %s (%s)\n", m.ID, m.Version, m.Name, m.Status)
	if m.Description != "" {
		fmt.Fprintf(&b, "%s\n", m.Description)
	}
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	cats := make([]string, len(m.Categories))
	for i, c := range m.Categories {
		cats[i] = string(c)
	}
	fmt.Fprintf(&b, "\ncapabilities: %s\ncategories:   %s\n", strings.Join(caps, ", "), strings.Join(cats, ", "))
	if l, _ := json.Marshal(m.Limits); string(l) != "{}" {
		fmt.Fprintf(&b, "limits:       %s\n", l)
	}
	fmt.Fprint(&b, "\nconfig keys (host.yaml providers[].config):\n")
	if len(m.Config)+len(m.Secrets) == 0 {
		fmt.Fprint(&b, "  none: the provider takes no configuration\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	t := newTable(&b)
	fmt.Fprint(t, "  KEY\tTYPE\tREQUIRED\tSECRET\tDEFAULT\tDESCRIPTION\n")
	row := func(k sdk.ConfigKey, secret bool) {
		typ := string(k.Type)
		if typ == "" {
			typ = string(sdk.TypeString)
		}
		if len(k.OneOf) > 0 {
			typ += " (" + strings.Join(k.OneOf, "|") + ")"
		}
		fmt.Fprintf(t, "  %s\t%s\t%s\t%s\t%s\t%s\n", k.Name, typ, yesNo(k.Required && k.Default == ""), yesNo(secret), k.Default, k.Description)
	}
	for _, k := range m.Config {
		row(k, false)
	}
	for _, k := range m.Secrets {
		row(k, true)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprint(&b, "\nWrite a secret as ${ENV_VAR}: the host reads it from the environment and redacts it from every log.\n")
	_, err := w.Write(b.Bytes())
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

const checkDetail = `Starts the provider as the host does (PATH: a plugin binary, or a .wasm
module) and runs the contract suite on it: a line per check, a summary,
exit status 1 when any check fails. Checks: handshake, stdout-clean,
manifest, configure, capabilities, invalid-input, concurrency, money,
deadline, secrets, exits-with-host (docs/providers.md says what each asks).

Without --config the provider gets each key's default, and a value of its
type for a required key (its url keys point at a stand-in server that
answers 503). FILE gives what a real answer needs, in YAML:

  config:          # as host.yaml's providers[].config, secrets included
    base_url: http://127.0.0.1:9101
    api_key: sandbox-key
  item:            # the item quoted, as the API's item (default: by category)
    category: phone
    brand: Apple
    model: iPhone 14 Pro
  query: iPhone    # the catalog search
  allowed_hosts: [api.example.com]   # a .wasm module's, as in host.yaml
`

// checkFile is --config's YAML.
type checkFile struct {
	Config       map[string]string `yaml:"config"`
	Item         map[string]any    `yaml:"item"`
	Query        string            `yaml:"query"`
	AllowedHosts []string          `yaml:"allowed_hosts"`
}

func cmdProviderCheck(args []string, stdout io.Writer) error {
	fs := newFlagSet("provider check", stdout, checkDetail)
	configPath := fs.String("config", "", "a YAML file: the provider's config, the item to quote, the catalog query")
	deadline := fs.Duration("deadline", 300*time.Millisecond, "the deadline of the deadline check's call")
	pos, err := interleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want the path of one plugin binary or .wasm module")
	}
	opts := providercheck.Options{Path: pos[0], Deadline: *deadline, CacheDir: registry.WASMCacheDir("")}
	if *configPath != "" {
		if err := readCheckFile(*configPath, &opts); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := providercheck.Run(ctx, opts)
	if err != nil {
		return err
	}
	if err := rep.Write(stdout); err != nil {
		return err
	}
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(rep.Results))
	}
	return nil
}

// readCheckFile reads --config strictly into opts.
func readCheckFile(path string, opts *providercheck.Options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f checkFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s (the keys are config, item, query and allowed_hosts)", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	opts.Config, opts.Query, opts.AllowedHosts = f.Config, f.Query, f.AllowedHosts
	if f.Item != nil {
		raw, err := json.Marshal(f.Item)
		if err != nil {
			return fmt.Errorf("%s: item: %w", path, err)
		}
		var it sdk.Item
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&it); err != nil {
			return fmt.Errorf("%s: item: %w", path, err)
		}
		opts.Item = &it
	}
	return nil
}
