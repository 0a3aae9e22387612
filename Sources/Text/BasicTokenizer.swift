import Foundation

/// HF's `BasicTokenizer` with `do_lower_case=True`, `tokenize_chinese_chars=True`, `strip_accents=None`:
/// clean the text, put spaces around CJK ideographs, NFC, split on whitespace, then per word lower-case,
/// strip accents (NFD, drop Mn) and split off punctuation. Works on Unicode scalars, as HF works on code points.
struct BasicTokenizer: Sendable {
    /// Words kept whole, neither lower-cased nor split (HF passes the special tokens as `never_split`).
    let neverSplit: [[Unicode.Scalar]]

    /// The words of `text`, each a non-empty scalar sequence ready for WordPiece.
    func words(_ text: ArraySlice<Unicode.Scalar>) -> [[Unicode.Scalar]] {
        var output: [[Unicode.Scalar]] = []
        for word in whitespaceSplit(normalized(text)) {
            if neverSplit.contains(where: { $0 == word }) {
                output.append(word)
                continue
            }
            let isASCII = word.allSatisfy(\.isASCII)
            var folded = Self.lowercased(word)
            if !isASCII { folded = Self.strippingAccents(folded) }
            Self.splitPunctuation(folded, into: &output)
        }
        return output
    }

    /// HF `_clean_text` + `_tokenize_chinese_chars` + NFC: drops U+0000, U+FFFD and control characters, maps
    /// whitespace to a space, and isolates CJK ideographs.
    private func normalized(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.count)
        var isASCII = true
        for scalar in text {
            if scalar.value == 0 || scalar.value == 0xFFFD || scalar.isBertControl { continue }
            if scalar.isBertWhitespace {
                cleaned.append(" ")
            } else if scalar.isCJKIdeograph {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
                isASCII = false
            } else {
                cleaned.append(scalar)
                isASCII = isASCII && scalar.isASCII
            }
        }
        // ASCII is already in NFC; skipping it saves a round trip through String for almost every sentence.
        if isASCII { return cleaned }
        return Array(String(String.UnicodeScalarView(cleaned)).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Python's `str.split()`: runs of whitespace separate words, and no word is empty.
    private func whitespaceSplit(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in text {
            if scalar.isPythonWhitespace {
                if !current.isEmpty {
                    words.append(current)
                    current.removeAll(keepingCapacity: true)
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Python's `str.lower()` on one word: the full lower-case mapping of each scalar (so "İ" becomes "i̇"), and
    /// capital sigma becomes final "ς" when it ends a cased word (Unicode's Final_Sigma context, as CPython does).
    static func lowercased(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(word.count)
        for (index, scalar) in word.enumerated() {
            if scalar.isASCII {
                let isUpper = (0x41...0x5A).contains(scalar.value)
                output.append(isUpper ? Unicode.Scalar(UInt8(scalar.value + 0x20)) : scalar)
            } else if scalar.value == 0x3A3 {
                output.append(isFinalSigma(in: word, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else {
                output.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return output
    }

    /// CPython's `handle_capital_sigma`: a cased letter before (skipping case-ignorable ones) and none after,
    /// with the properties of the reference Python's Unicode version.
    private static func isFinalSigma(in word: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && word[before].isReferenceCaseIgnorable { before -= 1 }
        guard before >= 0, word[before].isReferenceCased else { return false }
        var after = index + 1
        while after < word.count && word[after].isReferenceCaseIgnorable { after += 1 }
        return after == word.count || !word[after].isReferenceCased
    }

    /// HF `_run_strip_accents`: NFD, then drop nonspacing marks (Mn).
    static func strippingAccents(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let decomposed = String(String.UnicodeScalarView(word)).decomposedStringWithCanonicalMapping
        return decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
    }

    /// HF `_run_split_on_punc`: every punctuation scalar is a word of its own. Empty pieces are not emitted
    /// (a word made only of marks vanishes, as in HF's final whitespace re-split).
    private static func splitPunctuation(_ word: [Unicode.Scalar], into output: inout [[Unicode.Scalar]]) {
        var current: [Unicode.Scalar] = []
        for scalar in word {
            if scalar.isBertPunctuation {
                if !current.isEmpty {
                    output.append(current)
                    current = []
                }
                output.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { output.append(current) }
    }
}
