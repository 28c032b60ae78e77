import Foundation
import Glibc

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
      try container.encode(ISO8601.string(from: date))
    }
    return encoder
  }

  static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .custom { decoder in
      let container = try decoder.singleValueContainer()
      let text = try container.decode(String.self)
      guard let date = ISO8601.date(from: text) else {
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

  /// Writes `value` to `path` through a temporary file and a rename, so a reader sees either
  /// no file or a whole one.
  static func write<T: Encodable>(_ value: T, to path: String) throws {
    let data = try encoder().encode(value) + Data("\n".utf8)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  }
}

/// UTC dates as ISO 8601 text with milliseconds (`2026-11-24T09:30:00.250Z`), by hand:
/// ISO8601DateFormatter loads ICU, which cost every record and replay ~5 ms.
public enum ISO8601 {
  public static func string(from date: Date) -> String {
    let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
    let fraction = Int(milliseconds - Int64(seconds) * 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let millis = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
  }

  /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; nil for anything else.
  public static func date(from text: String) -> Date? {
    let bytes = Array(text.utf8)
    func number(_ range: Range<Int>) -> Int32? {
      guard range.upperBound <= bytes.count else { return nil }
      var value: Int32 = 0
      for byte in bytes[range] {
        guard byte >= 48 && byte <= 57 else { return nil }
        value = value * 10 + Int32(byte - 48)
      }
      return value
    }
    guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58,
      bytes.last == 90, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
      let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
      (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
    else { return nil }
    var fraction = 0.0
    if bytes.count > 20 {
      guard bytes[19] == 46, bytes.count > 21 else { return nil }
      let digits = bytes[20..<(bytes.count - 1)]
      guard digits.count <= 9, let value = number(20..<(bytes.count - 1)) else { return nil }
      fraction = Double(value) / pow(10, Double(digits.count))
    } else {
      guard bytes[19] == 90 else { return nil }
    }
    var parts = tm()
    parts.tm_year = year - 1900
    parts.tm_mon = month - 1
    parts.tm_mday = day
    parts.tm_hour = hour
    parts.tm_min = minute
    parts.tm_sec = second
    return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
  }
}
