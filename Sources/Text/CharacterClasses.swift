// The character classes of HF's BERT basic tokenizer (`_is_whitespace`, `_is_control`, `_is_punctuation`,
// `_is_chinese_char`) and of Python's `str.split()`. HF works on code points, so these are on Unicode scalars.
// ASCII is decided without the Unicode property tables: it is nearly all of the input.

extension Unicode.Scalar {
    /// The Unicode version of CPython 3.11's `unicodedata`, which the golden ids were made with. The Swift
    /// standard library's tables are newer; code points assigned after this version count as unassigned.
    /// (Between 14.0 and Swift 6.3's tables, only U+0295 Ll→Lo and U+1171E Mn→Mc changed category among
    /// older characters; neither matters to these classes except U+1171E, which HF would strip as an accent.)
    static let referenceUnicodeVersion: Unicode.Version = (14, 0)

    /// Unicode's Cased property in `referenceUnicodeVersion`: U+0295 was a lower-case letter (Ll) there.
    var isReferenceCased: Bool { value == 0x295 || properties.isCased }

    /// Unicode's Case_Ignorable property in `referenceUnicodeVersion`: U+1171E was a nonspacing mark (Mn) there.
    var isReferenceCaseIgnorable: Bool { value == 0x1171E || properties.isCaseIgnorable }

    /// HF `_is_whitespace`: space, tab, newline, carriage return, or general category Zs.
    var isBertWhitespace: Bool {
        switch value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case 0..<0x80: return false
        default: return properties.generalCategory == .spaceSeparator
        }
    }

    /// HF `_is_control`: any category C* (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return,
    /// which count as whitespace. Unassigned code points (Cn) are removed too, and "unassigned" means in
    /// `referenceUnicodeVersion`: characters added later are unassigned to the reference Python as well.
    var isBertControl: Bool {
        switch value {
        case 0x09, 0x0A, 0x0D: return false
        case 0..<0x20, 0x7F: return true
        case 0x20..<0x7F: return false
        default:
            guard let age = properties.age, age <= Self.referenceUnicodeVersion else { return true }
            switch properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned: return true
            default: return false
            }
        }
    }

    /// HF `_is_punctuation`: every non-alphanumeric printable ASCII character (so `$`, `^`, `` ` `` too) and any
    /// general category P*.
    var isBertPunctuation: Bool {
        switch value {
        case 33...47, 58...64, 91...96, 123...126: return true
        case 0..<0x80: return false
        default:
            switch properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return true
            default:
                return false
            }
        }
    }

    /// HF `_is_chinese_char`: the CJK Unified Ideographs blocks and their extensions and compatibility blocks
    /// (not Hangul, Hiragana or Katakana, which are written with spaces).
    var isCJKIdeograph: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Python's `str.isspace()`, which is what `str.split()` splits on (taken from CPython 3.11). After text
    /// cleaning only the space and U+2028/U+2029 can still occur; the full set keeps the rule self-evident.
    var isPythonWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
             0x3000:
            return true
        default:
            return false
        }
    }
}
