//! Tests of Understudy through real clients and tools live in `tests/`.
