import CloudGreetCore
import Foundation
import ServiceClients
import TestSupport
import Testing

/// Garbage to every route, through the gateway, with the six services as separate processes: every
/// answer is a 4xx in the error envelope, and afterwards every process is still running.
@Suite(.serialized) struct CrashTests {
    struct Route {
        let method: HTTPMethodName
        let path: String
        /// The body fields the route reads; nil for routes that read no body.
        let fields: [String]?
    }

    /// Every public route, with ids of the caller's own records so that handlers get past their lookups.
    static func routes(business: String, lead: String, appointment: String, key: String, agent: String, webhook: String) -> [Route] {
        [
            Route(method: .POST, path: "/auth/register", fields: ["email", "password", "business_name", "first_name", "last_name"]),
            Route(method: .POST, path: "/auth/login", fields: ["email", "password", "business_id"]),
            Route(method: .POST, path: "/auth/forgot-password", fields: ["email"]),
            Route(method: .POST, path: "/auth/reset-password", fields: ["token", "password"]),
            Route(method: .POST, path: "/auth/logout", fields: nil),
            Route(method: .GET, path: "/businesses", fields: nil),
            Route(method: .POST, path: "/businesses", fields: ["name", "settings"]),
            Route(method: .GET, path: "/businesses/\(business)", fields: nil),
            Route(method: .PUT, path: "/businesses/\(business)", fields: ["name", "settings"]),
            Route(method: .GET, path: "/businesses/\(business)/members", fields: nil),
            Route(
                method: .POST, path: "/businesses/\(business)/members",
                fields: ["email", "password", "role", "first_name", "last_name"]),
            Route(method: .GET, path: "/businesses/\(business)/api-keys", fields: nil),
            Route(method: .POST, path: "/businesses/\(business)/api-keys", fields: ["name", "role"]),
            Route(method: .DELETE, path: "/businesses/\(business)/api-keys/\(key)", fields: nil),
            Route(method: .GET, path: "/leads", fields: nil),
            Route(method: .POST, path: "/leads", fields: ["name", "phone", "email", "source", "status", "notes", "business_id"]),
            Route(method: .GET, path: "/leads/\(lead)", fields: nil),
            Route(method: .PUT, path: "/leads/\(lead)", fields: ["name", "phone", "email", "source", "status", "notes"]),
            Route(method: .DELETE, path: "/leads/\(lead)", fields: nil),
            Route(method: .POST, path: "/leads/\(lead)/qualify", fields: ["criteria"]),
            Route(method: .GET, path: "/appointments", fields: nil),
            Route(
                method: .POST, path: "/appointments",
                fields: ["lead_id", "scheduled_date", "duration", "status", "type", "notes", "value"]),
            Route(method: .GET, path: "/appointments/\(appointment)", fields: nil),
            Route(
                method: .PUT, path: "/appointments/\(appointment)",
                fields: ["scheduled_date", "duration", "status", "type", "notes", "value"]),
            Route(method: .DELETE, path: "/appointments/\(appointment)", fields: nil),
            Route(method: .POST, path: "/appointments/\(appointment)/remind", fields: ["method", "message"]),
            Route(method: .GET, path: "/sms", fields: nil),
            Route(method: .POST, path: "/sms", fields: ["lead_id", "phone", "message", "business_id"]),
            Route(method: .GET, path: "/emails", fields: nil),
            Route(method: .POST, path: "/emails", fields: ["lead_id", "to", "subject", "content"]),
            Route(method: .POST, path: "/sms/webhook", fields: ["data", "event_type", "payload"]),
            Route(method: .POST, path: "/webrtc/webhook", fields: ["data"]),
            Route(method: .POST, path: "/retell/webhook", fields: ["event", "call"]),
            Route(method: .GET, path: "/agents", fields: nil),
            Route(method: .POST, path: "/agents", fields: ["name", "voice_settings", "behavior_settings", "working_hours", "business_id"]),
            Route(method: .GET, path: "/agents/\(agent)", fields: nil),
            Route(method: .PUT, path: "/agents/\(agent)", fields: ["name", "voice_settings", "behavior_settings", "working_hours"]),
            Route(method: .POST, path: "/agents/\(agent)/start", fields: nil),
            Route(method: .POST, path: "/agents/\(agent)/stop", fields: nil),
            Route(method: .GET, path: "/agents/\(agent)/status", fields: nil),
            Route(method: .DELETE, path: "/agents/\(agent)", fields: nil),
            Route(method: .GET, path: "/calls", fields: nil),
            Route(method: .GET, path: "/calls/call_01J00000000000000000000000", fields: nil),
            Route(method: .GET, path: "/webhooks", fields: nil),
            Route(method: .POST, path: "/webhooks", fields: ["url", "events", "business_id"]),
            Route(method: .POST, path: "/webhooks/\(webhook)/test", fields: nil),
            Route(method: .GET, path: "/webhooks/\(webhook)/deliveries", fields: nil),
            Route(method: .POST, path: "/webhooks/\(webhook)/deliveries/evt_01J00000000000000000000000/redeliver", fields: nil),
            Route(method: .DELETE, path: "/webhooks/webhook_01J00000000000000000000000", fields: nil),
            Route(method: .GET, path: "/analytics/overview", fields: nil),
            Route(method: .GET, path: "/analytics/leads/scored", fields: nil),
            Route(method: .GET, path: "/health", fields: nil),
        ]
    }

