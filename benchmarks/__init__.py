"""Benchmarks behind `make bench`: tool latency, SQL on DuckDB vs MySQL, the offline pipeline at
several sizes, and concurrent chats. commands/bench.py runs them and writes bench/results/."""
