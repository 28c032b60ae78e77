/// Memory a code point's registers point to, and the memory its words point to in turn: part
/// of the point's signature with the registers, `CodePointMemory` and the `StackSignature`.
///
/// An interpreter runs the same code with the same registers and the same C stack at every
/// pass of a loop it interprets, since the loop's state lives in heap objects: CPython's
/// `str(k * i)` in a `for k in range(...)` loop reaches `PyObject_Str` with the object
/// `k * i` at one recycled address each time. The registers, the memory the next
/// instructions use and the stack all repeat; the objects they point to do not (the int's
/// digits, the frame's instruction pointer, a pool's free count). Replay matched such a point
/// at the first pass and diverged much later, where the heap's layout had drifted.
///
/// Chunks are taken where each register points and just before (an interpreter's value
/// stack lies below its stack pointer: CPython's `for i in range(...)` keeps the iterator,
/// whose fields change at every pass, there), and where the words above rsp point.
///
/// Only the recorder decides which memory counts (private, writable, away from where signal
/// frames come and go); replay reads back the same addresses.
public enum ReachedMemory {
  /// Bytes taken where a pointer points (from the 8-byte word it falls in).
  public static let chunkSize = 32
  /// Bytes taken where a register points, and before (an interpreter's frame in a register:
  /// CPython 3.11 keeps a frame's local variables from 0x48 bytes into it, and its value
  /// stack below the stack pointer it keeps in another; a preemption in its eval loop matched
  /// a pass two before the recorded one, which differed only 0x58 bytes from the one and
  /// 0x40 bytes below the other).
  public static let registerChunkSize = 128
  public static let registerChunkBefore = 64
  /// At most this many chunks a code point.
  public static let chunkLimit = 128
  /// Indices into `Registers.words` of the registers followed: the general registers but rsp
  /// (the stack signature covers the memory above it).
  public static let followedRegisters = Array(0...14)

  /// The chunks for `registers` and the words of `stack` (the bytes above rsp, where a
  /// caller's registers are saved: an interpreter's frame pointer often is only there):
  /// `readable(address, wanted)` says how many bytes from an address (at most `wanted`) may
  /// be taken, 0 when none; `read` reads them. The words of those chunks are followed once
  /// more, those reached from registers first.
  public static func take(
    at registers: Registers, stack: [UInt8] = [], readable: (UInt64, Int) -> Int, read: (UInt64, Int) -> [UInt8]?
  ) -> [MemoryChunk] {
    var chunks: [MemoryChunk] = []
    var taken: Set<UInt64> = []
    func follow(_ pointer: UInt64, size: Int = chunkSize, before: Bool = false) -> MemoryChunk? {
      let address = (pointer & ~7) &- (before ? UInt64(size) : 0)
      guard chunks.count < chunkLimit, !taken.contains(address) else { return nil }
      let count = readable(address, size) & ~7
      guard count >= 8, let bytes = read(address, count), bytes.count == count else { return nil }
      taken.insert(address)
      let chunk = MemoryChunk(address: address, bytes: bytes)
      chunks.append(chunk)
      return chunk
    }
    var first: [MemoryChunk] = []
    for index in followedRegisters {
      if let chunk = follow(registers.words[index], size: registerChunkSize) { first.append(chunk) }
    }
    // An interpreter's stack pointer points just past the values it works on (CPython's
    // `stack_pointer`: the range iterator of a `for` loop sits below it).
    for index in followedRegisters {
      if let chunk = follow(registers.words[index], size: registerChunkBefore, before: true) { first.append(chunk) }
    }
    for offset in stride(from: 0, to: stack.count - 7, by: 8) {
      if let chunk = follow(word(stack, at: offset)) { first.append(chunk) }
    }
    for chunk in first {
      for offset in stride(from: 0, to: chunk.bytes.count, by: 8) {
        _ = follow(word(chunk.bytes, at: offset))
      }
    }
    return chunks
  }

  /// The little-endian word at `offset` of `bytes`.
  public static func word(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    precondition(offset >= 0 && offset + 8 <= bytes.count)
    return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
  }
}
