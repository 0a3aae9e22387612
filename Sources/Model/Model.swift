// The Model module: see docs in README.md (developer section).
