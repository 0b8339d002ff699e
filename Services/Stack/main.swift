import Analytics
import CRM
import CloudGreetCore
import Foundation
import Gateway
import Hummingbird
import Identity
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle
import VoiceAgent

/// `cloudgreet`: the whole stack in one process for development. The gateway listens on `PORT`
/// (default 8080) and the other services on the next five ports, each with its own SQLite
/// database under `CLOUDGREET_DATA_DIR` (a `DATABASE_URL` given here is ignored: the services keep
/// separate databases).
let base = ProcessInfo.processInfo.environment
let gatewayPort = base["PORT"].flatMap(Int.init) ?? ServiceName.gateway.defaultPort
let services = ServiceName.allCases
var shared = base
shared["DATABASE_URL"] = nil
for (offset, service) in services.enumerated() where shared[service.urlVariable] == nil {
    shared[service.urlVariable] = "http://127.0.0.1:\(gatewayPort + offset)"
}

do {
    let first = try ServiceConfig(service: .gateway, environment: shared)
    LogSetup.bootstrap(format: first.logFormat, level: Logger.Level(rawValue: first.logLevel) ?? .info)
    var applications: [any Service] = []
    for (offset, service) in services.enumerated() {
        var environment = shared
        environment["PORT"] = String(gatewayPort + offset)
        let config = try ServiceConfig(service: service, environment: environment)
        switch service {
        case .gateway: applications.append(try await GatewayService.application(config: config))
        case .identity: applications.append(try await IdentityService.application(config: config))
        case .crm: applications.append(try await CRMService.application(config: config))
        case .voiceAgent: applications.append(try await VoiceAgentService.application(config: config))
        case .messaging: applications.append(try await MessagingService.application(config: config))
        case .analytics: applications.append(try await AnalyticsService.application(config: config))
        }
    }
    applications.append(try DrainOnShutdown(config: first, logger: Logger(label: "cloudgreet")))
    Logger(label: "cloudgreet").info("CloudGreet is starting on http://\(first.host):\(gatewayPort)")
    let group = ServiceGroup(
        configuration: .init(
            services: applications, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "cloudgreet")))
    try await group.run()
} catch {
    FileHandle.standardError.write(Data("cloudgreet failed to start: \(error)\n".utf8))
    exit(1)
}
