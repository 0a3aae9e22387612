// The Training module: see docs in README.md (developer section).
