"""Forecasts scored against what happened: backtests, evaluation, and the scoring rules."""
