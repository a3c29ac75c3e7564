package wasm

// WithoutTermination returns cfg compiled without the deadline checks, for
// the benchmark that measures what they cost.
func WithoutTermination(cfg Config) Config {
	cfg.noTermination = true
	return cfg
}
