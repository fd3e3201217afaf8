"""The exact engine: arrays in, arrays out (network, locator, latency, grid); no files."""
