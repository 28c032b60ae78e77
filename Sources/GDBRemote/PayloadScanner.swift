/// A cursor over one packet payload, for the parsers in `GDBRequest+Parsing`.
///
/// Every failure goes through `fail`, so each error names the packet and quotes it.
struct PayloadScanner {
  let bytes: [UInt8]
  let packetName: String
  var index: Int

  init(_ bytes: [UInt8], packetName: String, skipping prefixLength: Int) {
    self.bytes = bytes
    self.packetName = packetName
    self.index = min(prefixLength, bytes.count)
  }

  var isAtEnd: Bool { index >= bytes.count }

  var rest: ArraySlice<UInt8> { bytes[index...] }

  var restString: String { String(decoding: rest, as: UTF8.self) }

  func fail(_ expectation: String) -> GDBProtocolError {
    GDBProtocolError(packetName: packetName, payload: quoted(bytes), expectation: expectation)
  }

  func peek() -> UInt8? { isAtEnd ? nil : bytes[index] }

  /// Consumes `character` if it is next.
  mutating func skip(_ character: Character) -> Bool {
    guard let ascii = character.asciiValue, peek() == ascii else { return false }
    index += 1
    return true
  }

  /// `what` continues the message after the character: `"<length>' after the address"`.
  mutating func expect(_ character: Character, _ what: String) throws(GDBProtocolError) {
    guard skip(character) else { throw fail("expected '\(character)\(what)") }
  }

  mutating func expect(_ text: String) throws(GDBProtocolError) {
    for character in text {
      guard skip(character) else { throw fail("expected '\(text)'") }
    }
  }

  /// A hex number of at most 64 bits; `what` names it in the error.
  mutating func hexNumber(_ what: String) throws(GDBProtocolError) -> UInt64 {
    var value: UInt64 = 0
    var digits = 0
    while let byte = peek(), let digit = hexValue(byte) {
      guard value >> 60 == 0 else { throw fail("\(what) does not fit in 64 bits") }
      value = value << 4 | UInt64(digit)
      digits += 1
      index += 1
    }
    guard digits > 0 else { throw fail("expected \(what) in hex") }
    return value
  }

  /// A hex number that must fit an `Int` and be small enough to allocate for.
  mutating func hexCount(_ what: String, limit: Int = 1 << 30) throws(GDBProtocolError) -> Int {
    let value = try hexNumber(what)
    guard value <= UInt64(limit) else { throw fail("\(what) \(value) is larger than \(limit)") }
    return Int(value)
  }

  /// Pairs of hex digits up to the end or `terminator`.
  mutating func hexBytes(_ what: String, until terminator: Character? = nil) throws(GDBProtocolError) -> [UInt8] {
    var result: [UInt8] = []
    let stop = terminator?.asciiValue
    while let byte = peek(), byte != stop {
      guard index + 1 < bytes.count, let high = hexValue(byte), let low = hexValue(bytes[index + 1])
      else { throw fail("expected \(what) as pairs of hex digits") }
      result.append(high << 4 | low)
      index += 2
    }
    return result
  }

  /// Exactly `count` bytes as pairs of hex digits.
  mutating func hexBytes(_ what: String, count: Int) throws(GDBProtocolError) -> [UInt8] {
    var result: [UInt8] = []
    for _ in 0..<count {
      guard index + 1 < bytes.count, let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1])
      else { throw fail("expected \(count) bytes of \(what) as pairs of hex digits") }
      result.append(high << 4 | low)
      index += 2
    }
    return result
  }

  /// Bytes up to `terminator`, which is consumed; nil (and nothing consumed) if the
  /// terminator never comes.
  mutating func field(until terminator: Character) -> ArraySlice<UInt8>? {
    guard let stop = terminator.asciiValue, let end = rest.firstIndex(of: stop) else { return nil }
    let field = bytes[index..<end]
    index = end + 1
    return field
  }

  mutating func expectEnd(after what: String) throws(GDBProtocolError) {
    guard isAtEnd else { throw fail("unexpected \(quoted(rest)) after \(what)") }
  }
}