    /// Bodies that are not what any route accepts: broken or non-object JSON, and objects whose every
    /// field has a value no field takes.
    static func bodies(_ fields: [String]) -> [[UInt8]] {
        let broken: [String] = [
            "", "{\"a\":", "[]", "\"text\"", "null", "42", "{\"x\": 1e400}", "{\"x\": 1, \"x\": [}",
            String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000),
            "{\"\(fields.first ?? "a")\":" + String(repeating: "{\"a\":", count: 10_000) + "1" + String(repeating: "}", count: 10_001),
        ]
        let poison: [JSONValue] = [
            nil, "", "   ", "\u{0}", "a\r\nb", [[]], ["$gt": ""], 1e300, -9.9e19, 0.5, true,
            .string(String(repeating: "x", count: 20_000)),
        ]
        var bodies = broken.map { Array($0.utf8) }
        bodies.append([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])  // invalid UTF-8 inside a key
        for value in poison {
            bodies.append(Array(JSONValue.object(Dictionary(uniqueKeysWithValues: fields.map { ($0, value) })).encoded()))
        }
        return bodies
    }

    /// Malformed for every route: a repeated parameter.
    static let repeatedQueries = ["page=1&page=2", "business_id=a&business_id=b", "search=a&search=b"]

    /// Malformed for the analytics reports: a period that is not a date, or that ends before it starts.
    static let reportQueries = ["start_date=yesterday", "end_date=%FF", "start_date=2026-12-02&end_date=2026-11-30", "search=%00"]

    /// Malformed for the lists that read these parameters (others ignore unknown parameters).
    static func listQueries(_ path: String) -> [String] {
        var queries = [
            "page=-1", "page=0", "limit=abc", "limit=0", "page=99999999999999999999", "page=%00", "search=%00",
            "search=%0D%0A", "lead_id=%00",
        ]
        if ["/leads", "/appointments", "/sms", "/emails"].contains(path) { queries += ["status=%00", "status=unknown"] }
        if path == "/appointments" { queries += ["start_date=yesterday", "end_date=%FF"] }
        if path == "/sms" || path == "/calls" { queries.append("direction=sideways") }
        if path == "/agents" || path == "/calls" { queries += ["status=%00", "status=unknown"] }
        if path == "/calls" { queries += ["start_date=yesterday", "end_date=%FF", "lead_id=lead_1"] }
        return queries
    }

    @Test(arguments: StackTests.Engine.allCases)
    func malformedRequestsToEveryRouteBringNothingDown(engine: StackTests.Engine) async throws {
        guard let databases = try await StackTests.databases(engine) else { return }
        let stack = try await Stack(
            environment: [
                "RATE_LIMIT_AUTHENTICATED": "1000000", "RATE_LIMIT_ANONYMOUS": "1000000", "RATE_LIMIT_WEBHOOK": "1000000",
                "RATE_LIMIT_HEALTH": "1000000", "REQUEST_BODY_TIMEOUT_SECONDS": "1", "MAX_BODY_BYTES": "65536",
            ], databases: databases)
        defer { stack.stop() }
        let owner = try await stack.register("crash@example.com")
        let lead = try await stack.call(.POST, "/leads", ["name": "Bo", "phone": "(555) 201-3344"], token: owner.token)
        let start = Timestamp.format(Date().addingTimeInterval(3 * 86400))
        let appointment = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": lead.data["id"] ?? nil,
                "scheduled_date": .string(start),
            ], token: owner.token)
        let key = try await stack.call(
            .POST, "/businesses/\(owner.businessID)/api-keys", ["name": "k", "role": "user"],
            token: owner.token)
        let agent = try await stack.call(.POST, "/agents", ["name": "Riley"], token: owner.token)
        let webhook = try await stack.call(
            .POST, "/webhooks", ["url": "http://127.0.0.1:9/hooks", "events": ["lead.created"]], token: owner.token)
        let routes = Self.routes(
            business: owner.businessID, lead: lead.data["id"]?.stringValue ?? "",
            appointment: appointment.data["id"]?.stringValue ?? "", key: key.data["id"]?.stringValue ?? "",
            agent: agent.data["id"]?.stringValue ?? "", webhook: webhook.data["id"]?.stringValue ?? "")

        var failures: [String] = []
        func check(_ reply: TestResponse, _ what: String) {
            let body = reply.body
            let enveloped =
                body["success"] == false && body["code"]?.stringValue != nil && body["details"]?.objectValue != nil
                && body["requestId"]?.stringValue != nil && body["error"]?.stringValue != nil
            if !(400..<500).contains(reply.status) || !enveloped { failures.append("\(what) -> \(reply.status) \(reply.text.prefix(160))") }
        }
        let auth = [("Authorization", "Bearer \(owner.token)")]
        for route in routes {
            let url = stack.api + route.path
            let isList =
                route.method == .GET
                && ["/businesses", "/leads", "/appointments", "/sms", "/emails", "/agents", "/calls", "/webhooks"].contains(route.path)
            let isReport = route.path.hasPrefix("/analytics")
            for query in Self.repeatedQueries + (isList ? Self.listQueries(route.path) : []) + (isReport ? Self.reportQueries : []) {
                check(
                    try await TestHTTP.request(.init(rawValue: route.method.rawValue), url + "?" + query, headers: auth),
                    "\(route.method) \(route.path)?\(query)")
            }
            guard let fields = route.fields else { continue }
            for (index, body) in Self.bodies(fields).enumerated() {
                let reply = try await TestHTTP.request(
                    .init(rawValue: route.method.rawValue), url,
                    bytes: body, headers: auth)
                check(reply, "\(route.method) \(route.path) body #\(index)")
            }
        }
        for path in [
            "/leads/%00", "/leads/..%2F..%2Finternal%2Fleads%2Fupsert", "/leads/lead_%3Fstatus=new",
            "/appointments/'%20OR%201=1%20--", "/businesses/%2e%2e", "/sms/" + String(repeating: "x", count: 4000),
        ] {
            check(try await TestHTTP.request(.GET, stack.api + path, headers: auth), "GET \(path)")
            check(try await TestHTTP.request(.DELETE, stack.api + path, headers: auth), "DELETE \(path)")
        }

        // The internal erasure routes, called as crm calls them: garbage changes nothing there either.
        let credential = InternalCredential(secret: stack.environment["INTERNAL_SECRET"] ?? "", issuer: .crm)
        for service in [ServiceName.voiceAgent, .messaging] {
            let asCRM = [(InternalCredential.header, credential.mint(for: .service(.crm), requestID: nil))]
            for id in [ResourceID.make(.erasure), "erasure_x", "%00", String(repeating: "e", count: 3000)] {
                for (index, body) in Self.bodies(["business_id", "lead_id", "phone", "email"]).enumerated() {
                    check(
                        try await TestHTTP.request(.PUT, stack.url(service) + "/internal/erasures/\(id)", bytes: body, headers: asCRM),
                        "PUT \(service.rawValue) /internal/erasures/\(id.prefix(20)) body #\(index)")
                }
            }
            // The same credential with a well-formed erasure is accepted: the refusals above were the bodies'.
            let valid = Erasure(
                id: ResourceID.make(.erasure), businessID: owner.businessID, leadID: ResourceID.make(.lead), phone: nil, email: nil)
            let accepted = try await TestHTTP.request(
                .PUT, stack.url(service) + Erasure.path(valid.id), bytes: Array(valid.body.encoded()), headers: asCRM)
            #expect(accepted.status == 200, "\(service.rawValue): \(accepted.text)")
        }
        // And messaging's event intake, as crm hands events over.
        let asCRM = [(InternalCredential.header, credential.mint(for: .service(.crm), requestID: nil))]
        let event = BusinessEvent(businessID: owner.businessID, type: "lead.created", resourceID: "lead_1", data: ["id": "lead_1"])
        var eventBodies = Self.bodies(["events"])
        for bad: JSONValue in [
            ["events": [event.json.merging(["type": "lead.exploded"])]], ["events": [event.json.merging(["id": "evt_x"])]],
            ["events": [event.json.merging(["data": "text"])]], ["events": [event.json.merging(["business_id": nil])]],
            ["events": .array(Array(repeating: event.json, count: 1001))],
        ] {
            eventBodies.append(Array(bad.encoded()))
        }
        for (index, body) in eventBodies.enumerated() {
            check(
                try await TestHTTP.request(.POST, stack.url(.messaging) + "/internal/events", bytes: body, headers: asCRM),
                "POST messaging /internal/events body #\(index)")
        }
        let intake = try await TestHTTP.request(
            .POST, stack.url(.messaging) + "/internal/events", bytes: Array(JSONValue.object(["events": [event.json]]).encoded()), headers: asCRM)
        #expect(intake.status == 200, "\(intake.text)")

        // The crash of issue 7: a text to no one, with a message.
        for phone: JSONValue in [nil, "", "   "] {
            check(try await stack.call(.POST, "/sms", ["phone": phone, "message": "hello"], token: owner.token), "POST /sms phone \(phone)")
        }
        // An id is checked where it enters, never pasted into another service's URL.
        for id: JSONValue in ["?status=new", "../leads", "lead_%2F..", ""] {
            let reply = try await stack.call(.POST, "/sms", ["lead_id": id, "message": "hello"], token: owner.token)
            check(reply, "POST /sms lead_id \(id)")
            if id != "" { #expect(reply.body["details"]?["lead_id"] != nil, "\(id): \(reply.text)") }
        }
        // A burst of malformed posts at once, so that upstream connections are opened and retried under load.
        let burst = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await TestHTTP.request(
                        .POST, stack.api + (index.isMultiple(of: 2) ? "/leads" : "/sms"), body: "{\"name\": [",
                        headers: auth
                    ).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(burst.allSatisfy { $0 == 400 }, "\(burst)")

        // Bodies that stop half-way or trickle, raw on the socket.
        let port = stack.ports[.gateway] ?? 0
        for route in routes where route.fields != nil {
            let head =
                "\(route.method) /api\(route.path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(owner.token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"name\": \"half"
            let aborted = try RawConnection(port: port)
            aborted.send(head)
            aborted.close()
            let slow = try RawConnection(port: port)
            slow.send(head)
            let answer = await slow.receive(seconds: 10) { $0.contains("\r\n\r\n") }.text
            if !answer.hasPrefix("HTTP/1.1 408") { failures.append("slow body to \(route.path) -> \(answer.prefix(80))") }
            slow.close()
        }

        #expect(failures.isEmpty, "\(failures.count) answers were not 4xx envelopes:\n\(failures.prefix(40).joined(separator: "\n"))")
        for (service, process) in stack.processes {
            #expect(process.isRunning, "\(service.rawValue) exited: \(process.exitStatus.map(String.init) ?? "?")")
        }
        let health = try await stack.health("healthy")
        #expect(health.status == 200 && health.data["overall"] == "healthy", "\(health.text)")
        let leads = try await stack.call(.GET, "/leads", token: owner.token)
        #expect(leads.status == 200 && leads.data["pagination"]?["total"] == 1)
        #expect(leads.data["leads"]?.arrayValue?.first?["phone"] == "+15552013344")
    }
}
