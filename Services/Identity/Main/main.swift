import Identity
import ServiceKit

await ServiceMain.run(.identity) { try await IdentityService.application(config: $0) }
