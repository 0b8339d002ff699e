import Analytics
import CRM
import CloudGreetCore
import Foundation
import Gateway
import Identity
import Messaging
import Testing
import VoiceAgent
import Yams

/// No Docker engine runs here, so the deployment files are checked against the code instead:
/// every service, port, variable and health check must agree with what the executables do.
@Suite struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func envFile(_ path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try read(path).split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return values
    }

    let compose: [String: Any]
    init() throws {
        compose = try #require(try Yams.load(yaml: Self.read("docker-compose.yml")) as? [String: Any])
    }

    var services: [String: [String: Any]] { compose["services"] as? [String: [String: Any]] ?? [:] }

    @Test func composeRunsEveryServiceFromTheOneImage() throws {
        #expect(Set(services.keys) == Set(ServiceName.allCases.map(\.rawValue) + ["postgres"]))
        for service in ServiceName.allCases {
            let entry = try #require(services[service.rawValue])
            #expect(entry["command"] as? [String] == ["cloudgreet-\(service.rawValue)"])
            let build = try #require(entry["build"] as? [String: Any])
            #expect(build["dockerfile"] as? String == "deploy/Dockerfile")
            let test = try #require((entry["healthcheck"] as? [String: Any])?["test"] as? [String])
            #expect(test.last == "http://127.0.0.1:\(service.defaultPort)/health", "\(service)")
        }
        #expect(services["gateway"]?["ports"] as? [String] == ["8080:8080"])
        #expect(services.filter { $0.value["ports"] != nil }.count == 1)  // the gateway is the only door
    }

    /// Every variable a service reads, from the settings types themselves.
    static let knownVariables = Set(
        ServiceConfig.variables + GatewayService.variables + IdentityService.variables
            + CRMService.variables + MessagingService.variables + VoiceAgentService.variables + AnalyticsService.variables)

    @Test func variablesAgreeWithTheCode() throws {
        let common = try Self.envFile("deploy/common.env.example")
        let databases = Set(
            try Self.read("deploy/postgres-init.sql").split(separator: "\n")
                .compactMap { $0.hasPrefix("CREATE DATABASE ") ? $0.dropFirst(16).dropLast().description : nil })
        for service in ServiceName.allCases {
            let files = try #require(services[service.rawValue]?["env_file"] as? [String])
            #expect(files == ["deploy/common.env.example", "deploy/\(service.rawValue).env.example"])
            let own = try Self.envFile("deploy/\(service.rawValue).env.example")
            let values = common.merging(own) { $1 }
            for name in values.keys { #expect(Self.knownVariables.contains(name), "\(name) is read by nothing") }
            #expect(values["PORT"] == String(service.defaultPort), "\(service)")
            #expect(values["HOST"] == "0.0.0.0")
            #expect((values["INTERNAL_SECRET"] ?? "").utf8.count >= 32)
            for other in ServiceName.allCases where other != .gateway {
                #expect(values[other.urlVariable] == "http://\(other.rawValue):\(other.defaultPort)")
            }
            if service.hasDatabase || service == .gateway {
                let url = try #require(values["DATABASE_URL"])
                let name = String(url.split(separator: "/").last ?? "")
                #expect(url.hasPrefix("postgres://") && databases.contains(name), "\(service)")
                let dependsOn = services[service.rawValue]?["depends_on"] as? [String: Any]
                #expect(dependsOn?["postgres"] != nil)
            }
            if service == .gateway || service == .identity { #expect((values["JWT_SECRET"] ?? "").utf8.count >= 32) }
            // Production with these values must start (and would refuse the development defaults).
            #expect(throws: Never.self) { try ServiceConfig(service: service, environment: values) }
        }
        #expect(try Self.envFile("deploy/gateway.env.example")["JWT_SECRET"] == Self.envFile("deploy/identity.env.example")["JWT_SECRET"])
    }

    @Test func everyVariableTheCodeReadsIsKnown() throws {
        var names: Set<String> = []
        let pattern = try Regex(#"config\.(?:string|int|double|bool|list|url|oneOf)\("([A-Z_]+)""#)
        for folder in ["Services", "Shared"] {
            let enumerator = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(folder).path)
            for case let path as String in enumerator?.allObjects ?? [] where path.hasSuffix(".swift") {
                let text = try Self.read("\(folder)/\(path)")
                for match in text.matches(of: pattern) { names.insert(String(text[match.output[1].range!])) }
            }
        }
        #expect(names.count > 20)
        #expect(names.subtracting(Self.knownVariables).isEmpty, "\(names.subtracting(Self.knownVariables))")
    }

    @Test func aBadSettingIsRefusedNamingItsVariable() async throws {
        let bad: [(ServiceName, String, String)] = [
            (.gateway, "PORT", "eighty"), (.gateway, "RATE_LIMIT_ANONYMOUS", "-5"), (.gateway, "TRUSTED_PROXIES", "10.0.0.0/33"),
            (.gateway, "IDENTITY_URL", "identity:8081"), (.identity, "BCRYPT_COST", "99"), (.crm, "QUALIFY_THRESHOLD", "abc"),
            (.messaging, "TELNYX_API_BASE", "not a url"), (.messaging, "SMTP_REQUIRE_TLS", "maybe"),
            (.voiceAgent, "RETELL_API_BASE", "ftp://retell"), (.analytics, "ANALYTICS_CACHE_SECONDS", "-1"),
            (.crm, "LOG_LEVEL", "loud"), (.identity, "UPSTREAM_TIMEOUT_SECONDS", "inf"),
        ]
        let directory = NSTemporaryDirectory() + "cloudgreet-settings-" + UUID().uuidString
        for (service, name, value) in bad {
            do {
                let config = try ServiceConfig(service: service, environment: [name: value, "CLOUDGREET_DATA_DIR": directory])
                switch service {
                case .gateway: _ = try await GatewayService.application(config: config)
                case .identity: _ = try await IdentityService.application(config: config)
                case .crm: _ = try await CRMService.application(config: config)
                case .messaging: _ = try await MessagingService.application(config: config)
                case .voiceAgent: _ = try await VoiceAgentService.application(config: config)
                case .analytics: _ = try await AnalyticsService.application(config: config)
                }
                Issue.record("\(name)=\(value) was accepted by \(service.rawValue)")
            } catch let error as ConfigError {
                #expect(error.description.hasPrefix(name), "\(error.description)")
            }
        }
    }

    @Test func dockerfileBuildsEveryExecutableAndShipsWhatTheyNeed() throws {
        let dockerfile = try Self.read("deploy/Dockerfile")
        for service in ServiceName.allCases { #expect(dockerfile.contains("--product cloudgreet-\(service.rawValue)")) }
        for package in ["libcurl4", "tzdata", "ca-certificates", "curl"] { #expect(dockerfile.contains(package)) }
        #expect(dockerfile.contains("USER cloudgreet"))
    }

    @Test func kubernetesHasADeploymentAndServicePerService() throws {
        let documents = try Yams.load_all(yaml: Self.read("deploy/kubernetes.yaml")).compactMap { $0 as? [String: Any] }
        for service in ServiceName.allCases {
            let named = documents.filter { ($0["metadata"] as? [String: Any])?["name"] as? String == service.rawValue }
            #expect(Set(named.compactMap { $0["kind"] as? String }) == ["Deployment", "Service"], "\(service)")
            let deployment = try #require(named.first { $0["kind"] as? String == "Deployment" })
            let spec = (deployment["spec"] as? [String: Any])?["template"] as? [String: Any]
            let container = try #require(((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first)
            #expect(container["command"] as? [String] == ["cloudgreet-\(service.rawValue)"])
            let probe = container["readinessProbe"] as? [String: Any]
            #expect((probe?["httpGet"] as? [String: Any])?["port"] as? Int == service.defaultPort)
            let env = container["env"] as? [[String: Any]] ?? []
            #expect(env.contains { $0["name"] as? String == "INTERNAL_SECRET" && $0["valueFrom"] != nil })
            #expect(env.contains { $0["name"] as? String == "PORT" && $0["value"] as? String == String(service.defaultPort) })
        }
    }
}
