/// Appends little-endian integers, length-prefixed strings and raw bytes to a growing buffer.
///
/// The trace format is little-endian on every host; x86-64 is little-endian too, so
/// `littleEndian` costs nothing here, but it keeps the byte order explicit in the code.
struct ByteWriter {
  private(set) var bytes: [UInt8] = []

  init(reservingCapacity capacity: Int = 0) {
    bytes.reserveCapacity(capacity)
  }

  var count: Int { bytes.count }

  mutating func removeAll(keepingCapacity: Bool = true) {
    bytes.removeAll(keepingCapacity: keepingCapacity)
  }

  mutating func write(_ value: UInt8) { bytes.append(value) }
  mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }
  mutating func write(_ value: UInt32) { appendRaw(value.littleEndian) }
  mutating func write(_ value: Int32) { appendRaw(value.littleEndian) }
  mutating func write(_ value: UInt64) { appendRaw(value.littleEndian) }
  mutating func write(_ value: Int64) { appendRaw(value.littleEndian) }

  /// `u32 byteCount | UTF-8 bytes`.
  mutating func write(_ string: String) {
    var string = string
    string.withUTF8 { utf8 in
      write(UInt32(utf8.count))
      bytes.append(contentsOf: utf8)
    }
  }

  /// `u32 count | bytes`.
  mutating func writeCounted(_ data: [UInt8]) {
    write(UInt32(data.count))
    bytes.append(contentsOf: data)
  }

  /// Bytes with no length prefix: the reader must know the count from elsewhere.
  mutating func writeRaw(_ data: [UInt8]) { bytes.append(contentsOf: data) }

  /// Overwrites a u32 written earlier, for a length known only after its payload.
  mutating func patch(_ value: UInt32, at offset: Int) {
    withUnsafeBytes(of: value.littleEndian) { raw in
      for i in 0..<4 { bytes[offset + i] = raw[i] }
    }
  }

  private mutating func appendRaw<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
  }
}
