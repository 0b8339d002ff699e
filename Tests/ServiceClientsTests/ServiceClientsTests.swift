import CloudGreetCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceClients
import Synchronization
import TestSupport
import Testing

/// A stand-in for another service: every request to `path` gets the next queued answer, and
/// requests are counted.
final class StubService: Sendable {
    private let answers = Mutex<[String: [(Int, String)]]>([:])
    private let hits = Mutex<[String: Int]>([:])

    func answer(_ path: String, _ status: Int, _ body: String) { answers.withLock { $0[path, default: []].append((status, body)) } }
    func hitCount(_ path: String) -> Int { hits.withLock { $0[path] ?? 0 } }

    func run<T: Sendable>(_ body: @Sendable (InternalClient) async throws -> T) async throws -> T {
        let router = Router()
        router.on("**", method: .get, use: respond)
        router.on("**", method: .post, use: respond)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            var environment = ["CLOUDGREET_ENV": "development"]
            for service in ServiceName.allCases { environment[service.urlVariable] = "http://127.0.0.1:\(client.port ?? 0)" }
            return try await body(InternalClient(config: try ServiceConfig(service: .gateway, environment: environment)))
        }
    }

    @Sendable func respond(_ request: Request, _: BasicRequestContext) async throws -> Response {
        let path = request.uri.path
        hits.withLock { $0[path, default: 0] += 1 }
        let (status, body) = answers.withLock { queued -> (Int, String) in
            guard var list = queued[path], !list.isEmpty else { return (200, #"{"success":true,"data":{}}"#) }
            let first = list.removeFirst()
            if list.isEmpty, first.0 != 200 { list.append(first) }  // a failure repeats
            queued[path] = list
            return first
        }
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

func envelope(_ code: String, details: String = "{}") -> String {
    #"{"success":false,"error":"no","code":"\#(code)","details":\#(details),"requestId":"r","timestamp":"t"}"#
}

@Suite struct TypedClientTests {
    let sms = MessagingClient.SMS(businessID: "business_1", to: "+15551234567", text: "hi")

    func failure(_ stub: StubService, _ status: Int, _ body: String) async throws -> ServiceCallError? {
        stub.answer("/internal/sms", status, body)
        return try await stub.run { [sms] client -> ServiceCallError? in
            do {
                _ = try await MessagingClient.live(client, as: .crm).sendSMS(sms, "r")
                return nil
            } catch let error as ServiceCallError {
                return error
            }
        }
    }

    @Test func eachAnswerMapsToItsTypedError() async throws {
        let cases: [(Int, String, ServiceCallError)] = [
            (404, envelope("LEAD_NOT_FOUND"), .notFound(.leadNotFound)),
            (
                422, envelope("VALIDATION_ERROR", details: #"{"to":["must be a valid phone number"]}"#),
                .validation(["to": ["must be a valid phone number"]])
            ),
            (422, envelope("VALIDATION_ERROR", details: #"{"phone":["opted out"],"reason":"opted_out"}"#), .optedOut),
            (502, envelope("EXTERNAL_SERVICE_ERROR", details: #"{"id":"sms_1"}"#), .providerFailed(messageID: "sms_1")),
            (503, envelope("SERVICE_UNAVAILABLE"), .unavailable(.messaging)),
            (500, "not json at all", .unavailable(.messaging)),
            (
                409, envelope("RESOURCE_ALREADY_EXISTS", details: #"{"existing_id":"lead_1"}"#),
                .conflict(message: "no", details: ["existing_id": "lead_1"])
            ),
            (403, envelope("AUTH_INSUFFICIENT_PERMISSIONS"), .refused(status: 403, code: .authInsufficientPermissions, message: "no", details: [:])),
            (200, "{\"success\":true,\"data\":", .malformed(.messaging)),
            (200, #"{"success":true,"data":{"status":"sent"}}"#, .malformed(.messaging)),  // partial: no id
            (201, #"{"success":false}"#, .malformed(.messaging)),
            (418, "teapot", .malformed(.messaging)),
        ]
        for (status, body, expected) in cases {
            #expect(try await failure(StubService(), status, body) == expected, "\(status) \(body)")
        }
    }

    @Test func aRefusedConnectionIsUnavailable() async throws {
        let port = TestEnvironment.freePort()
        let config = try ServiceConfig(service: .crm, environment: ["MESSAGING_URL": "http://127.0.0.1:\(port)"])
        await #expect(throws: ServiceCallError.unavailable(.messaging)) {
            try await MessagingClient.live(InternalClient(config: config), as: .crm).sendSMS(sms, "r")
        }
    }

    @Test func aGoodAnswerIsDecoded() async throws {
        let stub = StubService()
        stub.answer("/internal/sms", 201, #"{"success":true,"data":{"id":"sms_9","status":"sent","updated_at":"2026-01-02T03:04:05Z"}}"#)
        try await stub.run { client in
            let sent = try await MessagingClient.live(client, as: .crm).sendSMS(sms, "r")
            #expect(sent == .init(id: "sms_9", status: "sent", sentAt: Timestamp.parse("2026-01-02T03:04:05Z") ?? Date()))
        }
    }

    @Test func aPostIsRetriedOnlyWithAnIdempotencyKey() async throws {
        let stub = StubService()
        stub.answer("/internal/sms", 503, envelope("SERVICE_UNAVAILABLE"))
        try await stub.run { client in
            let messaging = MessagingClient.live(client, as: .crm)
            _ = try? await messaging.sendSMS(sms, "r")
            #expect(stub.hitCount("/internal/sms") == 1)
            var keyed = sms
            keyed.idempotencyKey = "reminder_1-sms"
            _ = try? await messaging.sendSMS(keyed, "r")
            #expect(stub.hitCount("/internal/sms") == 4)  // three attempts
        }
    }

    @Test func relayedErrorsKeepTheirDetails() {
        let refusal = ServiceCallError.refused(status: 409, code: .resourceAlreadyExists, message: "taken", details: ["existing_id": "x"])
        #expect(Envelope.failure(refusal.apiError, requestID: "r")["details"] == ["existing_id": "x"])
        #expect(
            Envelope.failure(ServiceCallError.validation(["phone": ["is required"]]).apiError, requestID: "r")["details"]
                == ["phone": ["is required"]])
        #expect(Envelope.failure(ServiceCallError.notFound(.leadNotFound).apiError, requestID: "r")["details"] == [:])
    }

    @Test func crmAndIdentityAnswersAreReadStrictly() async throws {
        let stub = StubService()
        stub.answer("/internal/leads/upsert", 201, #"{"success":true,"data":{"lead":{"id":"lead_1"},"created":true}}"#)
        stub.answer("/internal/businesses/business_1", 200, #"{"success":true,"data":{"id":"business_1","name":"Acme"}}"#)
        stub.answer("/internal/business-by-phone", 404, envelope("BUSINESS_NOT_FOUND"))
        try await stub.run { client in
            await #expect(throws: ServiceCallError.malformed(.crm)) {  // a lead without its business
                try await CRMClient.live(client, as: .messaging).upsertLead("business_1", "+15551234567", "sms", "r")
            }
            let identity = IdentityClient.live(client, as: .crm)
            await #expect(throws: ServiceCallError.malformed(.identity)) { try await identity.business("business_1", "r") }
            let unknown = try await identity.businessByPhone("+15550000000", "r")
            #expect(unknown == nil)
        }
    }

    @Test func bookingAndStatsAreTypedBothWays() async throws {
        let stub = StubService()
        let day = Date(timeIntervalSince1970: 1_800_000_000)
        let booking = CRMClient.Booking(
            businessID: "business_1", leadID: "lead_1", scheduledAt: day, duration: 30, notes: nil, reference: "call_1")
        stub.answer(
            "/internal/appointments", 409,
            envelope("RESOURCE_ALREADY_EXISTS", details: #"{"conflicting_id":"appointment_1"}"#))
        stub.answer("/internal/stats", 200, #"{"success":true,"data":{"leads":[],"appointments":[]}}"#)
        let stats = CRMClient.Stats(
            leads: [.init(status: "new", source: "call", band: nil, count: 2, scoreSum: 0)], leadsCreatedToday: 1,
            appointments: [.init(status: "completed", count: 1, valueCents: 12050)], appointmentsToday: 0,
            revenueThisMonthCents: 12050, revenueLastMonthCents: 0)
        let encoded = try JSONValueEncoder.encode(stats)
        stub.answer("/internal/stats", 200, Envelope.success(encoded, requestID: "r").jsonString)
        try await stub.run { client in
            let crm = CRMClient.live(client, as: .voiceAgent)
            await #expect(throws: ServiceCallError.conflict(message: "no", details: ["conflicting_id": "appointment_1"])) {
                try await crm.book(booking, "r")
            }
            let query = StatsQuery(
                businessID: "business_1", period: nil, today: day..<day + 86400, thisMonth: day..<day + 86400,
                lastMonth: day - 86400..<day)
            await #expect(throws: ServiceCallError.malformed(.crm)) { try await crm.stats(query, "r") }  // partial
            let answered = try await crm.stats(query, "r")
            #expect(answered == stats)
        }
        #expect(encoded["leads"]?.arrayValue?.first?["band"] == .null)  // written, as null
    }
}
