import ServiceKit
import VoiceAgent

await ServiceMain.run(.voiceAgent) { try await VoiceAgentService.application(config: $0) }
