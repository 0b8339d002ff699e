import VoiceAgent
import ServiceKit

await ServiceMain.run(.voiceAgent) { try await VoiceAgentService.application(config: $0) }
