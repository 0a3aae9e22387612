// The Text module: see docs in README.md (developer section).
