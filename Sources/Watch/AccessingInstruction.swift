import CCapstone
import Symbols

/// The instruction that made a data access. x86 reports a data watchpoint after the access,
/// with rip at the next instruction (often the next source line); the one before is found by
/// decoding forwards from the start of the function holding rip, since x86 code cannot be
/// decoded backwards with certainty.
enum AccessingInstruction {
  /// Decoding more than this is not worth it: the pc after the access is reported instead.
  static let longestFunction: UInt64 = 1 << 16

  /// The address of the instruction that ends at `rip`, or nil when it cannot be told.
  static func before(_ rip: UInt64, symbolizer: Symbolizer, read: (UInt64, Int) -> [UInt8]?) -> UInt64? {
    if let known = symbolizer.pcMemo[rip] { return known }
    let found = decode(rip, symbolizer: symbolizer, read: read)
    symbolizer.pcMemo[rip] = found
    return found
  }

  private static func decode(_ rip: UInt64, symbolizer: Symbolizer, read: (UInt64, Int) -> [UInt8]?) -> UInt64? {
    guard let start = symbolizer.functionStart(of: rip), start < rip, rip - start <= longestFunction,
      let code = read(start, Int(rip - start))
    else { return nil }
    var at = 0
    var instruction = rewind_instruction()
    while at < code.count {
      let decoded = code.withUnsafeBufferPointer { buffer in
        rewind_decode_instruction(buffer.baseAddress! + at, buffer.count - at, start + UInt64(at), &instruction)
      }
      guard decoded != 0, instruction.size > 0 else { return nil }
      if at + Int(instruction.size) == code.count { return start + UInt64(at) }
      at += Int(instruction.size)
    }
    return nil
  }
}

/// Where a hit happened: the accessing instruction and the symbolized backtrace from it.
public struct HitLocation: Sendable {
  public var pc: UInt64
  public var frames: [SourceFrame]

  /// The hit of thread `tid` trapped with `registers` (27 user_regs_struct words);
  /// `refresh` reports the process's modules again when code outside them shows up (a
  /// library loaded since).
  public init(
    symbolizer: Symbolizer, tid: Int32, registers: [UInt64], depth: Int, read: (UInt64, Int) -> [UInt8]?,
    refresh: () -> Void
  ) {
    let rip = registers.count > 16 ? registers[16] : 0
    var accessing = AccessingInstruction.before(rip, symbolizer: symbolizer, read: read)
    frames = symbolizer.symbolizedBacktrace(tid: tid, registers: registers, depth: depth, firstPC: accessing)
    if frames.contains(where: { $0.module == nil }) {
      refresh()
      accessing = AccessingInstruction.before(rip, symbolizer: symbolizer, read: read)
      frames = symbolizer.symbolizedBacktrace(tid: tid, registers: registers, depth: depth, firstPC: accessing)
    }
    pc = accessing ?? rip
  }

  /// Whether the accessing function (or one inlined into it where the access is) is one of
  /// `ignored`.
  public func isIn(_ ignored: Set<String>) -> Bool {
    guard !ignored.isEmpty else { return false }
    let accessing = frames.prefix { $0.inlined } + frames.drop { $0.inlined }.prefix(1)
    return accessing.contains { $0.function.map(ignored.contains) ?? false }
  }
}

extension HitLocation {
  public init(pc: UInt64, frames: [SourceFrame]) {
    self.pc = pc
    self.frames = frames
  }
}
