import CCurl
import Foundation
import NIOPosix
import Synchronization

public struct CurlRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    public var connectTimeout: Duration
    public var timeout: Duration
    /// `host:port:address` entries (curl's `CURLOPT_RESOLVE`): connect to these addresses, checked
    /// beforehand, instead of asking DNS again.
    public var pinnedAddresses: [String]
    /// The most of the answer's body kept: past it the transfer stops, and the response comes back
    /// `truncated` (its status and headers whole), so no server can fill the process's memory.
    public var maxResponseBytes: Int

    public init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(15), pinnedAddresses: [String] = [],
        maxResponseBytes: Int = 1 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.pinnedAddresses = pinnedAddresses
        self.maxResponseBytes = maxResponseBytes
    }
}

public struct CurlResponse: Sendable {
    public var status: Int
    /// Headers of the final response (after any 100 Continue), names as sent.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The body stopped at `CurlRequest.maxResponseBytes`.
    public var truncated = false

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// An SMTP submission: envelope sender and recipients plus the complete RFC 5322 message.
public struct MailTransfer: Sendable {
    public enum Security: Sendable {
        /// STARTTLS when the server offers it, clear text otherwise.
        case opportunistic
        /// STARTTLS or `smtps://`, never clear text.
        case required
    }

    public var url: String
    public var from: String
    public var recipients: [String]
    public var message: [UInt8]
    public var username: String?
    public var password: String?
    public var security: Security
    public var connectTimeout: Duration
    public var timeout: Duration

    public init(
        url: String, from: String, recipients: [String], message: [UInt8], username: String? = nil,
        password: String? = nil, security: Security = .opportunistic,
        connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(30)
    ) {
        self.url = url
        self.from = from
        self.recipients = recipients
        self.message = message
        self.username = username
        self.password = password
        self.security = security
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

public enum CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    case timedOut
    case couldNotConnect(String)
    case cancelled
    case tlsRequired(String)
    case transfer(code: Int, message: String)

    public var description: String {
        switch self {
        case .timedOut: "timed out"
        case .couldNotConnect(let message): "could not connect: \(message)"
        case .cancelled: "cancelled"
        case .tlsRequired(let message): "TLS required but not available: \(message)"
        case .transfer(let code, let message): "transfer failed (curl \(code)): \(message)"
        }
    }
}

/// libcurl behind async functions. Transfers run on a small thread pool of their own, never on a
/// NIO event loop; easy handles are kept and reused so connections to a provider stay open.
/// Cancelling the awaiting task aborts the transfer through curl's progress callback.
public final class CurlClient: Sendable {
    public static let shared = CurlClient(threads: 4)

    private let pool: NIOThreadPool
    private let idle = Mutex<[EasyHandle]>([])

    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    public func perform(_ request: CurlRequest) async throws -> CurlResponse {
        try await run(connectTimeout: request.connectTimeout, timeout: request.timeout, upload: request.body ?? []) {
            handle, transfer in
            try handle.set(CG_URL, request.url)
            try handle.set(CG_PROTOCOLS_STR, "http,https")
            transfer.bodyLimit = request.maxResponseBytes
            let method = request.method.uppercased()
            if let body = request.body {
                try handle.set(CG_POST, 1)
                try handle.set(CG_POSTFIELDSIZE_LARGE, offset: curl_off_t(body.count))
                if method != "POST" { try handle.set(CG_CUSTOMREQUEST, method) }
            } else if method == "HEAD" {
                try handle.set(CG_NOBODY, 1)
            } else if method != "GET" {
                try handle.set(CG_CUSTOMREQUEST, method)
            }
            // "Expect:" turns off curl's 100-continue wait for larger bodies.
            transfer.addHeaders(request.headers.map { "\($0.0): \($0.1)" } + ["Expect:"])
            try handle.set(CG_HTTPHEADER, slist: transfer.headerList)
            if !request.pinnedAddresses.isEmpty {
                transfer.addResolves(request.pinnedAddresses)
                try handle.set(CG_RESOLVE, slist: transfer.resolveList)
            }
        }
    }

    public func send(_ mail: MailTransfer) async throws {
        let requiresTLS = mail.security == .required
        _ = try await run(connectTimeout: mail.connectTimeout, timeout: mail.timeout, upload: mail.message) {
            handle, transfer in
            try handle.set(CG_URL, mail.url)
            try handle.set(CG_PROTOCOLS_STR, "smtp,smtps")
            try handle.set(CG_MAIL_FROM, "<\(mail.from)>")
            transfer.addRecipients(mail.recipients.map { "<\($0)>" })
            try handle.set(CG_MAIL_RCPT, slist: transfer.recipientList)
            try handle.set(CG_UPLOAD, 1)
            try handle.set(CG_INFILESIZE_LARGE, offset: curl_off_t(mail.message.count))
            try handle.set(CG_USE_SSL, requiresTLS ? CG_USESSL_ALL : CG_USESSL_TRY)
            if let username = mail.username { try handle.set(CG_USERNAME, username) }
            if let password = mail.password { try handle.set(CG_PASSWORD, password) }
        }
    }

