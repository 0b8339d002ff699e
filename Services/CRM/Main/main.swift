import CRM
import ServiceKit

await ServiceMain.run(.crm) { try await CRMService.application(config: $0) }
