import Foundation

/// Phone and email normalisation (API-CONTRACT.md section 1).
public enum Contact {
    /// Returns E.164 (`+15551234567`) for E.164 input or a national number read with `defaultCountryCode`.
    public static func normalizePhone(_ raw: String, defaultCountryCode: String = "1") -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        let allowedPunctuation = Set(" -().".unicodeScalars)
        var digits = ""
        for (offset, scalar) in trimmed.unicodeScalars.enumerated() {
            if scalar == "+" && offset == 0 { continue }
            if ("0"..."9").contains(scalar) {
                digits.unicodeScalars.append(scalar)
                continue
            }
            if allowedPunctuation.contains(scalar) { continue }
            return nil
        }
        if trimmed.hasPrefix("+") {
            guard (8...15).contains(digits.count), !digits.hasPrefix("0") else { return nil }
            return "+" + digits
        }
        let country = defaultCountryCode
        if country == "1" {
            // North American numbering plan: 10 digits, optionally with the leading 1.
            if digits.count == 11, digits.hasPrefix("1") { digits.removeFirst() }
            guard digits.count == 10, let first = digits.first, first != "0", first != "1" else { return nil }
            return "+1" + digits
        }
        if digits.hasPrefix("0") { digits.removeFirst() }  // national trunk prefix
        let full = country + digits
        guard (8...15).contains(full.count), digits.count >= 4 else { return nil }
        return "+" + full
    }

    public static func normalizeEmail(_ raw: String) -> String? {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard email.count <= 254 else { return nil }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last,
            !local.isEmpty, local.count <= 64, domain.contains("."),
            !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..")
        else { return nil }
        let forbidden = Set(" \t\r\n<>(),;:\\\"[]".unicodeScalars)
        guard !email.unicodeScalars.contains(where: { forbidden.contains($0) }) else { return nil }
        return email
    }

    /// For logs: keeps the last two digits only.
    public static func maskPhone(_ phone: String) -> String {
        phone.count <= 4 ? "***" : String(repeating: "*", count: phone.count - 2) + phone.suffix(2)
    }
}
