"""Media library: probe, validate, transcode, posters, demo clips (PyAV, no web imports)."""
