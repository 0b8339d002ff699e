import CloudGreetCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's blocking thread pool so hashing never stalls an event loop.
struct PasswordHasher: Sendable {
    let cost: UInt8
    /// Verified against when an email is unknown, so a login takes as long either way.
    let decoy: String

    init(cost: Int) async throws {
        self.cost = UInt8(clamping: min(max(cost, 4), 31))
        let cost = self.cost
        decoy = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash("decoy-password-never-valid", cost: cost) }
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String?) async throws -> Bool {
        let stored = hash ?? decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: stored) }
        return matches && hash != nil
    }

    /// At least 8 characters; at most 72 bytes, bcrypt's limit.
    static func validate(_ password: String?, field: String, in reader: FieldReader) {
        guard let password else { return }
        if password.count < 8 { reader.fail(field, "must be at least 8 characters") }
        if password.utf8.count > 72 { reader.fail(field, "must be at most 72 bytes") }
    }
}
