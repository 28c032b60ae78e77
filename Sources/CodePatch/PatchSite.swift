import CCapstone
import LinuxTrace

/// The instructions at a code point that a 5-byte `jmp rel32` to the compare stub replaces,
/// and how each runs again from the stub (DESIGN.md, principle 4). Where there is no room
/// for one, a 2-byte `jmp rel8` goes to a `jmp rel32` written over dead padding nearby (the
/// `trampoline`).
///
/// Whole instructions are displaced, from the code point on, until they cover 5 bytes. Each
/// must run the same from the stub: a RIP-relative operand is re-aimed at the same address,
/// a jmp or jcc is re-encoded as rel32 to the same target, and a `call rel32` is emulated
/// (push the original return address, jmp), which only works as the last one, since the
/// callee returns to the original code. A ret or an indirect jmp ends the run (what follows
/// it may be another function). Anything else that depends on where it runs (loop, jrcxz,
/// an indirect call, int, syscall) is refused.
public struct PatchSite {
  public struct Instruction {
    public var address: UInt64
    public var bytes: [UInt8]
    public var decoded: rewind_instruction

    public init(address: UInt64, bytes: [UInt8], decoded: rewind_instruction) {
      self.address = address
      self.bytes = bytes
      self.decoded = decoded
    }
  }

  /// The first displaced instruction: the code point, or an instruction shortly before it
  /// from which execution can only fall through to it.
  public let address: UInt64
  public let instructions: [Instruction]
  /// The code point, where the stub compares.
  public let codePoint: UInt64
  /// For a site shorter than a jmp rel32: where the patch's jmp rel8 goes, five bytes of
  /// padding that nothing runs (after a jmp or a ret, and no branch lands in them), with
  /// the bytes there.
  public var trampoline: (address: UInt64, originalBytes: [UInt8])?
  /// Branches elsewhere in the code that land inside the patched bytes, at or after the code
  /// point: the patch re-aims each at the stub's copy of the instructions from its target
  /// on (`retargets(for:...)`).
  public var retargets: [Retarget] = []

  /// A jmp or jcc rel32 whose target lies inside the patched bytes.
  public struct Retarget {
    public var address: UInt64
    public var originalBytes: [UInt8]
    public var target: UInt64
  }
  /// The index in `instructions` of the code point's.
  public var codePointIndex: Int { instructions.firstIndex { $0.address == codePoint }! }
  /// The bytes the jump replaces: the whole displaced instructions.
  public var originalBytes: [UInt8] { instructions.flatMap(\.bytes) }
  public var length: Int { instructions.reduce(0) { $0 + $1.bytes.count } }
  /// Where execution goes on after the displaced instructions.
  public var end: UInt64 { address + UInt64(length) }
  /// What puts the code back as it was: the displaced bytes, and the trampoline's.
  public var originalWrites: [(address: UInt64, bytes: [UInt8])] {
    [(address, originalBytes)] + (trampoline.map { [($0.address, $0.originalBytes)] } ?? [])
      + retargets.map { ($0.address, $0.originalBytes) }
  }

  /// Writes `originalWrites` back, each even if another failed; throws the first failure.
  public func restore(in tracee: Tracee) throws {
    var failure: (any Error)?
    for original in originalWrites {
      do { try tracee.writeMemory(at: original.address, bytes: original.bytes) } catch { failure = failure ?? error }
    }
    if let failure { throw failure }
  }

