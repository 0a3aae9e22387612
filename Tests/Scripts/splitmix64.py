"""SplitMix64 and its Fisher-Yates shuffle as unipelt's K-shot split uses them, for the developer scripts that
need the same draws (text_golden.py pins them in a golden file; compare_with_torch.py picks the same rows)."""

MASK64 = (1 << 64) - 1


class SplitMix64:
    """Vigna's splitmix64.c, and a bounded draw that rejects values below 2^64 mod bound (no modulo bias)."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, bound):
        threshold = (1 << 64) % bound
        while True:
            draw = self.next()
            if draw >= threshold:
                return draw % bound

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
