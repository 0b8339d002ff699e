import Foundation
import Testing

@testable import CloudGreetCore

@Suite struct TimestampTests {
    @Test func parsesOffsetsAndFormatsUTC() throws {
        let date = try #require(Timestamp.parse("2024-01-20T09:00:00-05:00"))
        #expect(Timestamp.format(date) == "2024-01-20T14:00:00Z")
        #expect(Timestamp.parse("2024-01-20T14:00:00Z") == date)
        #expect(Timestamp.parse("2024-01-20T19:30:00+0530") == date)
        #expect(Timestamp.parse("2024-01-20T14:00:00.250Z")!.timeIntervalSince(date) == 0.25)
    }

    /// The hand-written formatter against Foundation's ISO 8601 style, over leap days, century
    /// years, times before 1970 and fractions of a second (dropped, never rounded up).
    @Test func formatsAsFoundationDoes() {
        var generator = SystemRandomNumberGenerator()
        var dates = [
            0, -1, -0.5, 0.999, 951_782_400, 951_868_799.9, 4_107_542_400, -2_208_988_800, -62_135_596_800, 253_402_300_799,
            1_709_164_800, 1_709_251_199,
        ].map(Date.init(timeIntervalSince1970:))
        for _ in 0..<5000 { dates.append(Date(timeIntervalSince1970: Double.random(in: -62_000_000_000...253_000_000_000, using: &generator))) }
        for date in dates { #expect(Timestamp.format(date) == Timestamp.foundationFormat(date), "\(date.timeIntervalSince1970)") }
    }

    /// The `Date` header the gateway's fast lane writes, against Foundation's formatter.
    @Test func writesHTTPDatesAsFoundationDoes() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var generator = SystemRandomNumberGenerator()
        var dates = [0, -1, 784_111_777, 951_782_400, 1_796_043_600].map(Date.init(timeIntervalSince1970:))
        // Whole seconds: the formatter rounds a fraction, the header drops it.
        for _ in 0..<2000 { dates.append(Date(timeIntervalSince1970: Double(Int.random(in: 0...4_000_000_000, using: &generator)))) }
        for date in dates { #expect(Timestamp.httpDate(date) == formatter.string(from: date), "\(date.timeIntervalSince1970)") }
        #expect(Timestamp.httpDate(Date(timeIntervalSince1970: 0.999)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(Timestamp.httpDate(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test(arguments: [
        "", "2024-13-01T00:00:00Z", "2024-02-31T00:00:00Z", "2024-01-20T25:00:00Z", "yesterday",
        "2024-01-20T14:00:00+25:00", "2024-01-20T14:00:00Zjunk",
    ])
    func rejectsNonsense(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}

@Suite struct ResourceIDTests {
    @Test func prefixedUniqueAndTimeOrdered() {
        let ids = (0..<2000).map { _ in ResourceID.make(.lead) }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { ResourceID.isValid($0, kind: .lead) })
        #expect(!ResourceID.isValid(ids[0], kind: .user))
    }
}

@Suite struct ContactTests {
    @Test(arguments: [
        ("+15551234567", "+15551234567"), ("(555) 123-4567", "+15551234567"), ("555-123-4567", "+15551234567"),
        ("1 555 123 4567", "+15551234567"), ("+44 20 7946 0958", "+442079460958"),
    ])
    func normalisesPhones(_ input: String, _ expected: String) {
        #expect(Contact.normalizePhone(input, defaultCountryCode: "1") == expected)
    }

    @Test(arguments: ["", "12345", "555-CALL-NOW", "+0123456789", "+1234567890123456", "055-123-4567", "555 123 456"])
    func rejectsBadPhones(_ input: String) {
        #expect(Contact.normalizePhone(input, defaultCountryCode: "1") == nil)
    }

    @Test func nationalNumbersUseTheDefaultCountry() {
        #expect(Contact.normalizePhone("020 7946 0958", defaultCountryCode: "44") == "+442079460958")
    }

    @Test func emails() {
        #expect(Contact.normalizeEmail("  John.Doe@Example.COM ") == "john.doe@example.com")
        for bad in ["", "john", "john@", "@example.com", "john@example", "jo hn@example.com", "a@b..com", "a@b.com>"] {
            #expect(Contact.normalizeEmail(bad) == nil, "\(bad)")
        }
    }

