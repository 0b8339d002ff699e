import AsyncHTTPClient
import CloudGreetCore
import Foundation
import NIOCore
import NIOHTTP1

/// A small JSON-over-HTTP client for tests that drive real servers.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: JSONValue
    public var text: String

    public func header(_ name: String) -> String? { headers.first(name: name) }
    public var data: JSONValue { body["data"] ?? .null }
    public var code: String? { body["code"]?.stringValue }
}

public enum TestHTTP {
    public static func request(
        _ method: HTTPMethod, _ url: String, json: JSONValue? = nil, body: String? = nil,
        bytes: [UInt8]? = nil, headers: [(String, String)] = [], token: String? = nil,
        timeout: Int64 = 15
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.encoded()))
        } else if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        } else if let bytes {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: bytes))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
        let bytes = try await response.body.collect(upTo: 32 << 20)
        let text = String(buffer: bytes)
        return TestResponse(
            status: Int(response.status.code), headers: response.headers,
            body: (try? JSONValue.decode(Array(text.utf8))) ?? .null, text: text)
    }

    /// Polls `url` until it answers at all (any status), or fails after `seconds`.
    public static func waitUntilUp(_ url: String, seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await request(.GET, url, timeout: 2)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("\(url) did not come up within \(seconds) s")
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
