import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP(S) download appended to a file, resumed with `Range` from `offset`. Progress goes to standard
/// error at every tenth of the transfer. A transfer that ends short of its length is an error that keeps
/// the bytes received, so the next run resumes.
final class HTTPDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let url: URL
    private let path: String
    private var offset: Int
    private let label: String
    private var handle: FileHandle?
    private var received = 0
    private var total: Int?
    private var reportedTenth = -1
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    init(url: URL, path: String, offset: Int, label: String) {
        self.url = url
        self.path = path
        self.offset = offset
        self.label = label
    }

    func run() throws {
        var request = URLRequest(url: url, timeoutInterval: 60)
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        session.dataTask(with: request).resume()
        finished.wait()
        session.finishTasksAndInvalidate()
        try? handle?.close()
        if let failure {
            // Nothing received: no partial file to resume from.
            if offset + received == 0 { try? FileManager.default.removeItem(atPath: path) }
            throw failure
        }
        if let total, offset + received < total {
            throw DataCommand.Failure(description: "the transfer of \(url) was cut off at \(offset + received) of \(total) bytes; "
                + "run the command again to resume")
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let length = response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil
        switch status {
        case 206:
            total = length.map { offset + $0 }
        case 200:
            // The server ignored the range: start over.
            offset = 0
            total = length
        case 416 where offset > 0:
            // Nothing left to send: the earlier run had received everything. The checksum decides.
            total = offset
            completionHandler(.cancel)
            return
        default:
            failure = DataCommand.Failure(description: "GET \(url) answered HTTP \(status)")
            completionHandler(.cancel)
            return
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(offset))
            try handle.seekToEnd()
            self.handle = handle
            completionHandler(.allow)
        } catch {
            failure = error
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do {
            try handle?.write(contentsOf: data)
        } catch {
            failure = error
            dataTask.cancel()
            return
        }
        received += data.count
        guard let total, total > 0 else { return }
        let tenth = (offset + received) * 10 / total
        if tenth > reportedTenth {
            reportedTenth = tenth
            FileHandle.standardError.write(Data("\(label): \(tenth * 10)% of \(Self.megabytes(total))\n".utf8))
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        // A cancel of our own already set `failure` (or was a finished resume).
        if let error, failure == nil, (error as? URLError)?.code != .cancelled {
            let received = offset + self.received
            failure = DataCommand.Failure(description: "the transfer of \(url) failed after \(received) bytes "
                + "(\(error.localizedDescription)); run the command again to resume")
        }
        finished.signal()
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}