    @Test func masksPhonesForLogs() {
        #expect(Contact.maskPhone("+15551234567") == "**********67")
    }
}

@Suite struct ValidationTests {
    @Test func reportsEveryBadFieldAtOnce() throws {
        let body = try JSONValue.decode(Array(#"{"email": 5, "name": "", "age": "x", "settings": {"timezone": 3}}"#.utf8))
        let fields = try FieldReader(body)
        _ = fields.email("email", required: true)
        _ = fields.string("name", required: true)
        _ = fields.int("age")
        _ = fields.string("missing", required: true)
        _ = fields.nested("settings")?.string("timezone")
        let error = try #require(throws: APIError.self) { try fields.finish() }
        #expect(error.status == 422)
        let details = try #require(error.details?.objectValue)
        #expect(Set(details.keys) == ["email", "name", "age", "missing", "settings.timezone"])
    }

    @Test func nonObjectBodiesAreBadRequests() throws {
        let error = try #require(throws: APIError.self) { try FieldReader(.array([])) }
        #expect(error.status == 400)
        #expect(error.code == .validationError)
    }

    @Test func secretsAreNotTrimmed() throws {
        let fields = try FieldReader(["password": "  spaced  "])
        #expect(fields.secret("password") == "  spaced  ")
    }

    @Test func wholeNumbersOnly() throws {
        let fields = try FieldReader(["a": 1.5, "b": 3, "c": true])
        #expect(fields.int("a") == nil)
        #expect(fields.int("b") == 3)
        #expect(fields.int("c") == nil)
        #expect(Set(fields.errors.keys) == ["a", "c"])
    }
}

@Suite struct PaginationTests {
    @Test func defaultsAndClamping() throws {
        #expect(try Page(query: [:]) == Page(page: 1, limit: 20))
        #expect(try Page(query: ["limit": "500", "page": "3"]) == Page(page: 3, limit: 100))
        #expect(try Page(query: ["page": "2", "limit": "10"]).offset == 10)
    }

    @Test(arguments: [["page": "0"], ["page": "x"], ["limit": "0"], ["limit": "-4"], ["limit": "ten"]])
    func rejectsBadValues(_ query: [String: String]) {
        #expect(throws: APIError.self) { try Page(query: query) }
    }

    @Test func listShape() {
        let list = Page(page: 2, limit: 10).list("leads", [], total: 21)
        #expect(list["pagination"] == ["page": 2, "limit": 10, "total": 21, "pages": 3])
        #expect(list["leads"] == [])
    }
}

@Suite struct TokenTests {
    let signer = TokenSigner(secret: "test-secret-test-secret-test-secret")
    var future: Int { Int(Date().timeIntervalSince1970) + 600 }

    @Test func roundTrip() throws {
        let token = signer.sign(["sub": "user_1", "exp": JSONValue(future)])
        #expect(try signer.verify(token)["sub"] == "user_1")
    }

    @Test func rejectsWrongKey() {
        let token = TokenSigner(secret: "another-secret").sign(["sub": "user_1", "exp": JSONValue(future)])
        #expect(throws: TokenSigner.Failure.signature) { try signer.verify(token) }
    }

    @Test func rejectsExpiredAndMissingExp() {
        #expect(throws: TokenSigner.Failure.expired) {
            try signer.verify(signer.sign(["sub": "u", "exp": JSONValue(Int(Date().timeIntervalSince1970) - 1)]))
        }
        #expect(throws: TokenSigner.Failure.expired) { try signer.verify(signer.sign(["sub": "u"])) }
    }

    @Test func rejectsNoneAndOtherAlgorithms() throws {
        let payload = Base64URL.encode(JSONValue.object(["sub": "u", "exp": JSONValue(future)]).encoded())
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let header = Base64URL.encode(Data(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8))
            let valid = signer.sign(["sub": "u", "exp": JSONValue(future)]).split(separator: ".")[2]
            #expect(throws: TokenSigner.Failure.algorithm) { try signer.verify("\(header).\(payload).") }
            #expect(throws: TokenSigner.Failure.algorithm) { try signer.verify("\(header).\(payload).\(valid)") }
        }
    }

