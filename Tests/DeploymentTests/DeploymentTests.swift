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
        #expect(Set(services.keys) == Set(ServiceName.allCases.map(\.rawValue) + ["postgres", "mail"]))
        for service in ServiceName.allCases {
            let entry = try #require(services[service.rawValue])
            #expect(entry["command"] as? [String] == ["cloudgreet-\(service.rawValue)"])
            let build = try #require(entry["build"] as? [String: Any])
            #expect(build["dockerfile"] as? String == "deploy/Dockerfile")
            let test = try #require((entry["healthcheck"] as? [String: Any])?["test"] as? [String])
            #expect(test.last == "http://127.0.0.1:\(service.defaultPort)/readyz", "\(service)")
        }
        // The gateway is the only door to the API, and it and the mail catcher's page listen on loopback only.
        #expect(services["gateway"]?["ports"] as? [String] == ["127.0.0.1:8080:8080"])
        #expect(services["mail"]?["ports"] as? [String] == ["127.0.0.1:8025:8025"])
        #expect(services.filter { $0.value["ports"] != nil }.count == 2)
        // PostgreSQL is healthy only when it answers over TCP (not the init server's socket).
        let pgCheck = try #require((services["postgres"]?["healthcheck"] as? [String: Any])?["test"] as? [String])
        #expect(pgCheck.joined(separator: " ").contains("-h 127.0.0.1"))
        // No secret in the repository: compose takes them from an untracked .env, development by default.
        let environment = try #require((compose["x-service"] as? [String: Any])?["environment"] as? [String: String])
        #expect(environment["CLOUDGREET_ENV"] == "${CLOUDGREET_ENV:-development}")
        for name in ["JWT_SECRET", "INTERNAL_SECRET", "METRICS_TOKEN"] { #expect(environment[name] == "$\(name)") }
        #expect(try Self.read(".gitignore").split(separator: "\n").contains(".env"))
    }

    /// Every variable a service reads, from the settings types themselves.
    static let knownVariables = Set(
        ServiceConfig.variables + GatewayService.variables + IdentityService.variables
            + CRMService.variables + MessagingService.variables + VoiceAgentService.variables + AnalyticsService.variables)

    @Test func variablesAgreeWithTheCode() throws {
        let common = try Self.envFile("deploy/common.env.example")
        let databases = Set(
            try Self.read("deploy/postgres-init.sql").split(separator: "\n")
                .compactMap { $0.hasPrefix("CREATE DATABASE ") ? $0.split(separator: " ")[2].description : nil })
        for service in ServiceName.allCases {
            let files = try #require(services[service.rawValue]?["env_file"] as? [String])
            #expect(files == ["deploy/common.env.example", "deploy/\(service.rawValue).env.example"])
            let own = try Self.envFile("deploy/\(service.rawValue).env.example")
            let values = common.merging(own) { $1 }
            for name in values.keys { #expect(Self.knownVariables.contains(name), "\(name) is read by nothing") }
            #expect(values["PORT"] == String(service.defaultPort), "\(service)")
            #expect(values["HOST"] == "0.0.0.0")
            for secret in ["JWT_SECRET", "INTERNAL_SECRET", "METRICS_TOKEN", "SMTP_PASSWORD"] {
                #expect((values[secret] ?? "").isEmpty, "\(secret) must not be committed")
            }
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
            #expect(values["DATABASE_URL"].map { $0.contains("@postgres:5432/") } ?? true)
            // As compose runs them: development without secrets starts; production refuses to
            // without real ones, and starts with them.
            #expect(throws: Never.self) { try ServiceConfig(service: service, environment: values) }
            var production = values
            production["CLOUDGREET_ENV"] = "production"
            #expect(throws: ConfigError.self) { try ServiceConfig(service: service, environment: production) }
            production["INTERNAL_SECRET"] = String(repeating: "a1", count: 20)
            production["JWT_SECRET"] = String(repeating: "b2", count: 20)
            #expect(throws: Never.self) { try ServiceConfig(service: service, environment: production) }
        }
        // Each service's database has its own role.
        let roles = try Self.read("deploy/postgres-init.sql").split(separator: "\n").filter { $0.hasPrefix("CREATE ROLE ") }
        #expect(roles.count == databases.count)
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
        // One release build makes them all (SwiftPM keeps only the last of several `--product`s),
        // after the dependencies were resolved in a layer of their own.
        #expect(dockerfile.contains("RUN swift package resolve") && dockerfile.contains("RUN swift build -c release --static-swift-stdlib\n"))
        #expect(!dockerfile.contains("--product"))
        #expect(dockerfile.contains("for service in gateway identity crm voice-agent messaging analytics; do"))
        for package in ["libcurl4", "tzdata", "ca-certificates", "curl"] { #expect(dockerfile.contains(package)) }
        #expect(dockerfile.contains("USER 10001:10001") && dockerfile.contains("HEALTHCHECK "))
        let ignored = try Self.read(".dockerignore").split(separator: "\n").map(String.init)
        for entry in [".build", ".cloudgreet", ".env", "*.sqlite"] { #expect(ignored.contains(entry), "\(entry)") }
    }

    @Test func kubernetesRunsEveryServiceSafelyAndPassesTheSchema() throws {
        let documents = try Yams.load_all(yaml: Self.read("deploy/kubernetes.yaml")).compactMap { $0 as? [String: Any] }
        func named(_ kind: String, _ name: String) -> [String: Any]? {
            documents.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        }
        for service in ServiceName.allCases {
            let deployment = try #require(named("Deployment", service.rawValue), "\(service)")
            #expect(named("Service", service.rawValue) != nil && named("PodDisruptionBudget", service.rawValue) != nil)
            #expect(named("NetworkPolicy", service.rawValue) != nil)
            let pod = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            #expect(container["command"] as? [String] == ["cloudgreet-\(service.rawValue)"])
            #expect((container["image"] as? String)?.hasPrefix("registry.example.com/cloudgreet:") == true)
            func probePath(_ name: String) -> String? { ((container[name] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String }
            #expect(probePath("readinessProbe") == "/readyz" && probePath("livenessProbe") == "/livez" && probePath("startupProbe") == "/livez")
            let security = try #require(container["securityContext"] as? [String: Any])
            #expect(security["readOnlyRootFilesystem"] as? Bool == true && security["allowPrivilegeEscalation"] as? Bool == false)
            #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
            #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
            #expect(((container["lifecycle"] as? [String: Any])?["preStop"]) != nil)
            let env = container["env"] as? [[String: Any]] ?? []
            #expect(env.contains { $0["name"] as? String == "INTERNAL_SECRET" && $0["valueFrom"] != nil })
            #expect(env.contains { $0["name"] as? String == "PORT" && $0["value"] as? String == String(service.defaultPort) })
            for value in env.compactMap({ $0["name"] as? String }) { #expect(Self.knownVariables.contains(value), "\(value)") }
        }
        let config = try #require(named("ConfigMap", "cloudgreet-config")?["data"] as? [String: String])
        for name in ["APP_BASE_URL", "TRUSTED_PROXIES", "CORS_ALLOWED_ORIGINS", "SMTP_URL", "TELNYX_API_BASE", "RETELL_API_BASE"] {
            #expect(config[name] != nil, "\(name)")
        }
        for name in config.keys { #expect(Self.knownVariables.contains(name), "\(name) is read by nothing") }
        #expect(named("Ingress", "gateway") != nil && named("Secret", "cloudgreet-secrets") != nil)

        // The schema, strictly (unknown fields are errors), with kubernetes-validate from PyPI
        // (`make test` installs it in .build/tools).
        let tool = [Self.root.appendingPathComponent(".build/tools/bin/kubernetes-validate").path, "/usr/local/bin/kubernetes-validate"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tool else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("kubernetes-validate is not installed") }
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["--strict", "--quiet", Self.root.appendingPathComponent("deploy/kubernetes.yaml").path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
    }
}
