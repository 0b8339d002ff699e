import Foundation
import Synchronization

/// Resource ids: a type prefix and a ULID (48-bit millisecond time, 80 random bits, Crockford base32),
/// so ids sort by creation time. Within one millisecond the random part is incremented, keeping order.
public enum ResourceID {
    public enum Kind: String, Sendable, CaseIterable {
        case user, business, agent, lead, appointment, call, sms, email, key, reset, reminder, erasure, webhook, delivery
        case event = "evt"
        case textBack = "textback"
        case request = "req"
    }

    public static func make(_ kind: Kind) -> String { "\(kind.rawValue)_\(generator.next())" }

    /// True when `id` has the prefix of `kind` and a well-formed ULID after it.
    public static func isValid(_ id: String, kind: Kind) -> Bool {
        let prefix = kind.rawValue + "_"
        guard id.hasPrefix(prefix) else { return false }
        let body = id.dropFirst(prefix.count)
        return body.count == 26 && body.utf8.allSatisfy { alphabet.contains($0) }
    }

    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let generator = Generator()

    private final class Generator: Sendable {
        private struct State {
            var lastMillis: UInt64 = 0
            var random: (UInt16, UInt64) = (0, 0)
        }
        private let state = Mutex(State())

        func next() -> String {
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            let (millis, high, low) = state.withLock { state -> (UInt64, UInt16, UInt64) in
                if now > state.lastMillis {
                    state.lastMillis = now
                    state.random = (UInt16.random(in: 0...UInt16.max), UInt64.random(in: 0...UInt64.max))
                } else {
                    // Same (or earlier, after a clock step) millisecond: keep ordering by counting up.
                    let (low, overflow) = state.random.1.addingReportingOverflow(1)
                    state.random = (overflow ? state.random.0 &+ 1 : state.random.0, low)
                }
                return (state.lastMillis, state.random.0, state.random.1)
            }
            var chars = [UInt8](repeating: 0, count: 26)
            var time = millis
            for index in stride(from: 9, through: 0, by: -1) {
                chars[index] = alphabet[Int(time & 31)]
                time >>= 5
            }
            // 80 random bits = 16 base32 characters: 16 bits from `high`, 64 from `low`.
            var lowBits = low
            for index in stride(from: 25, through: 13, by: -1) {  // 13 chars from the low 65 bits (64 + 1 from high)
                if index == 13 {
                    chars[index] = alphabet[Int((lowBits & 15) | (UInt64(high & 1) << 4))]
                } else {
                    chars[index] = alphabet[Int(lowBits & 31)]
                    lowBits >>= 5
                }
            }
            var highBits = high >> 1
            for index in stride(from: 12, through: 10, by: -1) {
                chars[index] = alphabet[Int(highBits & 31)]
                highBits >>= 5
            }
            return String(decoding: chars, as: UTF8.self)
        }
    }
}