    @Test func rejectsTamperedPayload() throws {
        let parts = signer.sign(["sub": "user_1", "role": "user", "exp": JSONValue(future)]).split(separator: ".")
        let forged = Base64URL.encode(JSONValue.object(["sub": "user_1", "role": "admin", "exp": JSONValue(future)]).encoded())
        #expect(throws: TokenSigner.Failure.signature) { try signer.verify("\(parts[0]).\(forged).\(parts[2])") }
        #expect(throws: TokenSigner.Failure.malformed) { try signer.verify("garbage") }
    }

    @Test func aRotatedSecretStillVerifiesWhatItSigned() throws {
        let old = TokenSigner(secret: "old-secret-old-secret-old-secret-old")
        let rotated = TokenSigner(secret: "new-secret-new-secret-new-secret-new", previous: "old-secret-old-secret-old-secret-old")
        let claims: [String: JSONValue] = ["sub": "user_1", "exp": JSONValue(future)]
        #expect(try rotated.verify(old.sign(claims))["sub"] == "user_1")  // signed before the rotation
        #expect(try rotated.verify(rotated.sign(claims))["sub"] == "user_1")
        #expect(throws: TokenSigner.Failure.signature) {
            try TokenSigner(secret: "new-secret-new-secret-new-secret-new").verify(old.sign(claims))  // previous dropped
        }
        // The header names the key by a hash, never the secret itself.
        let header = try #require(Base64URL.decode(rotated.sign(claims).split(separator: ".")[0]))
        let kid = try #require(try JSONValue.decode(header)["kid"]?.stringValue)
        #expect(kid == rotated.keyID && kid != old.keyID && !kid.contains("secret"))
        let credential = InternalCredential(secret: "internal-new", previous: "internal-old", issuer: .gateway)
        let caller = Caller.service(.crm)
        #expect(credential.verify(InternalCredential(secret: "internal-old", issuer: .crm).mint(for: caller, requestID: "r")) == caller)
    }

    @Test func internalCredentialCarriesTheCaller() throws {
        let credential = InternalCredential(secret: "internal-secret", issuer: .gateway)
        let caller = Caller(kind: .user, subject: "user_1", businessID: "business_1", role: .agent)
        #expect(credential.verify(credential.mint(for: caller, requestID: "req_1")) == caller)
        let other = InternalCredential(secret: "other", issuer: .gateway)
        #expect(other.verify(credential.mint(for: caller, requestID: "req_1")) == nil)
        // A user JWT signed with the same secret is not an internal credential.
        #expect(credential.verify(TokenSigner(secret: "internal-secret").sign(["sub": "u", "exp": JSONValue(future)])) == nil)
    }
}

@Suite struct ConfigTests {
    @Test func productionRefusesDevelopmentSecrets() {
        #expect(throws: ConfigError.self) { try ServiceConfig(service: .gateway, environment: ["CLOUDGREET_ENV": "production"]) }
        #expect(throws: ConfigError.self) {
            try ServiceConfig(service: .crm, environment: ["CLOUDGREET_ENV": "production", "INTERNAL_SECRET": "short"])
        }
        let secret = String(repeating: "s", count: 40)
        #expect(throws: Never.self) {
            try ServiceConfig(
                service: .identity,
                environment: [
                    "CLOUDGREET_ENV": "production", "INTERNAL_SECRET": secret,
                    "JWT_SECRET": secret + "j",
                ])
        }
    }

    @Test func everyEnvironmentButDevelopmentRefusesWeakSecrets() throws {
        let jwt = String(repeating: "j", count: 40)
        let internalSecret = String(repeating: "i", count: 40)
        func start(_ values: [String: String], as service: ServiceName = .gateway) throws {
            _ = try ServiceConfig(service: service, environment: values)
        }
        for environment in ["production", "staging", "test"] {
            let good = ["CLOUDGREET_ENV": environment, "JWT_SECRET": jwt, "INTERNAL_SECRET": internalSecret]
            #expect(throws: Never.self) { try start(good) }
            for (name, bad) in [
                ("JWT_SECRET", "change-me-jwt-secret-at-least-32-bytes-long"), ("INTERNAL_SECRET", "short"),
                ("INTERNAL_SECRET", "an-example-internal-secret-of-plenty-bytes"), ("JWT_SECRET", ServiceConfig.developmentJWTSecret),
                ("JWT_SECRET_PREVIOUS", "too-short"), ("INTERNAL_SECRET_PREVIOUS", jwt),  // a previous one equal to the other kind
            ] {
                var values = good
                values[name] = bad
                #expect(throws: ConfigError.self, "\(environment) \(name)") { try start(values) }
            }
            var missing = good
            missing["JWT_SECRET"] = nil
            #expect(throws: ConfigError.self) { try start(missing) }
            #expect(throws: Never.self) { try start(missing, as: .crm) }  // crm signs no user tokens
        }
        #expect(throws: ConfigError.self) { try start(["CLOUDGREET_ENV": "Production!"]) }
        #expect(throws: Never.self) { try start(["CLOUDGREET_ENV": "development", "JWT_SECRET": "short"]) }
    }

    @Test func secretsCanBeReadFromFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("jwt").path
        try Data((String(repeating: "f", count: 40) + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let config = try ServiceConfig(
            service: .identity,
            environment: ["CLOUDGREET_ENV": "production", "JWT_SECRET_FILE": file, "INTERNAL_SECRET": String(repeating: "i", count: 40)])
        #expect(config.jwtSecret == String(repeating: "f", count: 40))  // the line break dropped
        #expect(throws: ConfigError.self) { try ServiceConfig(service: .identity, environment: ["JWT_SECRET_FILE": file, "JWT_SECRET": "x"]) }
        #expect(throws: ConfigError.self) { try ServiceConfig(service: .identity, environment: ["JWT_SECRET_FILE": file + ".missing"]) }
    }

    @Test func defaults() throws {
        let config = try ServiceConfig(service: .voiceAgent, environment: ["CLOUDGREET_DATA_DIR": "/data"])
        #expect(config.port == 8083)
        #expect(config.databaseURL == "sqlite:///data/voice-agent.sqlite")
        #expect(config.url(of: .messaging) == "http://127.0.0.1:8084")
        #expect(ServiceName.voiceAgent.urlVariable == "VOICE_AGENT_URL")
    }
}

