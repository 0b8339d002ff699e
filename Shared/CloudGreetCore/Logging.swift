import Foundation
import Logging

/// One line per event, as a JSON object (time, level, service, message and metadata, request_id
/// among them) or as plain text. Unlike swift-log's `StreamLogHandler`, which formats its metadata
/// again each time a key is set (several per request), metadata is formatted only when a line is
/// written.
public struct LineLogHandler: LogHandler {
    public enum Format: Sendable { case json, text }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let format: Format

    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let time = Timestamp.format(Date())
        var line: Data
        switch format {
        case .json:
            var object: [String: JSONValue] = [
                "time": .string(time), "level": .string(event.level.rawValue),
                "service": .string(label), "message": .string(event.message.description),
            ]
            for (key, value) in all { object[key] = .string(value.description) }
            line = JSONValue.object(object).encoded()
        case .text:
            let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            line = Data("\(time) \(event.level) \(label):\(fields) \(event.message)".utf8)
        }
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(line)
    }
}

public enum LogSetup {
    /// Bootstraps swift-log once per process, as JSON or plain text.
    public static func bootstrap(format: String, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, format: format == "json" ? .json : .text)
            handler.logLevel = level
            return handler
        }
    }
}
