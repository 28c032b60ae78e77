import Foundation

/// The JSON encoding of header.json and summary.json.
///
/// Dates are ISO 8601 strings with milliseconds so a person can read them; `TraceHeader` and
/// `TraceSummary` round their dates to milliseconds so a value survives a write and a read.
enum TraceJSON {
  static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .custom { date, encoder in
      var container = encoder.singleValueContainer()
      try container.encode(formatter().string(from: date))
    }
    return encoder
  }

  static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .custom { decoder in
      let container = try decoder.singleValueContainer()
      let text = try container.decode(String.self)
      guard let date = formatter().date(from: text) else {
        throw DecodingError.dataCorruptedError(
          in: container, debugDescription: "'\(text)' is not an ISO 8601 date with milliseconds")
      }
      return date
    }
    return decoder
  }

  /// Rounds to the millisecond, the precision of the JSON dates.
  static func roundedToMilliseconds(_ date: Date) -> Date {
    Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
  }

  // ISO8601DateFormatter is not Sendable; a fresh one per call keeps this thread-safe, and
  // these files are written twice per recording.
  private static func formatter() -> ISO8601DateFormatter {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
  }

  /// Writes `value` to `path` through a temporary file and a rename, so a reader sees either
  /// no file or a whole one.
  static func write<T: Encodable>(_ value: T, to path: String) throws {
    let data = try encoder().encode(value) + Data("\n".utf8)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  }
}
