// The HTTP module: see docs in README.md (developer section).
