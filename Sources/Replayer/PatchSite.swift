import CCapstone
import LinuxTrace

/// The instructions at a code point that a 5-byte `jmp rel32` to the compare stub replaces,
/// and how each runs again from the stub (DESIGN.md, principle 4).
///
/// Whole instructions are displaced, from the code point on, until they cover 5 bytes. Each
/// must run the same from the stub: a RIP-relative operand is re-aimed at the same address,
/// a jmp or jcc is re-encoded as rel32 to the same target, and a `call rel32` is emulated
/// (push the original return address, jmp), which only works as the last one, since the
/// callee returns to the original code. A ret or an indirect jmp ends the run (what follows
/// it may be another function). Anything else that depends on where it runs (loop, jrcxz,
/// an indirect call, int, syscall) is refused.
struct PatchSite {
  struct Instruction {
    var address: UInt64
    var bytes: [UInt8]
    var decoded: rewind_instruction
  }

  /// The first displaced instruction: the code point, or an instruction shortly before it
  /// from which execution can only fall through to it.
  let address: UInt64
  let instructions: [Instruction]
  /// The code point, where the stub compares.
  let codePoint: UInt64
  /// The index in `instructions` of the code point's.
  var codePointIndex: Int { instructions.firstIndex { $0.address == codePoint }! }
  /// The bytes the jump replaces: the whole displaced instructions.
  var originalBytes: [UInt8] { instructions.flatMap(\.bytes) }
  var length: Int { instructions.reduce(0) { $0 + $1.bytes.count } }
  /// Where execution goes on after the displaced instructions.
  var end: UInt64 { address + UInt64(length) }

