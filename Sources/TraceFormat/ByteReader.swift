/// Reads what `ByteWriter` wrote, checking bounds: a record that runs past its buffer is
/// reported as `ByteReader.Overrun` so the caller can name the stream and frame.
struct ByteReader {
  /// Thrown when a read needs more bytes than remain, or a value is out of range.
  struct Overrun: Error {
    var reason: String
    /// The stream at fault when it is not the one being read (a chunk runs past `data`).
    var stream: String? = nil
  }

  let bytes: [UInt8]
  private(set) var position: Int

  init(_ bytes: [UInt8], position: Int = 0) {
    self.bytes = bytes
    self.position = position
  }

  var remaining: Int { bytes.count - position }
  var isAtEnd: Bool { position == bytes.count }

  mutating func readUInt8() throws(Overrun) -> UInt8 {
    try need(1, "a byte")
    defer { position += 1 }
    return bytes[position]
  }

  mutating func readBool() throws(Overrun) -> Bool {
    switch try readUInt8() {
    case 0: return false
    case 1: return true
    case let other: throw Overrun(reason: "a boolean byte is \(other), expected 0 or 1")
    }
  }

  mutating func readUInt32() throws(Overrun) -> UInt32 { try readInteger(UInt32.self) }
  mutating func readInt32() throws(Overrun) -> Int32 { try readInteger(Int32.self) }
  mutating func readUInt64() throws(Overrun) -> UInt64 { try readInteger(UInt64.self) }
  mutating func readInt64() throws(Overrun) -> Int64 { try readInteger(Int64.self) }

  mutating func readString() throws(Overrun) -> String {
    let count = Int(try readUInt32())
    try need(count, "a string of \(count) bytes")
    defer { position += count }
    return String(decoding: bytes[position..<position + count], as: UTF8.self)
  }

  mutating func readCounted() throws(Overrun) -> [UInt8] {
    try readRaw(count: Int(try readUInt32()))
  }

  mutating func readRaw(count: Int) throws(Overrun) -> [UInt8] {
    try need(count, "\(count) bytes")
    defer { position += count }
    return Array(bytes[position..<position + count])
  }

  /// A count of items each at least `minimumSize` bytes long; rejecting a count that cannot
  /// fit keeps a corrupted count from allocating gigabytes before the overrun is noticed.
  mutating func readCount(minimumSize: Int) throws(Overrun) -> Int {
    let count = Int(try readUInt32())
    if count * max(minimumSize, 1) > remaining {
      throw Overrun(reason: "a count of \(count) items does not fit in \(remaining) bytes")
    }
    return count
  }

  mutating func skip(_ count: Int) throws(Overrun) {
    try need(count, "\(count) bytes")
    position += count
  }

  private mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws(Overrun) -> T {
    let size = MemoryLayout<T>.size
    try need(size, "a \(size)-byte integer")
    var value: T = 0
    withUnsafeMutableBytes(of: &value) { raw in
      for i in 0..<size { raw[i] = bytes[position + i] }
    }
    position += size
    return T(littleEndian: value)
  }

  /// (`what` is made only for the error: every integer read passes here.)
  private func need(_ count: Int, _ what: @autoclosure () -> String) throws(Overrun) {
    if count < 0 || count > remaining {
      throw Overrun(reason: "needs \(what()) at offset \(position) but only \(remaining) remain")
    }
  }
}
