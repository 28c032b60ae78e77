import TraceFormat

/// A `rep movs` or `rep stos` at a code point. The CPU takes an interrupt between two
/// iterations of such an instruction and resumes it later, so a signal or a preemption can
/// land inside it: rip is at the instruction, with rcx counting the iterations left and
/// rsi/rdi advanced by those done. No pass starts the instruction with those registers, so
/// replay stops at the start of the one pass that can get there (every other register as
/// recorded, rcx larger, the pointers behind by as many elements) and runs just the missing
/// iterations, with rcx set to their number, up to the next instruction.
struct RepeatedString {
  /// The instruction's length in bytes.
  let length: UInt64
  let elementSize: UInt64
  let usesSource: Bool

  /// Registers that change as the instruction iterates: rcx, rsi, rdi.
  static let iteratingRegisters: Set<Int> = [11, 13, 14]

  /// Recognizes `rep movs` (f3 a4/a5) and `rep stos` (f3 aa/ab), with their operand-size
  /// and REX prefixes, at the start of `bytes`.
  init?(bytes: [UInt8]) {
    var i = 0
    var hasRep = false, operandSize16 = false, rexW = false
    while i < min(bytes.count, 15) {
      switch bytes[i] {
      case 0xf3, 0xf2: hasRep = true
      case 0x66: operandSize16 = true
      case 0x40...0x4f: rexW = bytes[i] & 0x08 != 0
      default:
        guard hasRep else { return nil }
        let opcode = bytes[i]
        switch opcode {
        case 0xa4, 0xaa: elementSize = 1
        case 0xa5, 0xab: elementSize = rexW ? 8 : operandSize16 ? 2 : 4
        default: return nil
        }
        usesSource = opcode == 0xa4 || opcode == 0xa5
        length = UInt64(i + 1)
        return
      }
      i += 1
    }
    return nil
  }

  /// How many iterations take a thread at the instruction's start with `registers` to
  /// `target` (a point inside it), or nil when they cannot.
  func iterations(from registers: Registers, to target: Registers) -> UInt64? {
    guard registers.rip == target.rip, registers.rcx > target.rcx,
      registerDifferences(recorded: target, replayed: registers, ignoring: RepeatedString.iteratingRegisters.union([RegisterIndex.origRax])).isEmpty
    else { return nil }
    let count = registers.rcx - target.rcx
    let bytes = count &* elementSize
    let backwards = target.eflags & 0x400 != 0  // DF
    func advanced(_ pointer: UInt64) -> UInt64 { backwards ? pointer &- bytes : pointer &+ bytes }
    guard advanced(registers.rdi) == target.rdi else { return nil }
    guard usesSource ? advanced(registers.rsi) == target.rsi : registers.rsi == target.rsi else { return nil }
    return count
  }
}