@Suite struct FormQueryTests {
    @Test func plusIsASpaceAndPercentTwoBIsAPlus() {
        #expect(FormQuery.parse("search=two+words").values["search"] == "two words")
        #expect(FormQuery.parse("search=two%20words").values["search"] == "two words")
        #expect(FormQuery.parse("phone=%2B15551234567").values["phone"] == "+15551234567")
        #expect(FormQuery.parse("a=%ZZ&b=&c").values == ["a": "%ZZ", "b": "", "c": ""])
        #expect(FormQuery.parse(nil).values.isEmpty)
    }

    @Test func repeatedNamesAreReported() {
        let parsed = FormQuery.parse("business_id=own&page=1&business_id=other&business_id=third")
        #expect(parsed.repeated == ["business_id"])
        #expect(parsed.values["business_id"] == "own")
    }
}

@Suite struct FieldReaderTests {
    func reader(_ json: JSONValue) throws -> FieldReader { try FieldReader(json) }

    @Test func oneLineFieldsRefuseControlCharactersAndMultiLineFieldsKeepLineBreaks() throws {
        let fields = try reader([
            "name": "Acme\r\nBcc: x", "notes": "line one\nline two\tend", "message": "nul\u{0}here",
            "subject": "bell\u{7}",
        ])
        #expect(fields.string("name") == nil)
        #expect(fields.string("notes", multiline: true) == "line one\nline two\tend")
        #expect(fields.string("message", multiline: true) == nil)
        #expect(fields.string("subject") == nil)
        #expect(Set(fields.errors.keys) == ["name", "message", "subject"])
    }

    @Test func idsMustHaveTheirKindsShape() throws {
        let good = ResourceID.make(.lead)
        let fields = try reader(["a": .string(good), "b": "?status=new", "c": "../leads", "d": .string(ResourceID.make(.user))])
        #expect(fields.id("a", .lead) == good)
        #expect(fields.id("b", .lead) == nil && fields.id("c", .lead) == nil && fields.id("d", .lead) == nil)
        #expect(Set(fields.errors.keys) == ["b", "c", "d"])
    }

    @Test func aMissingValueIsA422NotACrash() throws {
        let fields = try reader(["phone": nil])
        let phone = fields.phone("phone", defaultCountryCode: "1")
        try fields.finish()
        #expect(throws: APIError.self) { try fields.present(phone, "phone") }
        #expect(fields.errors["phone"] == ["is required"])
    }

