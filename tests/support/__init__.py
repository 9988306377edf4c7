"""What several suites share: servers on loopback, paths, the engine-vs-browser comparison."""