  /// Every address the stub jumps to or refers to with a rel32: it must lie within ±2 GiB
  /// of them all.
  public var reachedAddresses: [UInt64] {
    var addresses = [address, end] + (trampoline.map { [$0.address] } ?? [])
    addresses += retargets.map { $0.address + UInt64($0.originalBytes.count) }
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
  /// which to displace, at least `minimumLength` bytes (2 for a jmp rel8), or says why the
  /// site cannot be patched. `codePoint` is `address` or a later instruction boundary; the
  /// instructions before it must be plain ones (they run in the stub before the compare).
  public static func plan(at address: UInt64, codePoint: UInt64, code: [UInt8], minimumLength: Int = 5) -> Result<PatchSite, InjectionRefusal> {
    var instructions: [Instruction] = []
    var offset = 0
    while offset < minimumLength || address + UInt64(offset) <= codePoint {
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
      if offset < minimumLength && (kind == Int32(REWIND_INSTRUCTION_END) || kind == Int32(REWIND_INSTRUCTION_JUMP) || kind == Int32(REWIND_INSTRUCTION_CALL)) {
        return .failure(InjectionRefusal("the site at \(hex(address)) is too short (\(offset) bytes up to a jump, call or return)"))
      }
      if offset < minimumLength && offset + 15 > code.count {
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
  public func branchIntoInterior(window: [UInt8], windowStart: UInt64) -> UInt64? {
    var index = BranchIndex()
    return index.branch(into: (address + 1)..<end, site: address, window: window, windowStart: windowStart)
  }

  /// Instruction starts up to `reach` bytes before `codePoint` that are certain, nearest first: `code`
  /// holds the bytes from `codeStart`, at least 80 bytes before the code point, all code.
  ///
  /// Decoding x86 backwards is ambiguous, so this decodes forwards from 16 consecutive byte
  /// offsets at the start of `code`. One of them is a true instruction start (none is longer
  /// than 15 bytes), and its decode passes through every true start up to the code point.
  /// Only addresses that every decode reaching the code point exactly passes through are
  /// returned: a false start that a wrong decode agrees on cannot survive the true one.
  public static func instructionStarts(before codePoint: UInt64, code: [UInt8], codeStart: UInt64, within reach: UInt64 = 32) -> [UInt64] {
    precondition(codePoint >= codeStart + 80 && codePoint - codeStart < UInt64(code.count))
    var agreed: Set<UInt64>?
    for first in 0..<16 {
      var address = codeStart + UInt64(first)
      var starts: Set<UInt64> = []
      while address < codePoint {
        var decoded = rewind_instruction()
        let offset = Int(address - codeStart)
        let ok = code.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, address, &decoded) }
        guard ok != 0, decoded.size > 0 else {
          // Capstone cannot decode this: if it is the true stream's instruction, the decodes
          // that get through may agree on false starts here; they fall in step within a few
          // instructions, so only a failure close to the starts asked for is a doubt.
          if address + reach + 32 >= codePoint { return [] }
          break
        }
        starts.insert(address)
        address += UInt64(decoded.size)
      }
      guard address == codePoint else { continue }
      agreed = agreed.map { $0.intersection(starts) } ?? starts
    }
    return (agreed ?? []).filter { $0 + reach >= codePoint }.sorted(by: >)
  }

  /// Instruction starts up to `reach` bytes before `codePoint` that decoding forwards from the
  /// code point reaches (fall-through, both sides of each jcc, direct jumps; not past calls,
  /// which may not return) within `limit` instructions of `window` (tracee bytes from
  /// `windowStart`), nearest first: the instructions of a loop that leads back to the point.
  ///
  /// Certain, since the code point is an instruction start (a thread stood there) and a
  /// decode from one stays in step. `instructionStarts` needs the 80 bytes before the point
  /// to be code, which a JIT's code cache does not promise: data (relocations, constants)
  /// precede a method's code there, so a hot loop at a method's start found no earlier site.
  public static func startsReached(
    from codePoint: UInt64, window: [UInt8], windowStart: UInt64, within reach: UInt64 = 32, limit: Int = 512
  ) -> [UInt64] {
    reached(from: codePoint, window: window, windowStart: windowStart, limit: limit)
      .filter { $0 < codePoint && $0 + reach >= codePoint }.sorted(by: >)
  }

  /// Every instruction start that decoding forwards from `codePoint` reaches, as
  /// `startsReached` follows the code, within `limit` instructions.
  public static func reached(from codePoint: UInt64, window: [UInt8], windowStart: UInt64, limit: Int = 512) -> Set<UInt64> {
    var seen: Set<UInt64> = []
    var pending = [codePoint]
    while let address = pending.popLast(), seen.count < limit {
      guard address >= windowStart, !seen.contains(address) else { continue }
      let offset = Int(address - windowStart)
      guard offset < window.count else { continue }
      var decoded = rewind_instruction()
      let ok = window.withUnsafeBufferPointer {
        rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, address, &decoded)
      }
      guard ok != 0, decoded.size > 0 else { continue }
      seen.insert(address)
      let next = address + UInt64(decoded.size)
      switch Int32(decoded.kind) {
      case Int32(REWIND_INSTRUCTION_PLAIN): pending.append(next)
      case Int32(REWIND_INSTRUCTION_JUMP): pending.append(decoded.target)
      case Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP): pending += [next, decoded.target]
      default: break
      }
    }
    return seen
  }