    @Test func deeplyNestedJSONIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(throws: (any Error).self) { try JSONValue.decode(Array(deep.utf8)) }
        #expect(throws: (any Error).self) { try JSONValue.decode(Array(#"{"duration": 1e400}"#.utf8)) }
    }
}

@Suite struct EnvelopeTests {
    @Test func detailsAreAlwaysAnObject() {
        for details in [nil, JSONValue.null, "text", [1, 2]] as [JSONValue?] {
            let body = Envelope.failure(APIError(404, .leadNotFound, "Lead not found", details: details), requestID: "r")
            #expect(body["details"] == [:], "\(String(describing: details))")
        }
    }
}

@Suite struct SecretSeparationTests {
    @Test func equalJWTAndInternalSecretsAreRefused() {
        let same = "the-same-secret-0123456789abcdefghij"
        #expect(throws: ConfigError.self) {
            try ServiceConfig(service: .gateway, environment: ["JWT_SECRET": same, "INTERNAL_SECRET": same])
        }
        #expect((try? ServiceConfig(service: .gateway, environment: [:])) != nil)
    }
}

@Suite struct RetryPolicyTests {
    struct Failure: Error {}

    actor Tries {
        var count = 0
        func next() -> Int {
            count += 1
            return count
        }
    }

    @Test func retriesUntilDoneAndReturnsTheLastAnswer() async throws {
        let tries = Tries()
        let policy = RetryPolicy(attempts: 5, baseDelay: .milliseconds(1))
        let value = try await policy.run({ await tries.next() }) { (try? $0.get()) == 3 ? .stop : .retry(after: nil) }
        #expect(value == 3)
        let failing = Tries()
        await #expect(throws: Failure.self) {
            try await policy.run({
                _ = await failing.next()
                throw Failure()
            }) { _ in .retry(after: nil) }
        }
        #expect(await failing.count == 5)
    }

    @Test func honoursRetryAfterUpToItsCap() async throws {
        let policy = RetryPolicy(attempts: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(400))
        var start = ContinuousClock.now
        _ = try await policy.run({ 1 }) { _ in .retry(after: .milliseconds(300)) }
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        start = ContinuousClock.now
        _ = try await policy.run({ 1 }) { _ in .retry(after: .seconds(60)) }  // capped at 400 ms
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(policy.retryAfter("2") == .milliseconds(400))
        #expect(policy.retryAfter("0.1") == .milliseconds(100))
        for bad in ["1e20", "inf", "nan", "-1", "soon", nil] as [String?] {
            #expect(policy.retryAfter(bad) == (bad == "1e20" ? .milliseconds(400) : nil), "\(bad ?? "nil")")
        }
    }

    @Test func stopsBeforeItsDeadline() async throws {
        let tries = Tries()
        let policy = RetryPolicy(attempts: 50, baseDelay: .milliseconds(100), maxDelay: .milliseconds(100), deadline: .milliseconds(250))
        let start = ContinuousClock.now
        await #expect(throws: Failure.self) {
            try await policy.run({
                _ = await tries.next()
                throw Failure()
            }) { _ in .retry(after: nil) }
        }
        // The count is the proof; the time only has to stay well under the 5 s that 50 tries would take,
        // with room for a loaded machine (1.3 s was seen under the full suite).
        #expect(ContinuousClock.now - start < .seconds(4))
        #expect(await tries.count <= 6)
    }

    @Test func backoffGrowsAndStaysUnderItsCap() {
        let policy = RetryPolicy(baseDelay: .seconds(1), maxDelay: .seconds(30))
        #expect((.milliseconds(500)...(.seconds(1))).contains(policy.delay(after: 1)))
        #expect((.seconds(4)...(.seconds(8))).contains(policy.delay(after: 4)))
        #expect(policy.delay(after: 100) <= .seconds(30))
    }
}

@Suite struct JSONValueEncoderTests {
    struct Visit: Encodable {
        enum Kind: String, Encodable { case call, sms }
        var id: String
        var note: String?
        var count: Int?
        var kind: Kind
        var at: Date
        var tags: [String]
        var extra: JSONValue?
        var nested: [Visit]

        enum CodingKeys: String, CodingKey {
            case id, note, count, kind, tags, extra, nested
            case at = "started_at"
        }
    }

