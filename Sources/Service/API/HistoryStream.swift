import Foundation
import HTTP
import JobStore

/// Rows of a job's history read in one go, ready to send, and the cursor after them.
struct HistoryBatch<Cursor: Sendable> {
    /// Stream id (event id or step) and the JSON object of each record.
    var records: [(id: String, json: [UInt8])]
    var next: Cursor?
    var hasMore: Bool
}

/// The one live-tail loop behind the event, metric and gate streams (SSE or NDJSON): send what is
/// there, sleep `streamPollInterval` in `waitUntilClosed` (a disconnect or shutdown wakes it), repeat;
/// once the job is terminal and every row was sent, send `end` with the status and close.
enum HistoryStream {
    /// The response format a request asks for: `Accept: application/x-ndjson`, or SSE through
    /// `Accept: text/event-stream` or `?stream=true`; nil for a plain page.
    static func format(of request: Request) throws -> StreamFormat? {
        let accept = request.headers["Accept"] ?? ""
        if accept.contains("application/x-ndjson") { return .ndjson }
        if try request.query.choice("stream", ["true", "false"]) == "true" || accept.contains("text/event-stream") {
            return .eventStream
        }
        return nil
    }

    static func response<Cursor: Sendable>(
        _ format: StreamFormat, event: String, jobID: String, from start: Cursor?, context: APIContext,
        fetch: @escaping @Sendable (StoreReader, Cursor?) throws -> HistoryBatch<Cursor>
    ) throws -> Response {
        // One read before the 200 head goes out, so an unknown job or cursor is a 404 or 400 rather than an
        // error event inside a stream.
        _ = try context.store.read { try fetch($0, start) }
        return .stream(format) { stream in
            var cursor = start
            while true {
                do {
                    // The status is read before the rows: rows written before the job ended are then
                    // all visible to the reads below, so `end` never overtakes a row.
                    let status = try context.store.read { try $0.job(id: jobID).status }
                    var batch: HistoryBatch<Cursor>
                    repeat {
                        batch = try context.store.read { try fetch($0, cursor) }
                        for record in batch.records { try send(record.json, event: event, id: record.id, to: stream) }
                        cursor = batch.next ?? cursor
                    } while batch.hasMore
                    if status.isTerminal {
                        try send(try APIJSON.encode(StreamEndObject(status: status.rawValue)), event: "end", id: nil, to: stream)
                        return
                    }
                } catch is StreamClosed {
                    return
                } catch {
                    try? send(errorBody(error), event: "error", id: nil, to: stream)
                    return
                }
                if stream.waitUntilClosed(timeout: context.streamPollInterval) { return }
            }
        }
    }

    private static func send(_ json: [UInt8], event: String, id: String?, to stream: ResponseStream) throws {
        switch stream.format {
        case .eventStream: try stream.send(event: event, id: id, data: String(decoding: json, as: UTF8.self))
        case .ndjson: try stream.sendLine(json)
        case .chunked: try stream.write(json + [UInt8(ascii: "\n")])
        }
    }

    /// The API's error object (`type`, `code`, `message`), for a failure after the 200 head went out.
    private static func errorBody(_ error: Error) -> [UInt8] {
        struct Body: Encodable {
            struct Detail: Encodable { let type, code, message: String }
            let object = "error"
            let error: Detail
        }
        let known = APIError.mapping(error) as? HTTPErrorConvertible
        let detail = Body.Detail(type: known?.errorType ?? "server_error", code: known?.code ?? "internal_error",
                                 message: known?.message ?? "internal server error")
        return (try? APIJSON.encode(Body(error: detail))) ?? Array(#"{"object":"error"}"#.utf8)
    }
}
