import Foundation

/// Runs a program to completion: its exit status, standard output and standard error. `input`, when given, is
/// its standard input (from a file, so writing it never waits on the child).
public func runProgram(_ path: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    // Standard error goes to a file, so a child that fills it never blocks while standard output is read.
    let errorsPath = NSTemporaryDirectory() + "stderr-\(UUID().uuidString)"
    guard FileManager.default.createFile(atPath: errorsPath, contents: nil),
          let errors = FileHandle(forWritingAtPath: errorsPath) else { throw CocoaError(.fileWriteUnknown) }
    defer { try? FileManager.default.removeItem(atPath: errorsPath) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = errors
    if let input {
        let inputPath = NSTemporaryDirectory() + "stdin-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        // The child reads the open handle, so the path may go at the end of this block.
        guard FileManager.default.createFile(atPath: inputPath, contents: Data(input.utf8)),
              let inputFile = FileHandle(forReadingAtPath: inputPath) else { throw CocoaError(.fileWriteUnknown) }
        process.standardInput = inputFile
    }
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? errors.close()
    let errorText = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), errorText)
}
