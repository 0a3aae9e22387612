// The Tensor module: see docs in README.md (developer section).
