/// HF's `WordpieceTokenizer`: greedy longest-match-first over a word's scalars, continuation pieces prefixed
/// with `##`; a word longer than `maxInputCharsPerWord` scalars, or with a part no piece matches, is one `[UNK]`.
struct WordPieceTokenizer: Sendable {
    let vocabulary: Vocabulary
    let unknownId: Int
    let maxInputCharsPerWord = 100

    /// Appends the piece ids of one word (from `BasicTokenizer`) to `ids`.
    func appendIds(of word: [Unicode.Scalar], to ids: inout [Int]) {
        guard word.count <= maxInputCharsPerWord else {
            ids.append(unknownId)
            return
        }
        let firstPiece = ids.count
        var start = 0
        while start < word.count {
            let isContinuation = start > 0
            let table = isContinuation ? vocabulary.continuationIds : vocabulary.wordStartIds
            let longest = isContinuation ? vocabulary.longestContinuation : vocabulary.longestWordStart
            // No token is longer than `longest` scalars, so longer candidates cannot match: this bounds the work
            // per position by the vocabulary, not by the word.
            var end = min(word.count, start + longest)
            var match: Int?
            while end > start {
                if let id = table[ExactText(scalars: word[start..<end])] {
                    match = id
                    break
                }
                end -= 1
            }
            guard let id = match else {
                ids.removeSubrange(firstPiece...)
                ids.append(unknownId)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
