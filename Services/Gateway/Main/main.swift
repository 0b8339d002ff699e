import Gateway
import ServiceKit

ServiceMain.run(.gateway) { try await GatewayService.application(config: $0) }
