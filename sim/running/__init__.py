"""Running scenarios: replications in chunks on an executor, and their outcomes."""
