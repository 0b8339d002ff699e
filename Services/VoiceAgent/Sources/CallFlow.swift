import CloudGreetCore
import Foundation
import Logging
import Persistence
import Providers
import ServiceClients
import ServiceKit

/// What the call flow works with: storage, the other services, and the providers. Telnyx is nil in
/// the development sandbox (no `TELNYX_API_KEY`), where commands are logged instead of sent.
struct CallFlow: Sendable {
    let calls: CallStore
    let agents: AgentStore
    let textBacks: TextBackStore
    /// `call.completed` and `call.missed`, recorded with the hang-up.
    let events: EventOutbox
    let businesses: BusinessDirectory
    let crm: CRMClient
    let telnyx: TelnyxClient?
    let retell: RetellClient?
    let sandbox: Bool
    let metrics: ServiceMetrics
    let logger: Logger
}

/// An event for a call we have no record of yet (it may still be in the inbox behind this one):
/// thrown so that the inbox tries it again later, and parks it if the call never appears.
struct CallNotYetKnown: Error {}

/// The live calls, one `CallSession` actor per call, so that the events of one call are worked one
/// at a time. Sessions hold no state of their own beyond the call's row: what must survive a
/// restart is in the database, and a session made after a restart carries on from it. A session is
/// kept only while events for its call are being worked.
actor CallSessions {
    private let flow: CallFlow
    private var sessions: [String: (session: CallSession, working: Int)] = [:]

    init(flow: CallFlow) { self.flow = flow }

    func handle(_ event: VoiceEvent) async throws {
        let key: String
        switch event {
        case .telnyx(let telnyx): key = telnyx.callControlID
        case .retell(let retell):
            guard let call = try await flow.calls.call(retellCallID: retell.retellCallID, ourID: retell.ourCallID) else {
                throw CallNotYetKnown()
            }
            key = call.callControlID
        }
        let session = sessions[key]?.session ?? CallSession(callControlID: key, flow: flow)
        sessions[key] = (session, (sessions[key]?.working ?? 0) + 1)
        defer { release(key) }
        switch event {
        case .telnyx(let telnyx): try await session.handle(telnyx)
        case .retell(let retell): try await session.handle(retell)
        }
    }

    private func release(_ key: String) {
        guard let entry = sessions[key] else { return }
        sessions[key] = entry.working > 1 ? (entry.session, entry.working - 1) : nil
    }
}

