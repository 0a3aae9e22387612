import Foundation
import XCTest
@testable import Text

/// Paths of the committed golden files (found from this source file, so tests run from any directory) and of
/// the optional full GLUE data in `../shared/glue` next to the package.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let vocabularyURL = directory.appendingPathComponent("vocab.txt")
    static let glueFixture = directory.appendingPathComponent("glue")

    static let tokenizer: Result<BertTokenizer, Error> = Result { try BertTokenizer(vocabularyURL: vocabularyURL) }

    static func loadTokenizer() throws -> BertTokenizer {
        try tokenizer.get()
    }

    static func decode<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// `../shared/glue` from the package root, or a skip saying it is absent.
    static func sharedGLUE() throws -> URL {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let glue = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/glue")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: glue.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw XCTSkip("skipped: the full GLUE data is not at \(glue.path) (../shared/glue); only the fixture is tested")
        }
        return glue
    }
}
