import CloudGreetCore

/// How a call to another service failed, typed, so that no caller reads status codes.
public enum ServiceCallError: Error, Sendable, Equatable {
    /// The thing asked for does not exist (or belongs to another business), with its contract code.
    case notFound(ErrorCode)
    /// The service refused the input: field errors as in the contract's 422.
    case validation([String: [String]])
    /// The number has opted out of text messages.
    case optedOut
    /// Telnyx or SMTP failed after retries; the message is kept as failed under `messageID`.
    case providerFailed(messageID: String?)
    /// Down, timed out, circuit open, or answering 5xx.
    case unavailable(ServiceName)
    /// A 2xx answer without what the route promises: never taken for a success.
    case malformed(ServiceName)
    /// The request collides with what exists (a booked slot, a duplicate), with the service's details.
    case conflict(message: String, details: JSONValue)
    /// Any other refusal (401, 403), passed on as the service said it, details included.
    case refused(status: Int, code: ErrorCode, message: String, details: JSONValue)

    /// The contract's error for passing this failure on to an API client.
    public var apiError: APIError {
        switch self {
        case .notFound(let code): APIError(404, code, "Not found")
        case .validation(let fields): .validation(fields)
        case .optedOut: .validation(field: "phone", "this number has opted out of text messages")
        case .providerFailed(let id):
            APIError(
                502, .externalServiceError, "The message could not be delivered",
                details: ["id": JSONValue(id)])
        case .unavailable(let service): .unavailable("\(service.rawValue) is unavailable")
        case .malformed(let service): .unavailable("\(service.rawValue) answered unexpectedly")
        case .conflict(let message, let details): .conflict(message, details: details)
        case .refused(let status, let code, let message, let details): APIError(status, code, message, details: details)
        }
    }

    /// Internal routes mark an opt-out with this `details.reason`, beside the field error.
    public static let optedOutReason = "opted_out"

    /// Reads another service's answer: `data` of a 2xx envelope, or the typed failure.
    static func data(from response: InternalResponse, of service: ServiceName) throws(ServiceCallError) -> JSONValue {
        let body = response.body
        if (200..<300).contains(response.status) {
            guard body["success"] == true, let data = body["data"] else { throw .malformed(service) }
            return data
        }
        let code = body["code"]?.stringValue.flatMap(ErrorCode.init(rawValue:))
        let details = body["details"]?.objectValue ?? [:]
        switch response.status {
        case 404: throw .notFound(code ?? .resourceNotFound)
        case 422 where details["reason"]?.stringValue == optedOutReason: throw .optedOut
        case 422:
            var fields: [String: [String]] = [:]
            for (field, messages) in details { fields[field] = messages.arrayValue?.compactMap(\.stringValue) }
            throw .validation(fields)
        case 409: throw .conflict(message: body["error"]?.stringValue ?? "Conflict", details: .object(details))
        case 502: throw .providerFailed(messageID: details["id"]?.stringValue)
        case 500...: throw .unavailable(service)
        default:
            guard let code else { throw .malformed(service) }
            throw .refused(
                status: response.status, code: code, message: body["error"]?.stringValue ?? "Refused",
                details: .object(details))
        }
    }
}