    @Test func nilOptionalsAreExplicitNullsAndNamesFollowTheCodingKeys() throws {
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        let inner = Visit(id: "v2", note: "hi", count: 3, kind: .sms, at: at, tags: [], extra: ["a": 1], nested: [])
        let json = try JSONValueEncoder.encode(
            Visit(id: "v1", note: nil, count: nil, kind: .call, at: at, tags: ["x", "y"], extra: nil, nested: [inner]))
        #expect(
            json == [
                "id": "v1", "note": nil, "count": nil, "kind": "call", "started_at": "2023-11-14T22:13:20Z", "tags": ["x", "y"],
                "extra": nil,
                "nested": [
                    [
                        "id": "v2", "note": "hi", "count": 3, "kind": "sms", "started_at": "2023-11-14T22:13:20Z", "tags": [], "extra": ["a": 1],
                        "nested": [],
                    ]
                ],
            ])
        // The text form keeps the nulls that `JSONEncoder` would drop.
        #expect(json.jsonString.contains("\"note\":null"))
    }
}

@Suite struct Base64URLTests {
    @Test func agreesWithFoundationOnEveryLengthAndRefusesOtherAlphabets() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == expected, "\(length)")
            #expect(Base64URL.decode(encoded) == Data(bytes), "\(length)")
        }
        for bad in ["ab=c", "a+bc", "a/bc", "ab c", "a", "abcde", "é"] { #expect(Base64URL.decode(bad) == nil, "\(bad)") }
        #expect(Base64URL.decode("QR") == nil)  // non-zero leftover bits: not a canonical encoding
        #expect(Base64URL.decode("QQ") == Data([0x41]))
    }
}

/// The byte-level JSON reader and writer against Foundation's coders, which they replaced: the same
/// documents accepted with the same values, the same refused, and output Foundation reads back. Two
/// differences are deliberate: a trailing comma is refused (it is not JSON; Foundation let it pass),
/// and of a repeated key the last value counts, as in JavaScript and Python (Foundation kept the first).
@Suite struct JSONBytesTests {
    static func foundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func acceptsAndRefusesWhatFoundationDid() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let documents = [
            "{}", "[]", " \n\t{ \"a\" : [ 1 , 2.5 , -3e2 , 1E+2, 0.000001, true , false , null ] } \r\n", "\"x\"", "0", "-0", "12",
            #"{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 é 😀"}"#, #"[[[["deep"]]]]"#, "9007199254740993",
            "1.7976931348623157e308",
            // Refused:
            "", " ", "{,}", "01", "1.", ".5", "-", "+1", "1e", "1e+", "--1", "0x10", "Infinity", "NaN",
            #""\x""#, #""\ud800""#, #""\udc00x""#, #""\u12""#, "\"a\u{1}b\"", "\"a\nb\"", "tru", "nul", "truex", "{\"a\" 1}",
            "[1 2]", "1e400", "-1e400", "{} x", "{}}", "\"", "{\"a\":}", "[", "{", "{1:2}", "'a'", deep,
        ]
        for text in documents {
            let ours = try? JSONValue.decode(Array(text.utf8))
            #expect(ours == Self.foundation(text), "\(text.prefix(60))")
        }
        #expect(try JSONValue.decode(Array(#"{"a":1,"a":2}"#.utf8)) == ["a": 2])
        for trailing in ["[1,]", #"{"a":1,}"#] {
            #expect(throws: MalformedJSON.self) { try JSONValue.decode(Array(trailing.utf8)) }
        }
        #expect(throws: JSONValue.InvalidUTF8.self) { try JSONValue.decode([0x22, 0xFF, 0x22]) }
    }

    @Test func writesWhatFoundationReadsBack() throws {
        let values: [JSONValue] = [
            ["b": 1, "a": [true, false, nil], "c": ["z": "y"]], 0.1, 1e20, -1.5e-7, 42, -7, 9_007_199_254_740_993,
            "quote \" backslash \\ slash / newline \n tab \t bell \u{7} nul \u{0} é 😀", ["": ""], [], [:],
        ]
        for value in values {
            let bytes = value.encoded()
            #expect(try JSONValue.decode(bytes) == value, "\(value)")
            #expect(try JSONDecoder().decode(JSONValue.self, from: bytes) == value, "\(value)")
        }
        #expect(JSONValue.object(["b": 1, "a": 2.5, "c": "/"]).jsonString == #"{"a":2.5,"b":1,"c":"/"}"#)
        #expect(JSONValue.number(.infinity).jsonString == "null")
    }
}
