import CloudGreetCore
import Foundation
import Persistence

enum IdentitySchema {
    static let migrations = [
        Migration(
            1, "identity",
            [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                    first_name TEXT, last_name TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE businesses (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, name_lower TEXT NOT NULL, settings TEXT NOT NULL,
                    phone_number TEXT UNIQUE, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE memberships (
                    user_id TEXT NOT NULL REFERENCES users(id), business_id TEXT NOT NULL REFERENCES businesses(id),
                    role TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (user_id, business_id))
                """,
                "CREATE INDEX memberships_business ON memberships (business_id, created_at)",
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL REFERENCES businesses(id), name TEXT NOT NULL,
                    role TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created_by TEXT,
                    created_at BIGINT NOT NULL, revoked_at BIGINT)
                """,
                "CREATE INDEX api_keys_business ON api_keys (business_id, created_at)",
                """
                CREATE TABLE reset_tokens (
                    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
                    expires_at BIGINT NOT NULL, used_at BIGINT, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX reset_tokens_user ON reset_tokens (user_id)",
            ]),
        Migration(
            2, "token revocation",
            [
                "ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0",
                """
                CREATE TABLE revoked_tokens (
                    token_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), expires_at BIGINT NOT NULL)
                """,
                "CREATE INDEX revoked_tokens_user ON revoked_tokens (user_id, expires_at)",
            ]),
    ]
}

struct User: Sendable {
    var id: String
    var email: String
    var passwordHash: String
    var firstName: String?
    var lastName: String?
    /// Tokens carrying an older version were issued before a password reset and are refused.
    var tokenVersion: Int = 0
    var createdAt: Date

    func json(businessID: String?, role: Role?) -> JSONValue {
        [
            "id": .string(id), "email": .string(email), "first_name": JSONValue(firstName), "last_name": JSONValue(lastName),
            "business_id": JSONValue(businessID), "role": JSONValue(role?.rawValue), "created_at": JSONValue(createdAt),
        ]
    }

}

extension User {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), email: try row.required("email"), passwordHash: try row.required("password_hash"),
            firstName: row.string("first_name"), lastName: row.string("last_name"),
            tokenVersion: row.int("token_version") ?? 0, createdAt: try row.requiredDate("created_at"))
    }
}

struct Business: Sendable, Encodable, JSONRepresentable {
    var id: String
    var name: String
    var settings: JSONValue
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, settings
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

}

extension Business {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), name: try row.required("name"), settings: row.json("settings") ?? [:],
            createdAt: try row.requiredDate("created_at"), updatedAt: try row.requiredDate("updated_at"))
    }
}

struct APIKeyRecord: Sendable, Encodable, JSONRepresentable {
    var id: String
    var businessID: String
    var name: String
    var role: Role
    var prefix: String
    var createdAt: Date
    var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, role, prefix
        case businessID = "business_id"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }

    init(row: SQLRow) throws {
        id = try row.required("id")
        businessID = try row.required("business_id")
        name = try row.required("name")
        role = Role(rawValue: row.string("role") ?? "") ?? .agent
        prefix = try row.required("prefix")
        createdAt = try row.requiredDate("created_at")
        revokedAt = row.date("revoked_at")
    }
}

/// Identity's SQL. Every query about a business's data names the business.
struct IdentityStore: Sendable {
    let db: any Database

    // MARK: users

    func insertUser(_ user: User, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO users (id, email, password_hash, first_name, last_name, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6)
            """,
            [
                .text(user.id), .text(user.email), .text(user.passwordHash), SQLValue(user.firstName), SQLValue(user.lastName),
                SQLValue(user.createdAt),
            ])
    }

    func user(email: String) async throws -> User? {
        try await db.first("SELECT * FROM users WHERE email = $1", [.text(email)]).map(User.init(row:))
    }

    func user(id: String) async throws -> User? {
        try await db.first("SELECT * FROM users WHERE id = $1", [.text(id)]).map(User.init(row:))
    }

    // MARK: businesses and memberships

    func insertBusiness(_ business: Business, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO businesses (id, name, name_lower, settings, phone_number, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6)
            """,
            [
                .text(business.id), .text(business.name), .text(business.name.lowercased()), SQLValue(business.settings),
                SQLValue(business.settings["phone_number"]?.stringValue), SQLValue(business.createdAt),
            ])
    }

    func updateBusiness(_ business: Business) async throws {
        try await db.query(
            "UPDATE businesses SET name = $1, name_lower = $2, settings = $3, phone_number = $4, updated_at = $5 WHERE id = $6",
            [
                .text(business.name), .text(business.name.lowercased()), SQLValue(business.settings),
                SQLValue(business.settings["phone_number"]?.stringValue), SQLValue(business.updatedAt), .text(business.id),
            ])
    }

    func business(id: String) async throws -> Business? {
        try await db.first("SELECT * FROM businesses WHERE id = $1", [.text(id)]).map(Business.init(row:))
    }

    /// The email addresses of the business's admins, for notices about the business's account.
    func adminEmails(businessID: String) async throws -> [String] {
        try await db.query(
            """
            SELECT users.email FROM memberships JOIN users ON users.id = memberships.user_id
            WHERE memberships.business_id = $1 AND memberships.role = 'admin' ORDER BY memberships.created_at
            """, [.text(businessID)]
        ).compactMap { $0.string("email") }
    }

    func business(phoneNumber: String) async throws -> Business? {
        try await db.first("SELECT * FROM businesses WHERE phone_number = $1", [.text(phoneNumber)]).map(Business.init(row:))
    }

    func addMember(userID: String, businessID: String, role: Role, on db: any SQLExecutor) async throws {
        try await db.query(
            "INSERT INTO memberships (user_id, business_id, role, created_at) VALUES ($1, $2, $3, $4)",
            [.text(userID), .text(businessID), .text(role.rawValue), SQLValue(Date())])
    }

    /// The user's role in the business, or nil when not a member.
    func role(userID: String, businessID: String) async throws -> Role? {
        try await db.first(
            "SELECT role FROM memberships WHERE user_id = $1 AND business_id = $2",
            [.text(userID), .text(businessID)]
        )
        .flatMap { $0.string("role") }.flatMap(Role.init(rawValue:))
    }

    /// The business a login lands in when none is asked for: the first one joined.
    func firstMembership(userID: String) async throws -> (businessID: String, role: Role)? {
        guard
            let row = try await db.first(
                "SELECT business_id, role FROM memberships WHERE user_id = $1 ORDER BY created_at, business_id LIMIT 1",
                [.text(userID)]),
            let role = row.string("role").flatMap(Role.init(rawValue:)), let businessID = row.string("business_id")
        else { return nil }
        return (businessID, role)
    }

    func businesses(userID: String, search: String?, page: Page) async throws -> Paged<Business> {
        var filter = "m.user_id = $1"
        var binds: [SQLValue] = [.text(userID)]
        if let search {
            filter += " AND b.name_lower LIKE $2 ESCAPE '\\'"
            binds.append(.text("%\(search.lowercased().likeEscaped)%"))
        }
        let total = try await db.count(
            "SELECT COUNT(*) AS n FROM businesses b JOIN memberships m ON m.business_id = b.id WHERE \(filter)", binds)
        let rows = try await db.query(
            """
            SELECT b.* FROM businesses b JOIN memberships m ON m.business_id = b.id WHERE \(filter)
            ORDER BY b.created_at DESC, b.id DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """, binds)
        return Paged(try rows.map(Business.init(row:)), total: total, page: page)
    }

    func members(businessID: String, page: Page) async throws -> Paged<JSONValue> {
        let total = try await db.count("SELECT COUNT(*) AS n FROM memberships WHERE business_id = $1", [.text(businessID)])
        let rows = try await db.query(
            """
            SELECT u.*, m.role AS member_role, m.created_at AS joined_at FROM memberships m
            JOIN users u ON u.id = m.user_id WHERE m.business_id = $1
            ORDER BY m.created_at DESC, u.id DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """, [.text(businessID)])
        let items = try rows.map { row -> JSONValue in
            var json = try User(row: row).json(businessID: businessID, role: row.string("member_role").flatMap(Role.init(rawValue:)))
            json = json.merging(["joined_at": JSONValue(row.date("joined_at"))])
            return json
        }
        return Paged(items, total: total, page: page)
    }

    // MARK: API keys

    func insertKey(
        id: String, businessID: String, name: String, role: Role, hash: String, prefix: String,
        createdBy: String
    ) async throws -> APIKeyRecord {
        let rows = try await db.query(
            """
            INSERT INTO api_keys (id, business_id, name, role, key_hash, prefix, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *
            """,
            [
                .text(id), .text(businessID), .text(name), .text(role.rawValue), .text(hash), .text(prefix),
                .text(createdBy), SQLValue(Date()),
            ])
        guard let row = rows.first else { throw DatabaseError.missingColumn("id") }
        return try APIKeyRecord(row: row)
    }

    func keys(businessID: String, page: Page) async throws -> Paged<APIKeyRecord> {
        try await db.page(
            "api_keys", where: SQLFilter("business_id = ?", .text(businessID)), orderBy: "created_at DESC, id DESC", page
        ).map(APIKeyRecord.init(row:))
    }

    /// Revokes (once; repeating keeps the first time) and returns the key, or nil if it is not the business's.
    func revokeKey(id: String, businessID: String) async throws -> APIKeyRecord? {
        try await db.query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND business_id = $3 AND revoked_at IS NULL",
            [SQLValue(Date()), .text(id), .text(businessID)])
        return try await db.first("SELECT * FROM api_keys WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)])
            .map(APIKeyRecord.init(row:))
    }

    func activeKey(hash: String) async throws -> APIKeyRecord? {
        guard let row = try await db.first("SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", [.text(hash)]),
            let stored = row.string("key_hash"), Secrets.constantTimeEquals(Array(stored.utf8), Array(hash.utf8))
        else { return nil }
        return try APIKeyRecord(row: row)
    }

    // MARK: password resets

    func insertResetToken(hash: String, userID: String, expiresAt: Date) async throws {
        try await db.query(
            "INSERT INTO reset_tokens (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
            [.text(hash), .text(userID), SQLValue(expiresAt), SQLValue(Date())])
    }

    /// Uses the token (once, if unexpired) and sets the new password, in one transaction; returns
    /// false for an unknown, used or expired token. Other outstanding tokens of the user die too.
    func resetPassword(tokenHash: String, newHash: String, now: Date = Date()) async throws -> Bool {
        try await db.transaction { db in
            guard
                let row = try await db.first(
                    """
                    UPDATE reset_tokens SET used_at = $1
                    WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id
                    """, [SQLValue(now), .text(tokenHash)]),
                let userID = row.string("user_id")
            else { return false }
            // A new token version: every token issued before the reset stops working.
            try await db.query(
                "UPDATE users SET password_hash = $1, updated_at = $2, token_version = token_version + 1 WHERE id = $3",
                [.text(newHash), SQLValue(now), .text(userID)])
            try await db.query(
                "UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
                [SQLValue(now), .text(userID)])
            return true
        }
    }

    // MARK: token revocation

    /// Logs one token out until it would have expired anyway; tokens already past that are forgotten.
    func revokeToken(id: String, userID: String, expiresAt: Date, now: Date = Date()) async throws {
        try await db.transaction { db in
            try await db.query("DELETE FROM revoked_tokens WHERE user_id = $1 AND expires_at <= $2", [.text(userID), SQLValue(now)])
            try await db.query(
                "INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (token_id) DO NOTHING",
                [.text(id), .text(userID), SQLValue(expiresAt)])
        }
    }

    /// The user's token version and the ids of logged-out tokens that have not expired; nil for no such user.
    func tokenState(userID: String, now: Date = Date()) async throws -> (version: Int, revoked: [String])? {
        guard let user = try await db.first("SELECT token_version FROM users WHERE id = $1", [.text(userID)]) else { return nil }
        let rows = try await db.query(
            "SELECT token_id FROM revoked_tokens WHERE user_id = $1 AND expires_at > $2",
            [.text(userID), SQLValue(now)])
        return (user.int("token_version") ?? 0, rows.compactMap { $0.string("token_id") })
    }
}
