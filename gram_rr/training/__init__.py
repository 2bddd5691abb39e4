"""Training internals: examples, the SFT process, the Ray Train entry, recipes, training throughput (our SFT vs a plain loop)."""
