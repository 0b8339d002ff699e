import Messaging
import ServiceKit

await ServiceMain.run(.messaging) { try await MessagingService.application(config: $0) }