    private func run(
        connectTimeout: Duration, timeout: Duration, upload: [UInt8],
        configure: @escaping @Sendable (EasyHandle, Transfer) throws -> Void
    ) async throws -> CurlResponse {
        let transfer = Transfer(upload: upload)
        return try await withTaskCancellationHandler {
            try Task.checkCancellation()
            return try await pool.runIfActive { [self] in
                let handle = try checkout(try CurlLibrary.shared.get())
                defer { checkin(handle) }
                try transfer.prepare(handle, connectTimeout: connectTimeout, timeout: timeout)
                try configure(handle, transfer)
                return try transfer.perform(handle)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .relaxed)
        }
    }

    private func checkout(_ library: CurlLibrary) throws -> EasyHandle {
        if let handle = idle.withLock({ $0.popLast() }) {
            cg_easy_reset(handle.api, handle.raw)  // keeps the connection and DNS caches
            return handle
        }
        // curl_easy_init fails only when out of memory: that transfer fails, the process goes on.
        guard let raw = cg_easy_init(library.api) else { throw CurlError.transfer(code: -1, message: "curl_easy_init failed") }
        return EasyHandle(raw: raw, api: library.api)
    }

    private func checkin(_ handle: EasyHandle) {
        idle.withLock { handles in
            if handles.count < 16 { handles.append(handle) } else { cg_easy_cleanup(handle.api, handle.raw) }
        }
    }
}

/// libcurl, opened by the first transfer (on a pool thread) rather than linked (see CCurl's
/// shim.h): a process that has not sent anything yet does not carry it and its twenty-odd
/// libraries. If it cannot be opened, every transfer fails with that reason.
struct CurlLibrary: @unchecked Sendable {  // function addresses, written once before publication
    let api: cg_curl_api

    static let shared: Result<CurlLibrary, CurlError> = {
        var api = cg_curl_api()
        if let failure = cg_curl_open(&api) {
            return .failure(.transfer(code: -1, message: "libcurl could not be opened: \(String(cString: failure))"))
        }
        let code = cg_global_init(api, Int(CURL_GLOBAL_ALL))
        guard code == CURLE_OK else {
            return .failure(.transfer(code: Int(code.rawValue), message: String(cString: cg_easy_strerror(api, code))))
        }
        return .success(CurlLibrary(api: api))
    }()
}

/// A CURL easy handle. It is only ever used by the one pool thread that checked it out, so sending
/// it between threads is safe even though libcurl handles are not thread-safe.
struct EasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    let api: cg_curl_api

    func set(_ option: CURLoption, _ value: Int) throws { try check(cg_setopt_long(api, raw, option, value)) }
    func set(_ option: CURLoption, offset: curl_off_t) throws { try check(cg_setopt_offset(api, raw, option, offset)) }
    func set(_ option: CURLoption, _ value: String) throws {
        // libcurl copies string options, so the temporary C string may go away afterwards.
        try check(value.withCString { cg_setopt_string(api, raw, option, $0) })
    }
    func set(_ option: CURLoption, slist: UnsafeMutablePointer<curl_slist>?) throws {
        try check(cg_setopt_slist(api, raw, option, slist))
    }
    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(cg_setopt_pointer(api, raw, option, pointer))
    }
    func set(_ option: CURLoption, callback: cg_data_callback) throws {
        try check(cg_setopt_data_callback(api, raw, option, callback))
    }
    func set(progress: cg_progress_callback) throws { try check(cg_setopt_progress_callback(api, raw, progress)) }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw CurlError.transfer(code: Int(code.rawValue), message: String(cString: cg_easy_strerror(api, code)))
        }
    }
}

/// The state one transfer's C callbacks write into. Only the pool thread running the transfer
/// touches the buffers; `cancelled` is atomic because the cancelling task sets it from elsewhere.
final class Transfer: @unchecked Sendable {
    let cancelled = Atomic<Bool>(false)
    private let upload: [UInt8]
    private var uploadOffset = 0
    private var body: [UInt8] = []
    var bodyLimit = Int.max
    private var truncated = false
    private var headers: [(String, String)] = []
    private(set) var headerList: UnsafeMutablePointer<curl_slist>?
    private(set) var recipientList: UnsafeMutablePointer<curl_slist>?
    private(set) var resolveList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    /// libcurl's functions, from the handle `prepare` is given: the lists are built after it.
    private var api: cg_curl_api?

    init(upload: [UInt8]) {
        self.upload = upload
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let api {
            cg_slist_free_all(api, headerList)
            cg_slist_free_all(api, recipientList)
            cg_slist_free_all(api, resolveList)
        }
        errorBuffer.deallocate()
    }

