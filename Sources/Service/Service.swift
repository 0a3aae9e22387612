// The Service module: see docs in README.md (developer section).
