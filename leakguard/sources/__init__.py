"""Sources turn targets (paths, repositories, bundles, URLs, stdin) into chunks of bytes."""
