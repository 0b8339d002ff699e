import Identity
import ServiceKit

ServiceMain.run(.identity) { try await IdentityService.application(config: $0) }
