// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// Release executables on Linux, linked for a small resident footprint (docs/BENCHMARKS.md,
/// "Resident memory: what the link lays out"): lld packing the relative relocations (DT_RELR,
/// glibc 2.36), and the functions a service runs to start and idle laid out together, from
/// `deploy/startup-order.txt` (`scripts/startup-order.sh` writes it; names it no longer has are
/// skipped). Release builds also link the Swift libraries in (`--static-swift-stdlib`), so that only
/// the code a service runs is paged in, not every library's relocations and symbol tables.
let lean: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/deploy/startup-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
        ], .when(platforms: [.linux], configuration: .release))
]

/// Each service is a library (routes, domain, storage) plus a thin `cloudgreet-<name>` executable.
func service(_ name: String, folder: String, executable: String, dependencies: [Target.Dependency]) -> [Target] {
    [
        .target(name: name, dependencies: dependencies, path: "Services/\(folder)/Sources", swiftSettings: strict),
        .executableTarget(
            name: executable, dependencies: [.target(name: name), "ServiceKit"],
            path: "Services/\(folder)/Main", swiftSettings: strict, linkerSettings: lean),
    ]
}

let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let serviceBase: [Target.Dependency] = [
    "CloudGreetCore", "ServiceKit", "Persistence", "ServiceClients", hummingbird,
    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "CloudGreet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cloudgreet", targets: ["cloudgreet"]),
        .executable(name: "cloudgreet-gateway", targets: ["cloudgreet-gateway"]),
        .executable(name: "cloudgreet-identity", targets: ["cloudgreet-identity"]),
        .executable(name: "cloudgreet-crm", targets: ["cloudgreet-crm"]),
        .executable(name: "cloudgreet-voice-agent", targets: ["cloudgreet-voice-agent"]),
        .executable(name: "cloudgreet-messaging", targets: ["cloudgreet-messaging"]),
        .executable(name: "cloudgreet-analytics", targets: ["cloudgreet-analytics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "CloudGreetCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ], path: "Shared/CloudGreetCore", swiftSettings: strict),
        .target(
            name: "Persistence",
            dependencies: [
                "CloudGreetCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ], path: "Shared/Persistence", swiftSettings: strict),
        .systemLibrary(
            name: "CCurl", path: "Shared/CCurl"),
        .target(
            name: "Curl",
            dependencies: [
                "CCurl",
                .product(name: "NIOPosix", package: "swift-nio"),
            ], path: "Shared/Curl", swiftSettings: strict),
        .target(
            name: "Providers", dependencies: ["Curl", "CloudGreetCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/Providers", swiftSettings: strict),
        .target(
            name: "ServiceClients",
            dependencies: [
                "CloudGreetCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ], path: "Shared/ServiceClients", swiftSettings: strict),
        .target(
            name: "ServiceKit",
            dependencies: [
                "CloudGreetCore", "Persistence", "ServiceClients", hummingbird,
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ], path: "Shared/ServiceKit", swiftSettings: strict),
    ]
        + service(
            "Gateway", folder: "Gateway", executable: "cloudgreet-gateway",
            dependencies: serviceBase + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ])
        + service(
            "Identity", folder: "Identity", executable: "cloudgreet-identity",
            dependencies: serviceBase + [
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"), "Providers",
            ])
        + service("CRM", folder: "CRM", executable: "cloudgreet-crm", dependencies: serviceBase)
        + service("VoiceAgent", folder: "VoiceAgent", executable: "cloudgreet-voice-agent", dependencies: serviceBase + ["Providers"])
        + service("Messaging", folder: "Messaging", executable: "cloudgreet-messaging", dependencies: serviceBase + ["Providers", "Curl"])
        + service("Analytics", folder: "Analytics", executable: "cloudgreet-analytics", dependencies: serviceBase)
        + [
            .executableTarget(
                name: "cloudgreet",
                dependencies: [
                    "ServiceKit", "Gateway", "Identity", "CRM", "VoiceAgent", "Messaging", "Analytics",
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                ], path: "Services/Stack", swiftSettings: strict, linkerSettings: lean),
            .testTarget(
                name: "ServiceKitTests",
                dependencies: ["ServiceKit", "Persistence", "ServiceClients", "TestSupport", .product(name: "Logging", package: "swift-log")],
                path: "Tests/ServiceKitTests", swiftSettings: strict),
            .testTarget(
                name: "CloudGreetCoreTests", dependencies: ["CloudGreetCore"],
                path: "Tests/CloudGreetCoreTests", swiftSettings: strict),
            .testTarget(
                name: "PersistenceTests", dependencies: ["Persistence", "TestSupport"],
                path: "Tests/PersistenceTests", swiftSettings: strict),
            .testTarget(
                name: "CurlTests",
                dependencies: [
                    .product(name: "HTTPTypes", package: "swift-http-types"), "Persistence", "Curl", "Providers", "TestSupport",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                ],
                path: "Tests/CurlTests", swiftSettings: strict),
            .testTarget(
                name: "GatewayTests",
                dependencies: [
                    .product(name: "HTTPTypes", package: "swift-http-types"), "Persistence", "Gateway", "ServiceClients", "TestSupport",
                    .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                ],
                path: "Tests/GatewayTests", swiftSettings: strict),
            .testTarget(
                name: "IdentityTests",
                dependencies: [
                    .product(name: "HTTPTypes", package: "swift-http-types"), "Persistence", "Identity", "TestSupport",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                ],
                path: "Tests/IdentityTests", swiftSettings: strict),
            .testTarget(
                name: "StackTests",
                dependencies: [
                    "TestSupport", "Persistence", "ServiceClients", .product(name: "Crypto", package: "swift-crypto"), "cloudgreet-gateway",
                    "cloudgreet-identity",
                    "cloudgreet-crm",
                    "cloudgreet-voice-agent", "cloudgreet-messaging", "cloudgreet-analytics",
                ], path: "Tests/StackTests", swiftSettings: strict),
            .testTarget(
                name: "CRMTests",
                dependencies: [
                    "CRM", "TestSupport", "Persistence", "ServiceClients", "ServiceKit",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "HTTPTypes", package: "swift-http-types"),
                ],
                path: "Tests/CRMTests", swiftSettings: strict),
            .testTarget(
                name: "MessagingTests",
                dependencies: [
                    "Messaging", "Providers", "Curl", "Persistence", "ServiceClients", "ServiceKit", "TestSupport",
                    .product(name: "Crypto", package: "swift-crypto"),
                ],
                path: "Tests/MessagingTests", swiftSettings: strict),
            .testTarget(
                name: "VoiceAgentTests", dependencies: ["VoiceAgent", "Providers", .product(name: "Crypto", package: "swift-crypto")],
                path: "Tests/VoiceAgentTests", swiftSettings: strict),
            .testTarget(
                name: "ServiceClientsTests",
                dependencies: [
                    "ServiceClients", "TestSupport",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                ],
                path: "Tests/ServiceClientsTests", swiftSettings: strict),
            .testTarget(
                name: "DeploymentTests",
                dependencies: [
                    "CloudGreetCore", "Gateway", "Identity", "CRM", "Messaging", "VoiceAgent", "Analytics",
                    .product(name: "Yams", package: "Yams"),
                ],
                path: "Tests/DeploymentTests", swiftSettings: strict),
            .target(
                name: "TestSupport",
                dependencies: [
                    "CloudGreetCore", "Persistence", "ServiceKit", hummingbird,
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "HTTPTypes", package: "swift-http-types"),
                ], path: "Tests/TestSupport", swiftSettings: strict),
        ]
)
