import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Response {
    public static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: value.encoded())))
    }

    public static func envelope(
        _ data: JSONValue, status: HTTPResponse.Status = .ok, message: String? = nil,
        context: AppContext
    ) -> Response {
        .json(Envelope.success(data, message: message, requestID: context.requestID), status: status)
    }

    public static func failure(_ error: APIError, requestID: String) -> Response {
        var headers = HTTPFields()
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return .json(
            Envelope.failure(error, requestID: requestID),
            status: HTTPResponse.Status(code: error.status), headers: headers)
    }
}

extension Request {
    /// The body as a JSON object: 413 above `maxBytes`, 400 for anything that is not a JSON object.
    public func jsonBody(context: AppContext, maxBytes: Int) async throws -> JSONValue {
        if let length = headers[.contentLength].flatMap(Int.init), length > maxBytes { throw APIError.payloadTooLarge }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: maxBytes)
        } catch {
            throw APIError.payloadTooLarge
        }
        guard buffer.readableBytes > 0 else { throw APIError.badJSON("Request body is required") }
        guard let json = try? JSONValue.decode(buffer.readableBytesView), case .object = json else {
            throw APIError.badJSON()
        }
        return json
    }

    /// The body as fields to validate; a `business_id` in it, when `businessID` is given, must be
    /// the caller's (403 otherwise).
    public func fields(context: AppContext, maxBytes: Int, businessID: String? = nil) async throws -> FieldReader {
        let fields = try FieldReader(await jsonBody(context: context, maxBytes: maxBytes))
        if let businessID { try context.checkBusinessField(fields, businessID: businessID) }
        return fields
    }

    /// The query string read as a form (`+` is a space). A repeated name never reaches a handler:
    /// `QueryCheckMiddleware` answers 422 first.
    public var query: [String: String] { FormQuery.parse(uri.query).values }

    public func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
}

extension APIError {
    public static let payloadTooLarge = APIError(413, .payloadTooLarge, "Request body is too large")
}

extension Parameters {
    public func require(_ name: String, context: AppContext) throws -> String {
        guard let value = get(name) else { throw APIError.notFound() }
        return value
    }
}
