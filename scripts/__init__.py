"""Helper scripts for the walk-through, the tests and the benchmarks."""
