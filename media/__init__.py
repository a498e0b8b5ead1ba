"""Media library: probe, validate, transcode, posters, demo clips (PyAV, no web imports).

Import from the modules (``from shortstack.media.transcode import transcode``); the package
re-exports nothing, so ``shortstack.media.transcode`` and ``.probe`` stay the modules.
"""
