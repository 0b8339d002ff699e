import Foundation

/// The contract's error codes (API-CONTRACT.md section 2).
public enum ErrorCode: String, Sendable {
    case authRequired = "AUTH_REQUIRED"
    case authInvalidToken = "AUTH_INVALID_TOKEN"
    case authInvalidCredentials = "AUTH_INVALID_CREDENTIALS"
    case authInsufficientPermissions = "AUTH_INSUFFICIENT_PERMISSIONS"
    case validationError = "VALIDATION_ERROR"
    case resourceNotFound = "RESOURCE_NOT_FOUND"
    case resourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
    case businessNotFound = "BUSINESS_NOT_FOUND"
    case leadNotFound = "LEAD_NOT_FOUND"
    case appointmentNotFound = "APPOINTMENT_NOT_FOUND"
    case agentNotFound = "AGENT_NOT_FOUND"
    case payloadTooLarge = "PAYLOAD_TOO_LARGE"
    case externalServiceError = "EXTERNAL_SERVICE_ERROR"
    case rateLimitExceeded = "RATE_LIMIT_EXCEEDED"
    case serviceUnavailable = "SERVICE_UNAVAILABLE"
    case idempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
    case idempotencyKeyInUse = "IDEMPOTENCY_KEY_IN_USE"
    case internalServerError = "INTERNAL_SERVER_ERROR"
}

/// An error that is answered to the client as the JSON envelope. Anything else thrown by a
/// route becomes a 500 with no detail.
public struct APIError: Error, Sendable {
    public var status: Int
    public var code: ErrorCode
    public var message: String
    public var details: JSONValue?
    public var headers: [(String, String)]

    public init(
        _ status: Int, _ code: ErrorCode, _ message: String, details: JSONValue? = nil,
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public static func validation(_ fields: [String: [String]]) -> APIError {
        APIError(
            422, .validationError, "Validation failed",
            details: .object(fields.mapValues { .array($0.map { .string($0) }) }))
    }
    public static func validation(field: String, _ message: String) -> APIError { validation([field: [message]]) }
    public static func badJSON(_ message: String = "Request body must be a JSON object") -> APIError {
        APIError(400, .validationError, message)
    }
    public static let authRequired = APIError(401, .authRequired, "Authentication required")
    public static let invalidToken = APIError(401, .authInvalidToken, "Invalid or expired token")
    public static let forbidden = APIError(403, .authInsufficientPermissions, "Insufficient permissions")
    public static func notFound(_ code: ErrorCode = .resourceNotFound, _ what: String = "Resource") -> APIError {
        APIError(404, code, "\(what) not found")
    }
    public static func conflict(_ message: String, details: JSONValue? = nil) -> APIError {
        APIError(409, .resourceAlreadyExists, message, details: details)
    }
    public static func unavailable(_ message: String = "Service temporarily unavailable") -> APIError {
        APIError(503, .serviceUnavailable, message)
    }
    public static let `internal` = APIError(500, .internalServerError, "Internal server error")
}

/// The seed's response envelope.
public enum Envelope {
    public static func success(_ data: JSONValue, message: String? = nil, requestID: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "success": true, "data": data, "timestamp": .string(Timestamp.format(Date())), "requestId": .string(requestID),
        ]
        if let message { body["message"] = .string(message) }
        return .object(body)
    }

    public static func failure(_ error: APIError, requestID: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "success": false, "error": .string(error.message), "code": .string(error.code.rawValue),
            "timestamp": .string(Timestamp.format(Date())), "requestId": .string(requestID),
        ]
        // Always an object, also when a relayed error carried none or `null`.
        body["details"] = .object(error.details?.objectValue ?? [:])
        return .object(body)
    }
}
