"""Benchmarks: a synthetic catalog (`synthetic.py`), the uncached browse timings
(`browse.py`) and the cached path under wrk (`cached.sh`)."""
