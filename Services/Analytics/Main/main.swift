import Analytics
import ServiceKit

await ServiceMain.run(.analytics) { try await AnalyticsService.application(config: $0) }
