import Messaging
import ServiceKit

ServiceMain.run(.messaging) { try await MessagingService.application(config: $0) }
