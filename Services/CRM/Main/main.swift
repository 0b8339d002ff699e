import CRM
import ServiceKit

ServiceMain.run(.crm) { try await CRMService.application(config: $0) }
