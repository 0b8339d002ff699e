import ServiceKit
import VoiceAgent

ServiceMain.run(.voiceAgent) { try await VoiceAgentService.application(config: $0) }
