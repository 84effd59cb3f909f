"""Map and series data: snapshots, tracing distances and areas, places, observed series."""
