import CloudGreetCore

/// Where Retell AI is and the key its API calls and webhook signatures use (voice-agent).
public struct RetellSettings: Sendable {
    public var apiKey: String
    public var baseURL: String

    public static let variables = ["RETELL_API_KEY", "RETELL_API_BASE"]

    /// The settings when `RETELL_API_KEY` is set, else nil; a bad value stops the service.
    public static func fromConfig(_ config: ServiceConfig) throws -> RetellSettings? {
        let base = try config.url("RETELL_API_BASE", default: "https://api.retellai.com")
        return config.string("RETELL_API_KEY").map { RetellSettings(apiKey: $0, baseURL: base) }
    }
}
