import Foundation
import Checksum
import HTTP
import JobStore

/// The response of a POST's effect, as sent and as stored under an Idempotency-Key.
struct PostOutcome {
    let status: HTTPStatus
    let body: [UInt8]

    init<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok) throws {
        self.status = status
        body = try APIJSON.encode(value)
    }
}

/// A POST in two steps: the handler validates the request without writing anything and returns the
/// effect, which then runs inside one write transaction.
typealias PostEffect = (StoreWriter) throws -> PostOutcome
typealias PostHandler = @Sendable (Request) throws -> PostEffect

/// Runs POSTs under the `Idempotency-Key` rules with JobStore's records:
/// 1. `beginIdempotentRequest` in its own transaction leaves an in-flight marker (a second request
///    with the key now gets 409 `idempotency_key_in_use`, one with another body 422), or finds the
///    stored response, which is replayed with `Idempotent-Replayed: true`;
/// 2. the effect and `completeIdempotentRequest` commit in one transaction, so a stored response
///    always describes an effect that happened, and an effect never lacks its stored response;
/// 3. a request that fails (validation, 404, 409…) abandons the marker: errors are not replayed, the
///    key can be used again. A marker left by a crashed process is cleared by the store on next use.
enum IdempotentPost {
    static func run(_ request: Request, store: JobStore, now: @Sendable () -> Int,
                    _ handler: PostHandler) throws -> Response {
        guard let key = request.headers["Idempotency-Key"] else {
            let effect = try handler(request)
            return response(try store.write { try effect($0) })
        }
        guard (1...255).contains(key.utf8.count) else {
            throw APIError.invalidValue("Idempotency-Key", "expected 1 to 255 characters")
        }
        var hasher = SHA256()
        hasher.update(Data(request.body))
        let identity = IdempotentRequest(key: key, method: request.method, path: request.path,
                                         bodySHA256: hasher.finalizeHex())
        switch try store.write({ try $0.beginIdempotentRequest(identity, now: now()) }) {
        case .replay(let stored):
            return Response.json(bytes: stored.body, status: HTTPStatus(apiCode: stored.status))
                .adding("Idempotent-Replayed", "true")
        case .proceed:
            do {
                let effect = try handler(request)
                let outcome = try store.write { writer in
                    let outcome = try effect(writer)
                    try writer.completeIdempotentRequest(key: key, response: StoredResponse(status: outcome.status.code,
                                                                                            body: outcome.body))
                    return outcome
                }
                return response(outcome)
            } catch {
                // Best effort: if this fails too, the marker expires with the key or dies with the process.
                try? store.write { try $0.abandonIdempotentRequest(key: key) }
                throw error
            }
        }
    }

    private static func response(_ outcome: PostOutcome) -> Response {
        Response.json(bytes: outcome.body, status: outcome.status)
    }
}

extension Response {
    func adding(_ name: String, _ value: String) -> Response {
        var copy = self
        copy.headers.add(name, value)
        return copy
    }
}