  /// Every address the stub jumps to or refers to with a rel32: it must lie within ±2 GiB
  /// of them all.
  var reachedAddresses: [UInt64] {
    var addresses = [address, end]
    for instruction in instructions {
      let decoded = instruction.decoded
      if decoded.has_rip_operand != 0 { addresses.append(decoded.rip_target) }
      switch Int32(decoded.kind) {
      case Int32(REWIND_INSTRUCTION_JUMP), Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP), Int32(REWIND_INSTRUCTION_CALL):
        addresses.append(decoded.target)
      default: break
      }
    }
    return addresses
  }

  /// Decodes the instructions at `address` (`code` holds the bytes from there) and chooses
  /// which to displace, or says why the site cannot be patched. `codePoint` is `address`
  /// or a later instruction boundary; the instructions before it must be plain ones (they
  /// run in the stub before the compare).
  static func plan(at address: UInt64, codePoint: UInt64, code: [UInt8]) -> Result<PatchSite, InjectionRefusal> {
    var instructions: [Instruction] = []
    var offset = 0
    while offset < 5 || address + UInt64(offset) <= codePoint {
      if address + UInt64(offset) > codePoint && instructions.last.map({ $0.address < codePoint }) ?? false {
        return .failure(InjectionRefusal("\(hex(codePoint)) is not an instruction boundary seen from \(hex(address))"))
      }
      var decoded = rewind_instruction()
      let ok = code.withUnsafeBufferPointer { buffer in
        rewind_decode_instruction(buffer.baseAddress! + offset, buffer.count - offset, address + UInt64(offset), &decoded)
      }
      let at = address + UInt64(offset)
      guard ok != 0, decoded.kind != Int32(REWIND_INSTRUCTION_INVALID) else {
        return .failure(InjectionRefusal("cannot decode the instruction at \(hex(at))"))
      }
      guard decoded.kind != Int32(REWIND_INSTRUCTION_UNMOVABLE) else {
        return .failure(InjectionRefusal("the instruction at \(hex(at)) cannot run from elsewhere"))
      }
      if at < codePoint && decoded.kind != Int32(REWIND_INSTRUCTION_PLAIN) {
        return .failure(InjectionRefusal("the instruction at \(hex(at)) before the code point is a branch"))
      }
      // Padding before the code point means it starts a function (or an aligned loop), which
      // calls through pointers or tables may enter directly; so does an endbr64.
      if at < codePoint && decoded.is_padding != 0 {
        return .failure(InjectionRefusal("padding at \(hex(at)) precedes the code point"))
      }
      if at == codePoint && address < codePoint && code[offset..<min(code.count, offset + 4)].elementsEqual([0xf3, 0x0f, 0x1e, 0xfa]) {
        return .failure(InjectionRefusal("the code point is an indirect branch target (endbr64)"))
      }
      let size = Int(decoded.size)
      instructions.append(Instruction(address: at, bytes: Array(code[offset..<offset + size]), decoded: decoded))
      offset += size
      let kind = decoded.kind
      if offset < 5 && (kind == Int32(REWIND_INSTRUCTION_END) || kind == Int32(REWIND_INSTRUCTION_JUMP) || kind == Int32(REWIND_INSTRUCTION_CALL)) {
        return .failure(InjectionRefusal("the site at \(hex(address)) is too short (\(offset) bytes up to a jump, call or return)"))
      }
      if offset < 5 && offset + 15 > code.count {
        return .failure(InjectionRefusal("the code at \(hex(address)) ends too soon"))
      }
    }
    guard instructions.contains(where: { $0.address == codePoint }) else {
      return .failure(InjectionRefusal("\(hex(codePoint)) is not an instruction boundary seen from \(hex(address))"))
    }
    let site = PatchSite(address: address, instructions: instructions, codePoint: codePoint)
    // A displaced branch to the inside of the patched bytes would run the jump's bytes.
    for instruction in instructions where instruction.decoded.kind != Int32(REWIND_INSTRUCTION_PLAIN) && instruction.decoded.kind != Int32(REWIND_INSTRUCTION_END) {
      let target = instruction.decoded.target
      if target > address && target < site.end {
        return .failure(InjectionRefusal("the instruction at \(hex(instruction.address)) branches into the patched bytes"))
      }
    }
    return .success(site)
  }

  /// The first address in `window` (tracee bytes starting at `windowStart`) from which a
  /// direct jmp, jcc, call, loop or jrcxz reaches the inside of the patched bytes (past
  /// their first byte), or nil (`BranchIndex` says how it decodes).
  func branchIntoInterior(window: [UInt8], windowStart: UInt64) -> UInt64? {
    var index = BranchIndex()
    return index.branch(into: (address + 1)..<end, site: address, window: window, windowStart: windowStart)
  }

  /// Instruction starts shortly before `codePoint` that are certain, nearest first: `code`
  /// holds the bytes from `codeStart`, at least 80 bytes before the code point, all code.
  ///
  /// Decoding x86 backwards is ambiguous, so this decodes forwards from 16 consecutive byte
  /// offsets at the start of `code`. One of them is a true instruction start (none is longer
  /// than 15 bytes), and its decode passes through every true start up to the code point.
  /// Only addresses that every decode reaching the code point exactly passes through are
  /// returned: a false start that a wrong decode agrees on cannot survive the true one.
  static func instructionStarts(before codePoint: UInt64, code: [UInt8], codeStart: UInt64) -> [UInt64] {
    precondition(codePoint >= codeStart + 80 && codePoint - codeStart < UInt64(code.count))
    var agreed: Set<UInt64>?
    for first in 0..<16 {
      var address = codeStart + UInt64(first)
      var starts: Set<UInt64> = []
      while address < codePoint {
        var decoded = rewind_instruction()
        let offset = Int(address - codeStart)
        let ok = code.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, address, &decoded) }
        guard ok != 0, decoded.size > 0 else { break }
        starts.insert(address)
        address += UInt64(decoded.size)
      }
      guard address == codePoint else { continue }
      agreed = agreed.map { $0.intersection(starts) } ?? starts
    }
    return (agreed ?? []).filter { $0 + 32 >= codePoint }.sorted(by: >)
  }
}
