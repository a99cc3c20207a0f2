"""The nightly sweep: a YAML list of targets scanned into the findings store."""
