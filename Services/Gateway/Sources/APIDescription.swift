import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Yams

/// The API's description for clients: `GET /api/openapi.json` (docs/openapi.yaml as JSON) and a
/// docs page, `GET /api/docs`, that renders it with Swagger UI's own bundle. Everything is read
/// once at start-up, so no request touches the disk.
struct APIDescription: Sendable {
    /// `OPENAPI_SPEC`: the spec is part of the release (the image carries it); a gateway without it
    /// does not start.
    let spec: ByteBuffer
    /// Swagger UI's files from `API_DOCS_ASSETS` (installed by `make deps` from the maintained
    /// `swagger-ui-dist` that the drf-spectacular-sidecar wheel ships), and the page's own two files.
    private let files: [String: (type: String, body: ByteBuffer)]

    static let assetNames = ["swagger-ui-bundle.js", "swagger-ui.css"]

    init(specPath: String, assetsDirectory: String, logger: Logger) throws {
        guard let yaml = FileManager.default.contents(atPath: specPath) else {
            throw ConfigError(variable: "OPENAPI_SPEC", "cannot read the API description", got: specPath)
        }
        spec = ByteBuffer(data: try Self.json(fromYAML: String(decoding: yaml, as: UTF8.self)).encoded())
        var files: [String: (type: String, body: ByteBuffer)] = [
            "init.js": ("text/javascript; charset=utf-8", ByteBuffer(string: Self.initScript))
        ]
        for name in Self.assetNames {
            guard let data = FileManager.default.contents(atPath: assetsDirectory + "/" + name) else {
                logger.warning("the docs page has no Swagger UI: run `make deps` or set API_DOCS_ASSETS", metadata: ["missing": .string(name)])
                continue
            }
            files[name] = (name.hasSuffix(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8", ByteBuffer(data: data))
        }
        self.files = files
    }

    /// YAML as JSON: scalars keep YAML's core types (null, booleans, numbers), everything else,
    /// dates included, stays a string, as it would in a JSON spec.
    static func json(fromYAML yaml: String) throws -> JSONValue {
        guard let node = try Yams.compose(yaml: yaml, Resolver.default.removing(.timestamp)) else {
            throw ConfigError(variable: "OPENAPI_SPEC", "the API description is empty")
        }
        return try json(node)
    }

    private static func json(_ node: Node) throws -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = try json(value) }
            return .object(object)
        case .sequence(let sequence):
            return .array(try sequence.map(json))
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.number) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .alias:
            // Yams resolves aliases while composing; one left over is a document it could not.
            throw ConfigError(variable: "OPENAPI_SPEC", "an unresolved YAML alias in the API description")
        }
    }

    func specResponse() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: .init(byteBuffer: spec))
    }

    func pageResponse() -> Response {
        var headers = Self.pageHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.page)))
    }

    func fileResponse(_ name: String) throws -> Response {
        guard let file = files[name] else { throw APIError.notFound() }
        var headers = Self.pageHeaders
        headers[.contentType] = file.type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
    }

    /// The page runs only its own files: no inline script, nothing from elsewhere.
    private static let pageHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
        .xContentTypeOptions: "nosniff",
        .cacheControl: "public, max-age=300",
    ]

    /// Links are relative to `/api/docs`, so the page works behind a proxy that mounts the API
    /// elsewhere.
    private static let page = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>CloudGreet API</title>
          <link rel="stylesheet" href="docs/swagger-ui.css">
        </head>
        <body>
          <div id="docs"></div>
          <script src="docs/swagger-ui-bundle.js"></script>
          <script src="docs/init.js"></script>
        </body>
        </html>

        """

    private static let initScript = """
        window.ui = SwaggerUIBundle({ url: "openapi.json", dom_id: "#docs", deepLinking: true });

        """
}
