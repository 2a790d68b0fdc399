//! Benchmarks live in `benches/`; the side-by-side comparison with redis-server is `compare.py`.