/// One call's state machine. Stages (`CallStage`): `ringing` is never left in the database (the
/// route is chosen before the row is written); `connecting_ai` answers, registers the call with
/// Retell and transfers it to Retell's SIP address, then is `with_ai`; `escalating` transfers to the
/// business's escalation phone; `announcing` answers, speaks, and hangs up when the speech ends;
/// `call.hangup` ends every stage. Each Telnyx command carries a `command_id` made from the call id
/// and the step, so a step repeated after a failure or a restart is ignored by Telnyx.
actor CallSession {
    let callControlID: String
    private let flow: CallFlow

    init(callControlID: String, flow: CallFlow) {
        self.callControlID = callControlID
        self.flow = flow
    }

    /// The last piece of work started for this call: each waits for the one before, so an event's
    /// handling is not interleaved with another's at its suspension points (actor re-entrancy).
    private var last: Task<Void, Never>?

    private func serially(_ work: @escaping @Sendable () async throws -> Void) async throws {
        let previous = last
        let current = Task {
            await previous?.value
            try await work()
        }
        last = Task { _ = try? await current.value }
        try await current.value
    }

    func handle(_ event: TelnyxCallEvent) async throws { try await serially { try await self.work(event) } }
    func handle(_ event: RetellEvent) async throws { try await serially { try await self.work(event) } }

    // MARK: Telnyx events

    private func work(_ event: TelnyxCallEvent) async throws {
        switch event.type {
        case "call.initiated", "call.answered":
            // The seed's body may start with `call.answered`: a call we do not know yet is routed either way.
            if let call = try await flow.calls.call(callControlID: callControlID) {
                if event.type == "call.initiated" { try await proceed(call) }
            } else {
                try await ring(event)
            }
        case "call.bridged":
            guard let call = try await known(), call.answeredBy == nil else { return }
            if call.stage == .escalating || call.stage == .withAI {
                let answerer: Answerer = call.stage == .escalating ? .person : .ai
                try await write(call, .fill("answered_by", .text(answerer.rawValue)))
            }
        case "call.speak.ended":
            guard let call = try await known(), call.stage == .announcing else { return }
            _ = await command("hangup", call, step: "hangup")  // a failed hang-up ends when the caller hangs up
        case "call.hangup":
            try await hangup(event)
        case "call.recording.saved":
            // Telnyx's recording of the whole call is preferred to Retell's, whichever arrives first.
            guard let call = try await known(), let url = event.recordingURL, call.recordingURL != url else { return }
            try await write(call, .set("recording_url", .text(url)))
        default:
            break  // other call events are stored and acknowledged, nothing more
        }
    }

    private func known() async throws -> Call? {
        guard let call = try await flow.calls.call(callControlID: callControlID) else { throw CallNotYetKnown() }
        return call
    }

    /// A new call: finds the business by the number called, chooses the route, records the call, and
    /// carries the route out.
    private func ring(_ event: TelnyxCallEvent) async throws {
        guard let from = event.from.flatMap({ Contact.normalizePhone($0) }), let to = event.to.flatMap({ Contact.normalizePhone($0) })
        else { return }
        let requestID = ResourceID.make(.request)
        guard let business = try await flow.businesses.business(phoneNumber: to, requestID: requestID) else {
            flow.logger.notice("call to a number no business owns", metadata: ["to": .string(Contact.maskPhone(to))])
            return
        }
        let now = Date()
        let onDuty = AgentRules.agentOnDuty(try await flow.agents.started(businessID: business.id), at: now, timeZone: business.timeZone)
        let route = AgentRules.route(onDuty: onDuty, aiAvailable: flow.retell != nil, escalationPhone: business.escalationPhone)
        let stage: CallStage
        switch route {
        case .ai: stage = .connectingAI
        case .escalate: stage = .escalating
        case .announce: stage = .announcing
        }
        let call = Call(
            id: ResourceID.make(.call), businessID: business.id, agentID: stage == .connectingAI ? onDuty?.id : nil, leadID: nil, phone: from,
            direction: .inbound,
            duration: nil, status: .inProgress, recordingURL: nil, transcript: nil, summary: nil, outcome: nil, createdAt: now,
            endedAt: nil, toNumber: to, stage: stage, callControlID: callControlID, retellCallID: nil, answeredBy: nil,
            hangupCause: nil, sentiment: nil, analysis: nil, appointmentID: nil, bookingError: nil, error: nil, updatedAt: now)
        let stored = try await flow.calls.insertOnce(call)
        try await proceed(stored.call, business: business)
    }

    /// Carries out the call's stage. Safe to repeat: commands repeat under the same `command_id`,
    /// and the call is registered with Retell only once (its id is saved before the transfer).
    private func proceed(_ original: Call, business known: BusinessInfo? = nil) async throws {
        var call = original
        let requestID = ResourceID.make(.request)
        let business: BusinessInfo
        if let known { business = known } else { business = try await flow.businesses.business(call.businessID, requestID: requestID) }
        switch call.stage {
        case .connectingAI:
            guard await command("answer", call, step: "answer") else { return try await fail(&call, "Telnyx did not answer the call") }
            if call.retellCallID == nil {
                do {
                    let retellCallID = try await register(call)
                    call.retellCallID = retellCallID
                    try await write(call, .set("retell_call_id", .text(retellCallID)))
                } catch {
                    flow.logger.warning("Retell did not take the call", metadata: ["call_id": .string(call.id)])
                    await countCommand("retell", "register-phone-call", ok: false)
                    return try await fallBack(&call, business: business)
                }
            }
            guard let retellCallID = call.retellCallID,
                await command("transfer", call, step: "transfer", ["to": .string(RetellClient.sipAddress(callID: retellCallID))])
            else { return try await fail(&call, "Telnyx did not transfer the call to the AI") }
            call.stage = .withAI
            call.answeredBy = .ai
            try await write(call, .set("stage", .text(CallStage.withAI.rawValue)), .set("answered_by", .text(Answerer.ai.rawValue)))
        case .escalating:
            guard let phone = business.escalationPhone,
                await command("transfer", call, step: "escalate", ["to": .string(phone), "from": JSONValue(call.toNumber)])
            else { return try await fail(&call, "Telnyx did not transfer the call to the escalation phone") }
        case .announcing:
            guard await command("answer", call, step: "answer") else { return try await fail(&call, "Telnyx did not answer the call") }
            let message = AgentRules.unavailableMessage(businessName: business.name)
            guard await command("speak", call, step: "speak", ["payload": .string(message), "voice": "female", "language": "en-US"])
            else { return try await fail(&call, "Telnyx did not play the message") }
        case .ringing, .withAI, .ended:
            break
        }
        await ensureLead(&call, required: false)
    }

    /// The AI could not take an answered call: a person if there is one, else the message.
    private func fallBack(_ call: inout Call, business: BusinessInfo) async throws {
        call.stage = business.escalationPhone == nil ? .announcing : .escalating
        try await write(call, .set("stage", .text(call.stage.rawValue)))
        try await proceed(call, business: business)
    }

    private func register(_ call: Call) async throws -> String {
        guard let retell = flow.retell, let agentID = call.agentID,
            let agent = try await flow.agents.agent(id: agentID, businessID: call.businessID), let retellAgent = agent.retellAgentID
        else { throw ProviderError("the agent has no Retell agent") }
        let id = try await retell.registerPhoneCall(
            agentID: retellAgent, from: call.phone, to: call.toNumber ?? "",
            metadata: ["call_id": .string(call.id), "business_id": .string(call.businessID)])
        await countCommand("retell", "register-phone-call", ok: true)
        return id
    }

    private func hangup(_ event: TelnyxCallEvent) async throws {
        guard var call = try await known() else { return }
        if call.stage != .ended {
            let end = event.endTime ?? event.occurredAt ?? Date()
            let start = event.startTime ?? call.createdAt
            call.endedAt = end
            call.duration = max(0, Int(end.timeIntervalSince(start).rounded()))
            call.hangupCause = event.hangupCause
            if call.status != .failed { call.status = call.answeredBy == nil ? .missed : .completed }
            call.stage = .ended
            let ended = call
            try await flow.calls.db.transaction { [flow] db in
                try await flow.calls.update(
                    ended.id,
                    [
                        .set("ended_at", SQLValue(end)), .set("duration", SQLValue(ended.duration)),
                        .set("hangup_cause", SQLValue(ended.hangupCause)), .set("status", .text(ended.status.rawValue)),
                        .set("stage", .text(CallStage.ended.rawValue)),
                    ], on: db)
                if ended.status != .failed {
                    try await flow.events.record(
                        ended.status == .missed ? "call.missed" : "call.completed", businessID: ended.businessID, resourceID: ended.id,
                        data: ended.json, on: db)
                }
            }
            flow.metrics.increment("calls_total", labels: ["outcome": call.status.rawValue])
        }
        // After the end is saved, so that identity or crm being down never keeps a call open; both
        // steps are idempotent and the event is retried until they are done. The text first: it
        // needs only identity, and must not wait on crm.
        if call.status == .missed { try await textBack(call) }
        await ensureLead(&call, required: true)
        if call.leadID == nil { throw ServiceCallError.unavailable(.crm) }
    }

    /// Queues the missed-call text when the business wants it (at most one per caller per 12 hours).
    private func textBack(_ call: Call) async throws {
        let business = try await flow.businesses.business(call.businessID, requestID: ResourceID.make(.request))
        guard let text = business.missedCallText else { return }
        if try await flow.textBacks.enqueue(call: call, text: text) {
            flow.logger.info("missed-call text queued", metadata: ["call_id": .string(call.id)])
        }
    }

    /// Links the caller's lead (created with source `call` if new). Best effort while the call is
    /// live; at hangup the event waits for crm.
    private func ensureLead(_ call: inout Call, required: Bool) async {
        guard call.leadID == nil else { return }
        do {
            let leadID = try await flow.crm.upsertLead(call.businessID, call.phone, "call", ResourceID.make(.request)).lead.id
            call.leadID = leadID
            try await write(call, .fill("lead_id", .text(leadID)))
        } catch {
            flow.logger.warning("caller not yet linked to a lead", metadata: ["call_id": .string(call.id), "final": .stringConvertible(required)])
        }
    }

    // MARK: Retell events

    private func work(_ event: RetellEvent) async throws {
        guard var call = try await known() else { return }
        // Retell's recording and duration only where Telnyx gave none; its analysis as it says.
        var writes: [CallStore.Write] = [
            .fill("retell_call_id", .text(event.retellCallID)), .fill("answered_by", .text(Answerer.ai.rawValue)),
            .fill("recording_url", SQLValue(event.recordingURL)), .fill("duration", SQLValue(event.durationSeconds)),
        ]
        if let transcript = event.transcript { writes.append(.set("transcript", .text(transcript))) }
        if event.kind == .analyzed {
            if let summary = event.summary { writes.append(.set("summary", .text(summary))) }
            if let sentiment = event.sentiment { writes.append(.set("sentiment", .text(sentiment))) }
            if let outcome = event.outcome { writes.append(.set("outcome", .text(outcome))) }
            if let analysis = event.analysis { writes.append(.set("analysis", SQLValue(analysis))) }
        }
        try await flow.calls.update(call.id, writes)
        if event.kind == .analyzed, event.outcome == "appointment_scheduled", let appointment = event.appointment,
            call.appointmentID == nil, call.bookingError == nil
        {
            try await book(&call, appointment)
        }
    }

    /// Books what the caller agreed to, under the call's id, so a repeated event books once. A taken
    /// slot or closed hours is kept on the call as `booking_error`; crm being down is retried.
    private func book(_ call: inout Call, _ appointment: RetellEvent.Appointment) async throws {
        await ensureLead(&call, required: true)
        guard let leadID = call.leadID else { throw ServiceCallError.unavailable(.crm) }
        do {
            let booked = try await flow.crm.book(
                .init(
                    businessID: call.businessID, leadID: leadID, scheduledAt: appointment.scheduledAt,
                    duration: appointment.duration ?? 30, notes: appointment.notes, reference: call.id),
                ResourceID.make(.request))
            try await write(call, .set("appointment_id", .text(booked.id)))
        } catch ServiceCallError.conflict {
            try await write(call, .set("booking_error", "the time was already taken"))
        } catch ServiceCallError.validation(let fields) {
            let problem = fields.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.joined(separator: ", "))" }.joined(separator: "; ")
            try await write(call, .set("booking_error", .text(problem)))
        } catch ServiceCallError.notFound {
            try await write(call, .set("booking_error", "the caller's lead no longer exists"))
        }
    }

    // MARK: helpers

    private func write(_ call: Call, _ writes: CallStore.Write...) async throws {
        try await flow.calls.update(call.id, writes)
    }

    private func fail(_ call: inout Call, _ reason: String) async throws {
        call.status = .failed
        call.error = reason
        try await write(call, .set("status", .text(CallStatus.failed.rawValue)), .set("error", .text(reason)))
        await ensureLead(&call, required: false)
    }

    /// Sends a Telnyx command for the call; false when Telnyx refused it or stayed unreachable after
    /// retries. In the development sandbox the command is only logged.
    private func command(_ action: String, _ call: Call, step: String, _ parameters: [String: JSONValue] = [:]) async -> Bool {
        guard let telnyx = flow.telnyx else {
            flow.logger.info("sandbox: call command not sent", metadata: ["action": .string(action), "call_id": .string(call.id)])
            return flow.sandbox
        }
        do {
            try await telnyx.callCommand(action, callControlID: callControlID, commandID: "\(call.id)-\(step)", parameters: parameters)
            await countCommand("telnyx", action, ok: true)
            return true
        } catch {
            flow.logger.warning("call command failed", metadata: ["action": .string(action), "call_id": .string(call.id)])
            await countCommand("telnyx", action, ok: false)
            return false
        }
    }

    private func countCommand(_ provider: String, _ command: String, ok: Bool) async {
        flow.metrics.increment(
            "provider_commands_total", labels: ["provider": provider, "command": command, "result": ok ? "ok" : "failed"])
    }
}
