import Foundation
import Text

/// `unipelt tokenize`: encodes texts with the BERT tokenizer, one JSON line in, one line of ids out. It lets
/// `Tests/Scripts/tokenizer_parity.py` compare the Swift tokenizer with HF on every GLUE dev row.
enum TokenizeCommand: CLICommand {
    static let name = "tokenize"
    static let summary = "encode JSON lines of texts into BERT token ids"
    static let usage = """
    usage: unipelt tokenize [--vocab <vocab.txt>] [--max-length <n>]

    Reads JSON lines from standard input, each an array of one text or of a text pair:
      ["A sentence."]
      ["A premise.", "A hypothesis."]
    and writes one line per input: the token ids of [CLS] a [SEP] (b [SEP]), separated by spaces.
    With --max-length the encoding is truncated longest-first to at most n tokens; no padding is added.

    options:
      --vocab <path>      WordPiece vocabulary (default: var/models/minilm-l6/vocab.txt)
      --max-length <n>    truncate to n tokens (at least 3)
    """

    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ arguments: [String]) throws {
        var vocabularyPath = "var/models/minilm-l6/vocab.txt"
        var maxLength: Int?
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            switch option {
            case "--vocab":
                guard let value = remaining.popFirst() else { throw InputError(description: "--vocab needs a path") }
                vocabularyPath = value
            case "--max-length":
                guard let value = remaining.popFirst(), let length = Int(value), length >= 3 else {
                    throw InputError(description: "--max-length needs an integer of at least 3")
                }
                maxLength = length
            default:
                throw InputError(description: "unknown option '\(option)'")
            }
        }
        let tokenizer = try BertTokenizer(vocabularyURL: URL(fileURLWithPath: vocabularyPath))
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var output = ""
        for (index, line) in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            let texts = (try? JSONSerialization.jsonObject(with: Data(line), options: [])) as? [String]
            guard let texts, texts.count == 1 || texts.count == 2 else {
                throw InputError(description: "stdin line \(index + 1): expected a JSON array of 1 or 2 strings")
            }
            let encoding = tokenizer.encode(texts[0], texts.count == 2 ? texts[1] : nil, maxLength: maxLength)
            output += encoding.ids.map(String.init).joined(separator: " ")
            output += "\n"
            if output.utf8.count > 1 << 16 {
                FileHandle.standardOutput.write(Data(output.utf8))
                output = ""
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
