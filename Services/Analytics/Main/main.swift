import Analytics
import ServiceKit

ServiceMain.run(.analytics) { try await AnalyticsService.application(config: $0) }
