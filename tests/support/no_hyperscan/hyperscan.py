"""Put this folder first on PYTHONPATH to run the suite as on a platform without Hyperscan:
``import hyperscan`` then fails exactly as it does where the package is not installed."""

raise ModuleNotFoundError("hyperscan is made unavailable by tests/support/no_hyperscan")
