// Package providercheck is the contract suite every provider must pass
// before a host loads it. A provider author runs it with
//
//	recyclegate provider check ./myprovider [--config check.yaml]
//
// on a plugin binary or a .wasm module; Run is the same suite for a test.
// It starts the provider as the host does (a go-plugin process, or a module
// on wazero), configures it, and checks, one named check each:
//
//	handshake        the plugin handshake and its protocol version (a module: it loads)
//	stdout-clean     nothing on stdout before the handshake
//	manifest         id, version, capabilities, categories, limits, cost, config keys
//	configure        the configuration fits the declared keys and Configure accepts it
//	capabilities     each listed capability answers its operation; the rest answer unsupported
//	invalid-input    bad input gets invalid_argument, and the provider is still there
//	concurrency      32 calls at once each get the answer one call gets
//	money            every amount is an integer number of fen with a currency code
//	deadline         a call past its deadline returns by it, its upstream request ended
//	secrets          the secrets Configure gave never appear in an error or a log line
//	exits-with-host  the plugin process exits when the host goes away
//
// The package names no provider and core never imports it: cmd/host runs
// it, and its tests run it over the built-in providers, the examples, a
// scaffolded provider and deliberately broken ones (testdata/broken).
package providercheck
