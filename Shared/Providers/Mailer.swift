import CloudGreetCore
import Curl
import Foundation

/// Where and how email leaves: `SMTP_URL` (`smtp://host:port` upgrades with STARTTLS when offered;
/// `smtps://` is TLS from the first byte), credentials, and whether clear text is refused.
public struct SMTPSettings: Sendable {
    public var url: String
    public var username: String?
    public var password: String?
    public var requireTLS: Bool
    public var from: String

    public init(url: String, username: String? = nil, password: String? = nil, requireTLS: Bool, from: String) {
        self.url = url
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
        self.from = from
    }

    public static let variables = ["SMTP_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_REQUIRE_TLS", "EMAIL_FROM"]

    /// The settings when `SMTP_URL` is set, else nil; a bad value stops the service.
    public static func fromConfig(_ config: ServiceConfig) throws -> SMTPSettings? {
        let requireTLS = try config.bool("SMTP_REQUIRE_TLS", default: config.isProduction)
        let from = config.string("EMAIL_FROM", default: "CloudGreet <no-reply@cloudgreet.local>")
        guard let url = config.string("SMTP_URL") else { return nil }
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://"), URLComponents(string: url)?.host?.isEmpty == false else {
            throw ConfigError(variable: "SMTP_URL", "must be smtp://host:port or smtps://host:port")
        }
        let settings = SMTPSettings(
            url: url, username: config.string("SMTP_USERNAME"), password: config.string("SMTP_PASSWORD"),
            requireTLS: requireTLS, from: from)
        guard Contact.normalizeEmail(settings.senderAddress) != nil else {
            throw ConfigError(variable: "EMAIL_FROM", "must be an address, or a name and <address>", got: from)
        }
        return settings
    }

    /// The bare address of `from` (`CloudGreet <no-reply@x>` gives `no-reply@x`): what `MAIL FROM`
    /// carries, where strict servers refuse a display name.
    public var senderAddress: String {
        guard let open = from.lastIndex(of: "<"), let close = from[open...].firstIndex(of: ">") else {
            return from.trimmingCharacters(in: .whitespaces)
        }
        return String(from[from.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
    }
}

public struct ProviderError: Error, Sendable, CustomStringConvertible {
    /// Safe to store and show: never contains credentials.
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Sends plain-text UTF-8 email over SMTP through the libcurl wrapper, retrying connection
/// failures and time-outs with the shared `RetryPolicy`.
public struct Mailer: Sendable {
    public let settings: SMTPSettings
    private let curl: CurlClient
    private let retry: RetryPolicy

    public init(settings: SMTPSettings, curl: CurlClient = .shared, retry: RetryPolicy = RetryPolicy(attempts: 3)) {
        self.settings = settings
        self.curl = curl
        self.retry = retry
    }

    /// Returns the Message-ID it gave the email.
    @discardableResult
    public func send(to recipient: String, subject: String, text: String) async throws -> String {
        let sender = settings.senderAddress
        let domain = sender.split(separator: "@").last.map(String.init) ?? "cloudgreet.local"
        let messageID = "<\(ResourceID.make(.email))@\(domain)>"
        let message = Self.compose(from: settings.from, to: recipient, subject: subject, text: text, messageID: messageID)
        let transfer = MailTransfer(
            url: settings.url, from: sender, recipients: [recipient], message: message,
            username: settings.username, password: settings.password,
            security: settings.requireTLS ? .required : .opportunistic)
        do {
            // Only a server that cannot be reached is tried again; a refusal would be refused again.
            try await retry.run({ try await curl.send(transfer) }) { result in
                switch result {
                case .failure(CurlError.couldNotConnect), .failure(CurlError.timedOut): .retry(after: nil)
                default: .stop
                }
            }
            return messageID
        } catch let error as CurlError {
            switch error {
            case .couldNotConnect, .timedOut: throw ProviderError("SMTP server unreachable: \(error)")
            case .tlsRequired: throw ProviderError("SMTP server does not offer TLS and SMTP_REQUIRE_TLS is set")
            default: throw ProviderError("SMTP delivery failed: \(error)")
            }
        }
    }

    /// An RFC 5322 message: Date, From, To, Subject (RFC 2047 when not ASCII), Message-ID,
    /// MIME-Version and a base64 UTF-8 text body, all lines ending in CRLF.
    public static func compose(
        from: String, to: String, subject: String, text: String, messageID: String,
        date: Date = Date()
    ) -> [UInt8] {
        func clean(_ value: String) -> String {
            value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        let subjectLine =
            subject.allSatisfy(\.isASCII)
            ? clean(subject)
            : "=?UTF-8?B?\(Data(clean(subject).utf8).base64EncodedString())?="
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let encodedBody = Data(normalized.utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        let headers = [
            "Date: \(rfc5322Date(date))",
            "From: \(clean(from))",
            "To: \(clean(to))",
            "Subject: \(subjectLine)",
            "Message-ID: \(messageID)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
        ]
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + encodedBody + "\r\n").utf8)
    }

    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(days[(c.weekday ?? 1) - 1]), \(two(c.day)) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) "
            + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }
}
