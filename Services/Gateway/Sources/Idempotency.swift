import CloudGreetCore
import Foundation
import Persistence

/// `Idempotency-Key` on public POSTs (API-CONTRACT.md section 6), kept in the gateway's database so
/// that every replica sees the same keys (PostgreSQL in a deployment; SQLite for one gateway).
/// A key belongs to a business (or, for the anonymous routes, to a client address) and lasts 24
/// hours. The first request claims it; the answer is kept unless it says the work may not have
/// happened (5xx, 429), in which case the key is freed so that a retry runs again.
struct Idempotency: Sendable {
    static let header = "Idempotency-Key"
    static let lifetime = 86_400
    static let maxKeyLength = 255

    let db: any Database
    /// Seconds a running request holds its key. A gateway that dies mid-request leaves a claim with
    /// no answer; after this long a retry may run the request again.
    let lease: Int

    static let migrations = [
        Migration(
            3, "idempotency_keys",
            [
                """
                CREATE TABLE idempotency_keys (
                    scope TEXT NOT NULL, key_hash TEXT NOT NULL, fingerprint TEXT NOT NULL,
                    status INTEGER, body TEXT, locked_until BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                    PRIMARY KEY (scope, key_hash))
                """,
                "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
            ])
    ]

    enum Claim: Equatable {
        /// This request holds the key: run it, then `finish` or `release`.
        case run
        /// The first answer to the same request.
        case replay(status: Int, body: String)
        /// The first request with this key is still running.
        case inUse
        /// The key came with another request before.
        case reused
    }

    /// Where a request's key is kept: its scope and the key's hash (keys are the client's words and
    /// are not stored as given), and what the request was, to tell a replay from a reuse.
    struct Slot: Sendable {
        let scope: String
        let keyHash: String
        let fingerprint: String

        init(scope: String, key: String, method: String, path: String, query: String?, body: [UInt8]) {
            self.scope = scope
            keyHash = Secrets.sha256Hex(key)
            fingerprint = Secrets.sha256Hex(bytes: Array("\(method) \(path)?\(query ?? "")\n".utf8) + body)
        }
    }

    func claim(_ slot: Slot, now: Int = Int(Date().timeIntervalSince1970)) async throws -> Claim {
        let claimed = try await db.first(
            """
            INSERT INTO idempotency_keys (scope, key_hash, fingerprint, locked_until, expires_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (scope, key_hash) DO NOTHING RETURNING scope
            """,
            [.text(slot.scope), .text(slot.keyHash), .text(slot.fingerprint), .int(Int64(now + lease)), .int(Int64(now + Self.lifetime))])
        if claimed != nil { return .run }
        guard
            let row = try await db.first(
                "SELECT fingerprint, status, body, locked_until, expires_at FROM idempotency_keys WHERE scope = $1 AND key_hash = $2",
                [.text(slot.scope), .text(slot.keyHash)])
        else { return try await claim(slot, now: now) }  // freed in between
        let expired = (row.int("expires_at") ?? 0) <= now
        if !expired, row.string("fingerprint") != slot.fingerprint { return .reused }
        if !expired, let status = row.int("status") { return .replay(status: status, body: row.string("body") ?? "") }
        if !expired, (row.int("locked_until") ?? 0) > now { return .inUse }
        // An expired key, or a claim whose holder has gone: taken over by whoever updates it first.
        let taken = try await db.first(
            """
            UPDATE idempotency_keys SET fingerprint = $3, status = NULL, body = NULL, locked_until = $4, expires_at = $5
            WHERE scope = $1 AND key_hash = $2 AND locked_until = $6 AND expires_at = $7 RETURNING scope
            """,
            [
                .text(slot.scope), .text(slot.keyHash), .text(slot.fingerprint), .int(Int64(now + lease)),
                .int(Int64(now + Self.lifetime)), .int(Int64(row.int("locked_until") ?? 0)), .int(Int64(row.int("expires_at") ?? 0)),
            ])
        return taken != nil ? .run : .inUse
    }

    /// Keeps the answer for the key's remaining lifetime.
    func finish(_ slot: Slot, status: Int, body: String) async throws {
        try await db.query(
            "UPDATE idempotency_keys SET status = $3, body = $4, locked_until = 0 WHERE scope = $1 AND key_hash = $2",
            [.text(slot.scope), .text(slot.keyHash), .int(Int64(status)), .text(body)])
    }

    /// Frees a key whose request gave no answer worth repeating.
    func release(_ slot: Slot) async throws {
        try await db.query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key_hash = $2 AND status IS NULL",
            [.text(slot.scope), .text(slot.keyHash)])
    }

    func prune(now: Int = Int(Date().timeIntervalSince1970)) async throws {
        try await db.query("DELETE FROM idempotency_keys WHERE expires_at <= $1", [.int(Int64(now))])
    }

    /// Whether an answer is kept for the key: not when the work may not have been done.
    static func keeps(status: Int) -> Bool { status < 500 && status != 429 }

    /// The kept answer in a fresh envelope: this request's id and time.
    static func replayBody(_ stored: String, requestID: String) -> [UInt8] {
        guard case .object(var envelope)? = try? JSONValue.decode(Array(stored.utf8)) else { return Array(stored.utf8) }
        envelope["requestId"] = .string(requestID)
        envelope["timestamp"] = .string(Timestamp.format(Date()))
        return Array(JSONValue.object(envelope).encoded())
    }
}
