"""The I/O shell around the pure library: configs, cache, runs, figures."""
