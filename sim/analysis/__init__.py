"""Reading outcomes: summaries, comparisons of runs, sensitivity of sweeps."""
