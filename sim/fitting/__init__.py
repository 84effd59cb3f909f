"""Fitting the advance model: calibration to a series, reference classes, the class fit."""
