import Gateway
import ServiceKit

await ServiceMain.run(.gateway) { try await GatewayService.application(config: $0) }
