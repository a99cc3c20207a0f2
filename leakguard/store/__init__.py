"""The findings store (SQLite): credentials, occurrences, scans, cursors, graph, run journals."""