  /// How the patch re-aims `sources`, the branches that may land inside `site`'s patched
  /// bytes (`BranchIndex.branches(into:...)`, false decodes among them), or why it cannot.
  ///
  /// Each must be a real instruction, one of `certain` (instruction starts known from a
  /// decode that began at one, `reached(from:...)`): re-aiming a false decode would rewrite
  /// the middle of another instruction. Each must be a jmp or jcc rel32, outside the
  /// patched bytes, that lands on one of the displaced instructions from the code point on
  /// (a pass that lands on the point itself enters the stub's compare; one that lands after
  /// it skips the point, as it did). A short branch cannot reach the stub, and a branch
  /// into the instructions before the point would need a stub entry for each.
  public static func retargets(
    for site: PatchSite, sources: [UInt64], certain: Set<UInt64>, window: [UInt8], windowStart: UInt64
  ) -> Result<[Retarget], InjectionRefusal> {
    var retargets: [Retarget] = []
    for source in sources {
      guard certain.contains(source), source >= windowStart, source - windowStart < UInt64(window.count) else {
        return .failure(InjectionRefusal("a branch at \(hex(source)) may land inside the bytes patched from \(hex(site.address))"))
      }
      let offset = Int(source - windowStart)
      var decoded = rewind_instruction()
      let ok = window.withUnsafeBufferPointer {
        rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, source, &decoded)
      }
      let kind = Int32(decoded.kind)
      guard ok != 0, kind == Int32(REWIND_INSTRUCTION_JUMP) || kind == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP) else {
        return .failure(InjectionRefusal("the branch at \(hex(source)) into the patched bytes is not a jmp or jcc"))
      }
      let bytes = Array(window[offset..<min(window.count, offset + Int(decoded.size))])
      let rel32 = bytes.count == 5 && bytes[0] == 0xe9 || bytes.count == 6 && bytes[0] == 0x0f && bytes[1] & 0xf0 == 0x80
      guard rel32 else {
        return .failure(InjectionRefusal("the branch at \(hex(source)) into the patched bytes is too short to reach a stub"))
      }
      guard source + UInt64(bytes.count) <= site.address || source >= site.end else {
        return .failure(InjectionRefusal("the branch at \(hex(source)) overlaps the patched bytes"))
      }
      guard decoded.target >= site.codePoint, site.instructions.contains(where: { $0.address == decoded.target }) else {
        return .failure(InjectionRefusal("the branch at \(hex(source)) lands at \(hex(decoded.target)), not after the code point"))
      }
      retargets.append(Retarget(address: source, originalBytes: bytes, target: decoded.target))
    }
    return .success(retargets)
  }

  /// Where a site at `site`, too short for a jmp rel32, can put its trampoline: runs of
  /// padding (nop, int3) that only follow a jmp or a ret, before `codePoint`, and the first
  /// address in each from which 5 bytes lie within a jmp rel8's reach of the site. `code`
  /// holds the bytes from `codeStart` (160 or more before the point) to past the point.
  /// Nearest first. The caller checks that no branch lands in a run before its trampoline.
  ///
  /// A padding run may end in a function that starts with a nop (patchable function
  /// entries, `-mnop-mcount`): only its first bytes up to a 16-byte boundary, where such a
  /// function would start, count as dead. `int3IsPadding` is false under a debugger, whose
  /// breakpoints are int3 too.
  public static func deadPadding(
    before codePoint: UInt64, site: UInt64, code: [UInt8], codeStart: UInt64, int3IsPadding: Bool = true
  ) -> [(run: Range<UInt64>, trampoline: UInt64)] {
    let lowest = site + 2 >= 128 ? site + 2 - 128 : 0
    guard codePoint >= codeStart + 160 else { return [] }
    let starts = instructionStarts(before: codePoint, code: code, codeStart: codeStart, within: codePoint - lowest + 32).sorted()
    var runs: [Range<UInt64>] = []
    var runStart: UInt64?
    var previousEndsFlow = false
    for (i, start) in starts.enumerated() {
      var decoded = rewind_instruction()
      let offset = Int(start - codeStart)
      guard code.withUnsafeBufferPointer({ rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, start, &decoded) }) != 0
      else { break }
      let next = i + 1 < starts.count ? starts[i + 1] : codePoint
      // Only certain starts one after another are known to be these instructions.
      guard start + UInt64(decoded.size) == next else {
        runStart = nil
        previousEndsFlow = false
        continue
      }
      let isPadding = decoded.is_padding != 0 && (int3IsPadding || code[offset] != 0xcc)
      if isPadding && (runStart != nil || previousEndsFlow) {
        if let run = runStart {
          runs[runs.count - 1] = run..<next
        } else {
          runStart = start
          runs.append(start..<next)
        }
      } else {
        runStart = nil
      }
      let kind = Int32(decoded.kind)
      previousEndsFlow = kind == Int32(REWIND_INSTRUCTION_END) || kind == Int32(REWIND_INSTRUCTION_JUMP) || runStart != nil
    }
    return runs.compactMap { run in
      let aligned = (run.lowerBound + 15) & ~15
      guard aligned > run.lowerBound else { return nil }  // starts at a boundary: maybe an entry
      let dead = run.lowerBound..<min(run.upperBound, aligned)
      let trampoline = max(dead.lowerBound, lowest)
      return trampoline + 5 <= dead.upperBound ? (run, trampoline) : nil
    }.sorted { $0.trampoline > $1.trampoline }
  }
}