    func addHeaders(_ lines: [String]) { append(lines, to: &headerList) }
    func addRecipients(_ lines: [String]) { append(lines, to: &recipientList) }
    func addResolves(_ lines: [String]) { append(lines, to: &resolveList) }

    private func append(_ lines: [String], to list: inout UnsafeMutablePointer<curl_slist>?) {
        guard let api else { return }  // `prepare` runs first
        for line in lines { list = cg_slist_append(api, list, line) }
    }

    func prepare(_ handle: EasyHandle, connectTimeout: Duration, timeout: Duration) throws {
        api = handle.api
        let context = Unmanaged.passUnretained(self).toOpaque()
        try handle.set(CG_NOSIGNAL, 1)
        try handle.set(CG_TCP_KEEPALIVE, 1)
        try handle.set(
            CG_CONNECTTIMEOUT_MS, Int(connectTimeout.components.seconds * 1000) + Int(connectTimeout.components.attoseconds / 1_000_000_000_000_000))
        try handle.set(CG_TIMEOUT_MS, Int(timeout.components.seconds * 1000) + Int(timeout.components.attoseconds / 1_000_000_000_000_000))
        try handle.set(CG_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try handle.set(CG_WRITEDATA, pointer: context)
        try handle.set(CG_HEADERDATA, pointer: context)
        try handle.set(CG_READDATA, pointer: context)
        try handle.set(CG_XFERINFODATA, pointer: context)
        try handle.set(CG_NOPROGRESS, 0)
        try handle.set(
            CG_WRITEFUNCTION,
            callback: { pointer, size, count, context in
                // Without its transfer (never: `prepare` sets it) the answer 0 makes libcurl abort.
                guard let transfer = Transfer.from(context) else { return 0 }
                let length = size * count
                guard let pointer else { return length }
                let kept = max(0, min(length, transfer.bodyLimit - transfer.body.count))
                transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: kept))
                guard kept == length else {
                    transfer.truncated = true
                    return 0  // fewer bytes than given: libcurl stops the transfer
                }
                return length
            })
        try handle.set(
            CG_HEADERFUNCTION,
            callback: { pointer, size, count, context in
                guard let transfer = Transfer.from(context) else { return 0 }
                let length = size * count
                guard let pointer else { return length }
                let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("HTTP/") {
                    transfer.headers = []  // a new response (after 100 Continue or a redirect) starts
                } else if let colon = line.firstIndex(of: ":") {
                    transfer.headers.append(
                        (
                            String(line[..<colon]),
                            line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                        ))
                }
                return length
            })
        try handle.set(
            CG_READFUNCTION,
            callback: { pointer, size, count, context in
                guard let transfer = Transfer.from(context), !transfer.cancelled.load(ordering: .relaxed) else {
                    return CG_READFUNC_ABORT
                }
                let length = min(size * count, transfer.upload.count - transfer.uploadOffset)
                guard length > 0, let pointer else { return 0 }
                transfer.upload.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress else { return }  // not empty: length > 0
                    UnsafeMutableRawPointer(pointer).copyMemory(from: base + transfer.uploadOffset, byteCount: length)
                }
                transfer.uploadOffset += length
                return length
            })
        try handle.set(
            progress: { context, _, _, _, _ in
                guard let transfer = Transfer.from(context) else { return 1 }  // non-zero aborts
                return transfer.cancelled.load(ordering: .relaxed) ? 1 : 0
            })
    }

    /// The transfer a callback's context points at (`prepare` passes `self`, unretained: the
    /// transfer outlives `perform`, during which alone the callbacks run).
    static func from(_ context: UnsafeMutableRawPointer?) -> Transfer? {
        context.map { Unmanaged<Transfer>.fromOpaque($0).takeUnretainedValue() }
    }

    func perform(_ handle: EasyHandle) throws -> CurlResponse {
        let code = cg_easy_perform(handle.api, handle.raw)
        // The handle goes back to the pool: it must not point at this transfer any more.
        _ = cg_setopt_pointer(handle.api, handle.raw, CG_ERRORBUFFER, nil)
        let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: cg_easy_strerror(handle.api, code))
        switch code {
        case CURLE_OK:
            return CurlResponse(status: cg_response_code(handle.api, handle.raw), headers: headers, body: body)
        case CURLE_WRITE_ERROR where truncated:
            return CurlResponse(status: cg_response_code(handle.api, handle.raw), headers: headers, body: body, truncated: true)
        case CURLE_OPERATION_TIMEDOUT:
            throw CurlError.timedOut
        case CURLE_ABORTED_BY_CALLBACK:
            throw CurlError.cancelled
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            throw CurlError.couldNotConnect(detail)
        case CURLE_USE_SSL_FAILED:
            throw CurlError.tlsRequired(detail)
        default:
            throw CurlError.transfer(code: Int(code.rawValue), message: detail)
        }
    }
}
