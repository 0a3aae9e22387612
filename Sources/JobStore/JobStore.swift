// The JobStore module: see docs in README.md (developer section).
