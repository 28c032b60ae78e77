import CCapstone

/// The code of a function as a linear decode from its entry (up to 4 KiB, or the first byte
/// that does not decode): where it may return, and where it jumps out of itself (tail
/// calls). A linear decode does not know where the function ends, so it runs on into the
/// ones that follow; callers rank what it finds by the distance from the entry.
struct FunctionCode {
  let entry: UInt64
  /// `ret`, `repz ret`, `bnd ret` (popped 0) and `ret imm16` (popped: the immediate).
  private(set) var returns: [(address: UInt64, popped: UInt64)] = []
  /// Every direct `jmp`, in address order.
  private(set) var directJumps: [(address: UInt64, target: UInt64)] = []
  /// Direct `jmp`s whose target lies outside the bytes decoded (tail calls, most likely).
  var outwardJumps: [(address: UInt64, target: UInt64)] { directJumps.filter { $0.target < entry || $0.target >= decodedEnd } }
  /// Where the linear decode stopped.
  private(set) var decodedEnd: UInt64 = 0

  /// Nil when no code can be read at `entry`. `read(address, count)` reads tracee memory.
  init?(at entry: UInt64, read: (UInt64, Int) -> [UInt8]?) {
    self.entry = entry
    for span in [4096, 1024, 256] {
      guard let bytes = read(entry, span), bytes.count == span else { continue }
      decode(bytes)
      return
    }
    return nil
  }

  private mutating func decode(_ bytes: [UInt8]) {
    var offset = 0
    defer { decodedEnd = entry + UInt64(offset) }
    while offset < bytes.count {
      var decoded = rewind_instruction()
      let address = entry + UInt64(offset)
      let ok = bytes[offset...].withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress, $0.count, address, &decoded) }
      guard ok != 0, decoded.size > 0, Int32(decoded.kind) != Int32(REWIND_INSTRUCTION_INVALID) else { break }
      let first = bytes[offset], size = Int(decoded.size)
      if first == 0xc3 || (first == 0xf3 || first == 0xf2) && size == 2 && bytes[offset + 1] == 0xc3 {
        returns.append((address, 0))
      } else if first == 0xc2 && size == 3 {
        returns.append((address, UInt64(bytes[offset + 1]) | UInt64(bytes[offset + 2]) << 8))
      } else if Int32(decoded.kind) == Int32(REWIND_INSTRUCTION_JUMP) {
        directJumps.append((address, decoded.target))
      }
      offset += size
    }
  }
}
