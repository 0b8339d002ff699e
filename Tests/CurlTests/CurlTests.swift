import CloudGreetCore
import Curl
import Foundation
import Hummingbird
import HummingbirdTesting
import Providers
import TestSupport
import Testing

/// The libcurl wrapper against servers the tests start: a Hummingbird HTTP server and Debian's aiosmtpd.
@Suite struct CurlHTTPTests {
    let curl = CurlClient(threads: 4)

    func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("/echo") { request, _ -> Response in
            let headers = request.headers.map { "\($0.name.canonicalName)=\($0.value)" }.joined(separator: "\n")
            return Response(
                status: .ok, headers: [.contentType: "text/plain", .init("X-Seen")!: "yes"],
                body: .init(byteBuffer: ByteBuffer(string: headers)))
        }
        router.on("/body", method: .put) { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .created, body: .init(byteBuffer: body))
        }
        router.post("/body") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 8 << 20)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "\(body.readableBytes)")))
        }
        router.get("/fail") { _, _ -> Response in
            Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: #"{"errors":[{"code":"10007"}]}"#)))
        }
        router.get("/hang") { _, _ -> Response in
            try await Task.sleep(for: .seconds(4))
            return Response(status: .ok)
        }
        router.get("/fast") { _, _ in "ok" }
        router.get("/big") { _, _ -> Response in
            Response(status: .accepted, body: .init(byteBuffer: ByteBuffer(repeating: 66, count: 8 << 20)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }

    @Test func sendsHeadersAndReadsTheResponse() async throws {
        try await withServer { base in
            let response = try await curl.perform(CurlRequest(url: base + "/echo", headers: [("Authorization", "Bearer k1")]))
            #expect(response.status == 200)
            #expect(response.header("x-seen") == "yes")
            #expect(response.bodyText.lowercased().contains("authorization=bearer k1"))
        }
    }

    @Test func sendsBodiesWithAnyMethod() async throws {
        try await withServer { base in
            let put = try await curl.perform(CurlRequest(method: "PUT", url: base + "/body", body: Array(#"{"a":1}"#.utf8)))
            #expect(put.status == 201)
            #expect(put.bodyText == #"{"a":1}"#)
            let large = [UInt8](repeating: 65, count: 3 << 20)
            let post = try await curl.perform(CurlRequest(method: "POST", url: base + "/body", body: large))
            #expect(post.bodyText == "\(large.count)")
        }
    }

    @Test func keepsTheProvidersErrorBody() async throws {
        try await withServer { base in
            let response = try await curl.perform(CurlRequest(url: base + "/fail"))
            #expect(response.status == 500)
            #expect(response.bodyText.contains("10007"))
        }
    }

    /// A long answer is kept up to the request's limit (1 MiB unless set), with its status whole.
    @Test func aLongAnswerStopsAtTheLimit() async throws {
        try await withServer { base in
            let small = try await curl.perform(CurlRequest(url: base + "/big", maxResponseBytes: 4096))
            #expect(small.status == 202 && small.truncated && small.body == [UInt8](repeating: 66, count: 4096))
            let standard = try await curl.perform(CurlRequest(url: base + "/big"))
            #expect(standard.status == 202 && standard.truncated && standard.body.count == 1 << 20)
            let whole = try await curl.perform(CurlRequest(url: base + "/big", maxResponseBytes: 8 << 20))
            #expect(whole.status == 202 && !whole.truncated && whole.body.count == 8 << 20)
        }
    }

    @Test func timesOutOnAHangingServer() async throws {
        try await withServer { base in
            let start = ContinuousClock.now
            await #expect(throws: CurlError.timedOut) {
                try await curl.perform(CurlRequest(url: base + "/hang", timeout: .milliseconds(300)))
            }
            // The hanging server never answers: without the time-out this would not return at all.
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test func reportsARefusedConnection() async throws {
        let port = TestEnvironment.freePort()
        await #expect {
            try await curl.perform(CurlRequest(url: "http://127.0.0.1:\(port)/"))
        } throws: { error in
            if case CurlError.couldNotConnect = error { return true }
            return false
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        try await withServer { base in
            let task = Task { try await curl.perform(CurlRequest(url: base + "/hang", timeout: .seconds(20))) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            task.cancel()
            // `cancelled` from the transfer, or CancellationError when the cancel came before it started.
            await #expect { try await task.value } throws: { ($0 as? CurlError) == .cancelled || $0 is CancellationError }
            // Well under the transfer's 20 s time-out, with room for a loaded machine.
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    /// Transfers block curl's own threads, never the event loops: with every curl thread stuck on
    /// a hanging server, the (event-loop driven) server still answers, long before the hanging
    /// transfers give up (which is when a blocked loop would answer). The margin is wide because
    /// the whole suite shares two cores with several stacks of processes.
    @Test func transfersDoNotBlockEventLoops() async throws {
        try await withServer { base in
            let hanging = (0..<4).map { _ in
                Task { try? await curl.perform(CurlRequest(url: base + "/hang", timeout: .seconds(10))) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            let fast = try await TestHTTP.request(.GET, base + "/fast")
            #expect(fast.status == 200)
            #expect(ContinuousClock.now - start < .seconds(5))
            for task in hanging { task.cancel() }
        }
    }
}

@Suite(.serialized) struct SMTPTests {
    @Test func deliversAProperMessageToARealSMTPServer() async throws {
        let directory = TestEnvironment.temporaryDirectory()
        let server = try await SMTPTestServer(directory: directory)
        defer { server.stop() }
        let mailer = Mailer(settings: SMTPSettings(url: server.url, requireTLS: false, from: "no-reply@cloudgreet.test"))
        let id = try await mailer.send(
            to: "ana@example.com", subject: "Rendez-vous confirmé ✓",
            text: "Bonjour Ana,\n.\nÀ demain à 14 h.")
        let raw = try await server.waitForMessage(containing: "À demain")
        for header in [
            "Date: ", "From: no-reply@cloudgreet.test", "To: ana@example.com", "Message-ID: \(id)",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8", "Subject: =?UTF-8?B?",
        ] {
            #expect(raw.contains(header), "missing \(header)")
        }
        #expect(SMTPTestServer.decodedBody(raw) == "Bonjour Ana,\r\n.\r\nÀ demain à 14 h.")
    }

    @Test func aDisplayNameStaysInTheHeaderAndOutOfMailFrom() async throws {
        let server = try await SMTPTestServer(directory: TestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let mailer = Mailer(settings: SMTPSettings(url: server.url, requireTLS: false, from: "CloudGreet <no-reply@cloudgreet.test>"))
        let id = try await mailer.send(to: "bo@example.com", subject: "Hello", text: "display name test")
        #expect(id.hasSuffix("@cloudgreet.test>") && !id.hasSuffix(">>"))
        let raw = try await server.waitForMessage(containing: "display name test")
        #expect(raw.contains("X-MailFrom: no-reply@cloudgreet.test\n") || raw.contains("X-MailFrom: no-reply@cloudgreet.test\r\n"))
        #expect(raw.contains("From: CloudGreet <no-reply@cloudgreet.test>"))
        #expect(raw.contains("Message-ID: \(id)"))
    }

    @Test func refusesClearTextWhenTLSIsRequired() async throws {
        let server = try await SMTPTestServer(directory: TestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let mailer = Mailer(settings: SMTPSettings(url: server.url, requireTLS: true, from: "no-reply@cloudgreet.test"))
        await #expect(throws: ProviderError.self) { try await mailer.send(to: "a@example.com", subject: "s", text: "t") }
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.messages().isEmpty)
    }

    @Test func reportsAnUnreachableServer() async throws {
        let mailer = Mailer(
            settings: SMTPSettings(
                url: "smtp://127.0.0.1:\(TestEnvironment.freePort())", requireTLS: false,
                from: "no-reply@cloudgreet.test"), retry: RetryPolicy(attempts: 2))
        await #expect(throws: ProviderError.self) { try await mailer.send(to: "a@example.com", subject: "s", text: "t") }
    }
}

/// The Telnyx client against the fake Telnyx: retries, Retry-After, final errors.
@Suite struct TelnyxClientTests {
    func client(_ fake: FakeTelnyx, key: String? = nil) -> TelnyxClient {
        TelnyxClient(
            settings: .init(apiKey: key ?? fake.apiKey, baseURL: fake.baseURL, messagingProfileID: "profile-1"),
            retry: RetryPolicy(attempts: 3, baseDelay: .milliseconds(50)))
    }

    @Test func sendsTheDocumentedRequest() async throws {
        let fake = FakeTelnyx()
        try await fake.start()
        defer { fake.stop() }
        let sent = try await client(fake).sendMessage(from: "+15557770000", to: "+15552013344", text: "Hola ✓")
        #expect(sent.status == "queued" && !sent.id.isEmpty)
        let request = try #require(fake.received.first)
        #expect(request.authorization == "Bearer \(fake.apiKey)")
        #expect(request.body == ["from": "+15557770000", "to": "+15552013344", "text": "Hola ✓", "messaging_profile_id": "profile-1"])
    }

    @Test func retriesServerErrorsAndHonoursRetryAfter() async throws {
        let fake = FakeTelnyx()
        try await fake.start()
        defer { fake.stop() }
        fake.enqueue(.init(status: 500), .init(status: 429, headers: [("Retry-After", "1")]))
        let start = ContinuousClock.now
        _ = try await client(fake).sendMessage(from: nil, to: "+15552013344", text: "hi")
        #expect(fake.received.count == 3)
        #expect(ContinuousClock.now - start >= .seconds(1))
    }

    @Test func anAbsurdRetryAfterIsCappedNotACrash() async throws {
        let fake = FakeTelnyx()
        try await fake.start()
        defer { fake.stop() }
        fake.enqueue(.init(status: 429, headers: [("Retry-After", "1e20")]), .init(status: 429, headers: [("Retry-After", "inf")]))
        let retry = RetryPolicy(attempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(100))
        let telnyx = TelnyxClient(settings: .init(apiKey: fake.apiKey, baseURL: fake.baseURL), retry: retry)
        _ = try await telnyx.sendMessage(from: nil, to: "+15552013344", text: "hi")
        #expect(fake.received.count == 3)
    }

    @Test func clientErrorsAreFinalAndCarryTelnyxsDetail() async throws {
        let fake = FakeTelnyx()
        try await fake.start()
        defer { fake.stop() }
        await #expect {
            _ = try await client(fake, key: "wrong").sendMessage(from: nil, to: "+15552013344", text: "hi")
        } throws: { error in
            (error as? ProviderError)?.description.contains("401") == true
        }
        #expect(fake.received.count == 1)
    }

    @Test func givesUpAfterBoundedAttempts() async throws {
        let fake = FakeTelnyx()
        try await fake.start()
        defer { fake.stop() }
        fake.enqueue(.init(status: 503), .init(status: 503), .init(status: 503), .init(status: 503))
        await #expect(throws: ProviderError.self) { _ = try await client(fake).sendMessage(from: nil, to: "+15552013344", text: "x") }
        #expect(fake.received.count == 3)
    }
}
