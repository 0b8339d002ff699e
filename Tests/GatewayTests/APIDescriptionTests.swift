import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceKit
import TestSupport
import Testing

@testable import Gateway

@Suite struct APIDescriptionTests {
    static let specPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path

    static func spec() throws -> JSONValue {
        let yaml = try #require(FileManager.default.contents(atPath: specPath), "docs/openapi.yaml")
        return try APIDescription.json(fromYAML: String(decoding: yaml, as: UTF8.self))
    }

    static let methods: [String: HTTPRequest.Method] = [
        "get": .get, "post": .post, "put": .put, "patch": .patch, "delete": .delete, "head": .head, "options": .options,
    ]

    /// The spec documents exactly what the gateway routes: an undocumented route, or a documented
    /// one the gateway does not route, fails here.
    @Test func theSpecDocumentsExactlyTheRoutingTable() throws {
        let paths = try #require(try Self.spec()["paths"]?.objectValue)
        var documented: Set<String> = []
        for (path, item) in paths {
            for key in item.objectValue?.keys ?? [:].keys where Self.methods[key] != nil {
                documented.insert("\(key.uppercased()) \(path)")
            }
        }
        let routed = Set((Routing.table + Routing.gatewayRoutes).map { "\($0.method.rawValue) \($0.path)" })
        #expect(routed.subtracting(documented).sorted() == [], "routed but not documented")
        #expect(documented.subtracting(routed).sorted() == [], "documented but not routed")
    }

    /// Who may call each operation is what the gateway enforces: no credentials for the anonymous
    /// routes and webhooks (`security: []`), a bearer token or an API key for the rest.
    @Test func theSpecGivesEachRouteTheGatewaysAccess() throws {
        let spec = try Self.spec()
        let global = spec["security"]?.arrayValue ?? []
        #expect(Set(global.compactMap { $0.objectValue?.keys.first }) == ["bearerAuth", "apiKey"])
        for route in Routing.table + Routing.gatewayRoutes {
            let operation = spec["paths"]?[route.path]?[route.method.rawValue.lowercased()]
            let security = operation?["security"]?.arrayValue ?? global
            #expect(security.isEmpty == (route.access != .authenticated), "\(route.method) \(route.path)")
        }
    }

    @Test func yamlBecomesJSONWithYAMLsOwnTypes() throws {
        let json = try APIDescription.json(
            fromYAML: """
                a: {200: ok, '201': created}
                b: [true, 'true', 1, 1.5, null, ~, 2024-01-20T14:00:00Z, plain text]
                """)
        #expect(json["a"] == ["200": "ok", "201": "created"])
        #expect(json["b"] == [true, "true", 1, 1.5, nil, nil, "2024-01-20T14:00:00Z", "plain text"])
        #expect(try APIDescription.json(fromYAML: "a: &x 1\nb: *x\n") == ["a": 1, "b": 1])
    }

    @Test func theSpecAndTheDocsPageNeedNoCredentials() async throws {
        let assets = FileManager.default.temporaryDirectory.appendingPathComponent("api-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: assets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: assets) }
        try Data("/* swagger */".utf8).write(to: assets.appendingPathComponent("swagger-ui-bundle.js"))
        try await GatewayAppTests().withGateway(["OPENAPI_SPEC": Self.specPath, "API_DOCS_ASSETS": assets.path]) { client in
            try await client.execute(uri: "/api/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let served = try JSONValue.decode(response.body.readableBytesView)
                #expect(served == (try Self.spec()))
            }
            try await client.execute(uri: "/api/docs", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: response.body).contains("docs/swagger-ui-bundle.js"))
            }
            try await client.execute(uri: "/api/docs/swagger-ui-bundle.js", method: .get) { response in
                #expect(String(buffer: response.body) == "/* swagger */")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            try await client.execute(uri: "/api/docs/init.js", method: .get) { #expect($0.status == .ok) }
            // Only the page's own files: not installed, or anything else, is a 404 in the envelope.
            for uri in ["/api/docs/swagger-ui.css", "/api/docs/..%2F..%2Fetc%2Fpasswd", "/api/docs/LICENSE"] {
                try await client.execute(uri: uri, method: .get) { response in
                    let body = try JSONValue.decode(response.body.readableBytesView)
                    #expect(response.status == .notFound && body["code"] == "RESOURCE_NOT_FOUND", "\(uri)")
                }
            }
        }
    }

    @Test func aGatewayWithoutItsSpecDoesNotStart() async throws {
        await #expect(throws: ConfigError.self) {
            try await GatewayService.application(
                config: try TestEnvironment.config(.gateway, ["OPENAPI_SPEC": "/nonexistent/openapi.yaml", "JWT_SECRET": "x"]))
        }
    }

    /// A known path with a method the API does not have is an unknown route: the gateway's own 404,
    /// whatever the credentials, and nothing reaches a service.
    @Test func unroutedMethodsAre404AtTheGateway() async throws {
        try await GatewayAppTests().withGateway { client in
            for (method, uri) in [(HTTPRequest.Method.patch, "/api/leads/lead_1"), (.get, "/api/leads/lead_1/qualify"), (.post, "/api/health")] {
                try await client.execute(uri: uri, method: method) { response in
                    let body = try JSONValue.decode(response.body.readableBytesView)
                    #expect(response.status == .notFound && body["code"] == "RESOURCE_NOT_FOUND", "\(method) \(uri)")
                }
            }
        }
    }
}
