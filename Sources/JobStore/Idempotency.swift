import Foundation

// Idempotency-Key records (IETF draft semantics): the first request with a key leaves an
// in-flight marker; its effect and its response are then stored in the effect's own write
// transaction (`completeIdempotentRequest` inside the same `JobStore.write`), so a replay returns
// exactly what the effect produced. Records expire after 24 hours.

/// What identifies a request under a key.
public struct IdempotentRequest: Equatable, Sendable {
    public var key: String
    public var method: String
    public var path: String
    /// Lowercase hex SHA-256 of the request body.
    public var bodySHA256: String

    public init(key: String, method: String, path: String, bodySHA256: String) {
        self.key = key
        self.method = method
        self.path = path
        self.bodySHA256 = bodySHA256
    }
}

public struct StoredResponse: Equatable, Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

public enum IdempotencyDecision: Equatable, Sendable {
    /// First use of the key: an in-flight marker is stored; run the request, then complete or abandon it.
    case proceed
    /// The same request was answered before: send this response again.
    case replay(StoredResponse)
}

extension StoreWriter {
    /// How long a key is remembered.
    public static var idempotencyKeyLifetimeSeconds: Int { 24 * 60 * 60 }

    /// Looks the key up and, if it is new (or expired, or its marker was left by a dead process
    /// instance), stores an in-flight marker. Throws `idempotencyKeyInUse` while another request with
    /// the key runs and `idempotencyKeyReused` if the key came with another method, path or body.
    public func beginIdempotentRequest(_ request: IdempotentRequest, now: Int) throws -> IdempotencyDecision {
        try connection.run("""
            DELETE FROM idempotency_keys
            WHERE key = ? AND (created_at <= ? OR (response_status IS NULL AND instance_id <> ?))
            """, [.text(request.key), .integer(now - Self.idempotencyKeyLifetimeSeconds), .text(instanceID)])
        let existing = try connection.queryOne("""
            SELECT method, path, body_sha256, response_status, response_body FROM idempotency_keys WHERE key = ?
            """, [.text(request.key)]) { row in
            (same: row.text(0) == request.method && row.text(1) == request.path && row.text(2) == request.bodySHA256,
             response: row.optionalInt(3).map { StoredResponse(status: $0, body: [UInt8](row.blob(4))) })
        }
        guard let existing else {
            // Each new key also clears the expired ones (an indexed range delete), so the table holds about a
            // day of keys however many clients send.
            try purgeExpiredIdempotencyKeys(now: now)
            try connection.run("""
                INSERT INTO idempotency_keys (key, method, path, body_sha256, instance_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(request.key), .text(request.method), .text(request.path), .text(request.bodySHA256),
                      .text(instanceID), .integer(now)])
            return .proceed
        }
        guard existing.same else { throw JobStoreError.idempotencyKeyReused(key: request.key) }
        guard let response = existing.response else { throw JobStoreError.idempotencyKeyInUse(key: request.key) }
        return .replay(response)
    }

    /// Stores the response of the request that holds the key's in-flight marker.
    public func completeIdempotentRequest(key: String, response: StoredResponse) throws {
        let updated = try connection.run("""
            UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE key = ? AND response_status IS NULL
            """, [.integer(response.status), .blob(Data(response.body)), .text(key)])
        guard updated == 1 else { throw JobStoreError.notFound(.idempotencyKey, id: key) }
    }

    /// Removes an in-flight marker when the request ends without a response worth replaying.
    public func abandonIdempotentRequest(key: String) throws {
        try connection.run("DELETE FROM idempotency_keys WHERE key = ? AND response_status IS NULL", [.text(key)])
    }

    /// Deletes expired records; returns how many.
    @discardableResult
    public func purgeExpiredIdempotencyKeys(now: Int) throws -> Int {
        try connection.run("DELETE FROM idempotency_keys WHERE created_at <= ?",
                           [.integer(now - Self.idempotencyKeyLifetimeSeconds)])
    }
}
