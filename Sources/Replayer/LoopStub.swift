import CCapstone
import CodePatch
import TraceFormat

/// The loop form of the compare stub: for a code point on a small loop, the stub runs the
/// loop itself, compare included, instead of leaving it at each pass. The round trip from
/// the loop to a stub and back costs several times a tight loop's own work.
extension CompareStub {
  /// From the code point, instructions are copied along the loop's path (a backward jcc is
  /// followed, a forward one leaves) until the path comes back to the code point. Ways out
  /// of the copy (the other side of each jcc) go on in the original code, or in copies of
  /// the patched instructions when they lead into them.
  ///
  /// A pass is checked with `cmp` of one register where the flags are dead (`LoopCheck`).
  /// When that register is the loop's induction variable (`r += constant`, its only write on
  /// the path), most passes run in a fast lane of several unrolled copies of the loop that
  /// checks only once per round whether the register is within that many steps of the
  /// recorded value: a pass there costs what the loop's own costs. Where no register can be
  /// checked with cmp, rcx holds an lea/jrcxz compare throughout, which the loop must leave
  /// alone (`init(rcxLoop:...)`).
  ///
  /// Nil when the path does not close within 64 instructions of `window` (tracee bytes from
  /// `windowStart`), or meets a call, a return or an instruction that cannot move.
  init?(
    loopAt site: PatchSite, window: [UInt8], windowStart: UInt64, at address: UInt64, scratch: UInt64,
    target: Registers, order: [Int], memory: [CodePointMemory] = []
  ) {
    guard let first = order.first, first != 19 else { return nil }
    guard let path = CompareStub.loopPath(from: site.codePoint, window: window, windowStart: windowStart) else { return nil }
    // A site that starts before the point (a branch lands just after it) holds the loop's
    // last instructions before it: the patch enters the copy through copies of those.
    let preamble = site.instructions[..<site.codePointIndex]
    guard preamble.count < path.count,
      path.suffix(preamble.count).map(\.instruction.address) == preamble.map(\.address),
      preamble.allSatisfy({ Int32($0.decoded.kind) == Int32(REWIND_INSTRUCTION_PLAIN) })
    else { return nil }
    var copy = LoopCopy(site: site, path: path, preamble: preamble, at: address)
    if let check = CompareStub.loopCheck(path, first: first) {
      self.init(checkedLoop: &copy, check, scratch: scratch, target: target, order: order, memory: memory)
    } else {
      self.init(rcxLoop: &copy, scratch: scratch, target: target, order: order, memory: memory)
    }
  }

  /// How a loop copy checks a pass: `cmp` of the register `index` (into `Registers.words`),
  /// encoded `encoding`, before `path[position]` (`path.count`: at the code point itself).
  struct LoopCheck {
    var index: Int
    var encoding: UInt8
    var position: Int
    /// The register's change per pass, when it is the loop's induction variable.
    var step: Int64?
  }

  /// The loop's induction register when one can be checked early, else `first` (the
  /// register most likely to differ), else nil.
  static func loopCheck(_ path: [LoopStep], first: Int) -> LoopCheck? {
    for step in path where step.instruction.decoded.adds_constant != 0 {
      let decoded = step.instruction.decoded
      let encoding = decoded.added_register
      let bit = UInt16(1) << UInt16(encoding)
      guard encoding != 4, path.filter({ $0.instruction.decoded.registers_written & bit != 0 }).count == 1,
        let entry = generalRegisters.first(where: { $0.encoding == encoding }),
        let position = earlyCheckIndex(path, register: encoding)
      else { continue }
      return LoopCheck(index: entry.index, encoding: encoding, position: position, step: decoded.added_constant)
    }
    guard let entry = generalRegisters.first(where: { $0.index == first }), let position = earlyCheckIndex(path, register: entry.encoding)
    else { return nil }
    return LoopCheck(index: first, encoding: entry.encoding, position: position, step: nil)
  }

  /// How many copies of the loop the fast lane unrolls: enough that its check costs little
  /// a pass, few enough that the stub fits its page. 1 means no fast lane.
  static func fastLaneCopies(_ path: [LoopStep]) -> Int {
    // A jcc grows to 6 bytes, a jmp is dropped.
    let bytes = path.reduce(0) { $0 + max(Int($1.instruction.decoded.size), 6) }
    return max(1, min(16, 1600 / bytes))
  }

  /// The fast lane's test of the register's value `value` at the check, for `copies` passes
  /// a round with change `step` per pass towards the recorded `expected`: `value` compared
  /// unsigned with the returned threshold, and the jcc (jae or jbe) that goes to the precise
  /// check. Sound because between two checks the register moves by `step` each pass without
  /// wrapping: a round that starts beyond the threshold cannot reach `expected`.
  static func fastLaneThreshold(expected: UInt64, step: Int64, copies: Int) -> (threshold: UInt64, condition: UInt8) {
    let reach = step.magnitude * UInt64(copies - 1)
    if step > 0 {
      return (expected >= reach ? expected - reach : 0, 0x3)  // jae
    }
    let (sum, overflow) = expected.addingReportingOverflow(reach)
    return (overflow ? .max : sum, 0x6)  // jbe
  }

  /// The cmp form, laid out as:
  ///
  ///     [patch:   the preamble; jmp entry]
  ///     fast:     path[1..<j]; cmp threshold(%rip),%r; jae/jbe check
  ///               path[j...]; then (copies - 1) times: path[0], path[1...]
  ///     fastBody: path[0], back to fast (its own closing jcc where it is one)
  ///     rest:     path[1..<j]
  ///     check:    cmp $expected,%r (or expected(%rip)); je candidate
  ///               path[j...]
  ///     body:     path[0], back to rest
  ///     candidate: path[j...]
  ///     entry:    the full compare: int3, or on at fastBody
  ///     the ways out
  ///
  /// A task stopped at the code point, and the patch, enter at the full compare. A pass is
  /// in the fast lane while the register is more than a round from the recorded value,
  /// and in the precise loop after. Without an induction register there is no fast lane.
  private init?(
    checkedLoop copy: inout LoopCopy, _ check: LoopCheck, scratch: UInt64, target: Registers, order: [Int], memory: [CodePointMemory]
  ) {
    let path = copy.path
    let j = check.position
    let expected = target.words[check.index]
    var data: [UInt64] = []
    func slot(_ value: UInt64) -> UInt64 {
      data.append(value)
      return scratch + 8 * UInt64(data.count)
    }
    let fromPatch = copy.patchEntry()
    guard fromPatch != nil || copy.preamble.isEmpty else { return nil }
    let copies = check.step == nil ? 1 : CompareStub.fastLaneCopies(path)
    var toCheck: Int?
    var fastBody: UInt64?
    if let step = check.step, copies > 1 {
      let fast = copy.a.address
      guard copy.emit(path[1..<j]) else { return nil }
      let (threshold, condition) = CompareStub.fastLaneThreshold(expected: expected, step: step, copies: copies)
      guard copy.a.compare(register: check.encoding, withWordAt: slot(threshold)) else { return nil }
      copy.a.emit(0x0f, 0x80 | condition)
      toCheck = copy.a.here
      copy.a.emit32(0)
      guard copy.emit(path[j...]) else { return nil }
      for _ in 1..<copies {
        guard copy.emit(path[0...]) else { return nil }
      }
      fastBody = copy.a.address
      guard copy.closeLoop(to: fast) else { return nil }
    }
    let rest = copy.a.address
    guard copy.emit(path[1..<j]) else { return nil }
    if let toCheck { copy.a.patch32(at: toCheck, to: copy.a.address) }
    if let immediate = Int32(exactly: Int64(bitPattern: expected)) {
      copy.a.compareImmediate(immediate, register: check.encoding)
    } else {
      guard copy.a.compare(register: check.encoding, withWordAt: slot(expected)) else { return nil }
    }
    copy.a.emit(0x0f, 0x84)  // je candidate
    let toCandidate = copy.a.here
    copy.a.emit32(0)
    guard copy.emit(path[j...]) else { return nil }
    let body = copy.a.address
    guard copy.closeLoop(to: rest) else { return nil }
    copy.a.patch32(at: toCandidate, to: copy.a.address)
    guard copy.emit(path[j...]) else { return nil }
    let entry = copy.a.address
    if let fromPatch { copy.a.patch32(at: fromPatch.jump, to: entry) }
    // At the code point the flags the cmp set are the program's again only where an
    // instruction after it set them; the others are dead there.
    let genuine = path[j...].reduce(UInt8(0)) { $0 | $1.instruction.decoded.flags_defined }
    let compared = CompareStub.eflagsBits(genuine) | 0x400  // DF, which cmp leaves alone
    let rejoinAt = fastBody ?? body
    func rejoin(_ a: inout Assembler) -> Bool { a.jump(to: rejoinAt) }
    guard let trap = copy.a.fullCompare(order[...], target: target, memory: memory, flags: compared, scratch: scratch, leave: rejoin) else { return nil }
    let displaced = copy.a.address
    guard rejoin(&copy.a), copy.leaveCopies(restoringRcxFrom: nil) else { return nil }
    let place = j == path.count ? "at the code point" : "before 0x\(String(path[j].instruction.address, radix: 16))"
    self.init(
      loopCode: copy.a.bytes, at: copy.a.base, entry: entry, patchEntry: fromPatch?.address, preamble: copy.preamble.count,
      trap: trap, displaced: displaced, uncomparedFlags: CompareStub.flagsMask & ~compared,
      firstCompare: "cmp/je of \(Registers.names[check.index]) \(place)" + (copies > 1 ? ", a check every \(copies) passes" : ""))
    self.data = data
    self.dataAddress = scratch + 8
  }

  /// The lea/jrcxz form, for a loop with no register to check with cmp: rcx serves the
  /// compare throughout, its value kept in the scratch word, so no instruction of the loop
  /// may touch rcx, and every way out of the copy restores it first. Laid out rotated, so
  /// that a pass runs the loop's own instructions, the compare, and the code point's
  /// instruction, whose jump back is the loop's:
  ///
  ///     entry: mov %rcx,scratch; jmp top
  ///     rest:  the path's instructions after the loop's closing branch
  ///     top:   lea/jrcxz compare of the first register
  ///     body:  the path up to its closing branch, going on at rest; the way out
  ///     more:  jmp to the full compare
  private init?(rcxLoop copy: inout LoopCopy, scratch: UInt64, target: Registers, order: [Int], memory: [CodePointMemory]) {
    let path = copy.path
    guard let first = order.first, let firstEncoding = CompareStub.fastRegister(first),
      !path.contains(where: { $0.instruction.decoded.touches_rcx != 0 })
    else { return nil }
    let entry = copy.a.address
    guard copy.a.movToMemory(rcxTo: scratch) else { return nil }
    copy.a.emit(0xe9)  // jmp top
    let toTop = copy.a.here
    copy.a.emit32(0)
    let fromPatch = copy.patchEntry(savingRcxTo: scratch)
    guard fromPatch != nil || copy.preamble.isEmpty else { return nil }
    // The copy ends with the loop's own closing branch (the last taken jcc or jmp of the
    // path) where it can, so that a pass takes no jump the loop did not: what follows that
    // branch comes first, then the compare, the code point's instruction, and the rest.
    let closing =
      path.indices.last(where: { i in
        let kind = Int32(path[i].instruction.decoded.kind)
        return i > 0 && (kind == Int32(REWIND_INSTRUCTION_JUMP) || (kind == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP) && path[i].takesBranch))
      }) ?? 0
    let rest = copy.a.address
    guard copy.emit(path[(closing == 0 ? 1 : closing + 1)...]) else { return nil }
    copy.a.patch32(at: toTop, to: copy.a.address)
    if let fromPatch { copy.a.patch32(at: fromPatch.jump, to: copy.a.address) }
    copy.a.compareRcx(with: target.words[first], register: firstEncoding)
    copy.a.emit(0xe3)  // jrcxz more
    let toMore = copy.a.here
    copy.a.emit(0)
    let body = copy.a.address
    guard copy.emit(path[..<closing]), copy.closeLoop(at: closing, to: rest), copy.a.here - (toMore + 1) < 128 else { return nil }
    copy.a.patch8(at: toMore, to: copy.a.here)
    copy.a.emit(0xe9)  // more: jmp to the full compare
    let toFullCompare = copy.a.here
    copy.a.emit32(0)
    guard copy.leaveCopies(restoringRcxFrom: scratch) else { return nil }
    copy.a.patch32(at: toFullCompare, to: copy.a.address)
    guard copy.a.movFromMemory(rcxFrom: scratch) else { return nil }
    // A pass the full compare rejects goes on with the code point's instruction.
    func rejoin(_ a: inout Assembler) -> Bool { a.movToMemory(rcxTo: scratch) && a.jump(to: body) }
    guard let trap = copy.a.fullCompare(order.dropFirst(), target: target, memory: memory, scratch: scratch, leave: rejoin) else { return nil }
    let displaced = copy.a.address
    guard rejoin(&copy.a) else { return nil }
    self.init(
      loopCode: copy.a.bytes, at: copy.a.base, entry: entry, patchEntry: fromPatch?.address, preamble: copy.preamble.count,
      trap: trap, displaced: displaced, uncomparedFlags: 0, firstCompare: "lea/jrcxz")
  }

  /// A loop stub laid out: `entry` is where a task stopped at the code point resumes, and
  /// the patch jumps to `patchEntry` (through the `preamble` instructions before the point)
  /// or to `entry`. Nil when it does not fit its page.
  private init?(
    loopCode code: [UInt8], at address: UInt64, entry: UInt64, patchEntry: UInt64?, preamble: Int, trap: UInt64,
    displaced: UInt64, uncomparedFlags: UInt64, firstCompare: String
  ) {
    guard code.count <= 4096 else { return nil }
    self.address = address
    self.entryAddress = patchEntry ?? entry
    self.code = code
    self.trapAddress = trap
    self.displacedAddress = displaced
    self.relocatedAddresses = Array(repeating: patchEntry ?? entry, count: preamble) + [entry]
    self.uncomparedFlags = uncomparedFlags
    self.firstCompare = firstCompare
  }

  /// eflags bits for REWIND_FLAG_* bits.
  static func eflagsBits(_ flags: UInt8) -> UInt64 {
    let bits: [(UInt8, UInt64)] = [
      (UInt8(REWIND_FLAG_CF), 0x1), (UInt8(REWIND_FLAG_PF), 0x4), (UInt8(REWIND_FLAG_AF), 0x10),
      (UInt8(REWIND_FLAG_ZF), 0x40), (UInt8(REWIND_FLAG_SF), 0x80), (UInt8(REWIND_FLAG_OF), 0x800),
    ]
    return bits.reduce(0) { flags & $1.0 != 0 ? $0 | $1.1 : $0 }
  }

  /// Where in `path` (a loop path from the code point) a cmp of the register encoded
  /// `register` can stand for one at the code point: the latest index from which the path
  /// runs only plain instructions that leave the register alone, and where the flags are
  /// dead (`flagsAreDead`, read on round the loop); `path.count` when they are dead at the
  /// code point itself. Nil when there is none.
  static func earlyCheckIndex(_ path: [LoopStep], register: UInt8) -> Int? {
    for j in stride(from: path.count, through: 1, by: -1) {
      let tail = path[j...]
      guard
        tail.allSatisfy({
          Int32($0.instruction.decoded.kind) == Int32(REWIND_INSTRUCTION_PLAIN)
            && $0.instruction.decoded.registers_written & (1 << UInt16(register)) == 0
        })
      else { return nil }
      if flagsAreDead(along: Array(path[j...]) + Array(path[..<j])) { return j }
    }
    return nil
  }

  /// Whether the arithmetic flags are dead at the start of `path` (a loop path from the code
  /// point): every one is set before any is read, with no branch on the way, so a compare
  /// inserted before the code point changes nothing the program sees. False when unsure.
  static func flagsAreDead(along path: [LoopStep]) -> Bool {
    var live = UInt8(REWIND_FLAGS_ALL)
    for step in path {
      let decoded = step.instruction.decoded
      guard decoded.flags_known != 0, decoded.flags_read & live == 0,
        Int32(decoded.kind) != Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP)
      else { return false }
      live &= ~decoded.flags_written
      if live == 0 { return true }
    }
    return false
  }

  /// One instruction on a loop's path, and for a jcc, whether the path takes it.
  struct LoopStep {
    var instruction: PatchSite.Instruction
    var takesBranch: Bool
  }

  /// A path of at most 64 instructions of `window` that leads from `codePoint` back to it
  /// without calls or returns, or nil. At a jcc the backward side is tried
  /// first; a start from which the code point cannot be reached is remembered as such.
  static func loopPath(from codePoint: UInt64, window: [UInt8], windowStart: UInt64) -> [LoopStep]? {
    var dead: Set<UInt64> = []
    var onPath: Set<UInt64> = []
    func search(_ pc: UInt64) -> [LoopStep]? {
      if pc == codePoint && !onPath.isEmpty { return [] }
      let offset = Int(Int64(bitPattern: pc &- windowStart))
      guard !dead.contains(pc), !onPath.contains(pc), onPath.count < 64, pc >= windowStart, offset + 15 <= window.count
      else { return nil }
      var decoded = rewind_instruction()
      let ok = window.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, pc, &decoded) }
      guard ok != 0 else {
        dead.insert(pc)
        return nil
      }
      let instruction = PatchSite.Instruction(address: pc, bytes: Array(window[offset..<offset + Int(decoded.size)]), decoded: decoded)
      let next = pc + UInt64(decoded.size)
      var choices: [(takesBranch: Bool, to: UInt64)]
      switch Int32(decoded.kind) {
      case Int32(REWIND_INSTRUCTION_PLAIN): choices = [(false, next)]
      case Int32(REWIND_INSTRUCTION_JUMP): choices = [(true, decoded.target)]
      case Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP):
        choices = decoded.target <= pc ? [(true, decoded.target), (false, next)] : [(false, next), (true, decoded.target)]
      default: choices = []
      }
      onPath.insert(pc)
      defer { onPath.remove(pc) }
      for choice in choices {
        if let rest = search(choice.to) { return [LoopStep(instruction: instruction, takesBranch: choice.takesBranch)] + rest }
      }
      dead.insert(pc)
      return nil
    }
    return search(codePoint)
  }
}

/// A loop's path being copied into a stub: the code so far, and the ways out of the copy
/// still to lay out, one per place in the original code they go on at.
struct LoopCopy {
  let site: PatchSite
  let path: [CompareStub.LoopStep]
  let preamble: ArraySlice<PatchSite.Instruction>
  var a: Assembler
  /// Each way out's target, with the rel32 fields that jump to it.
  private var exits: [(target: UInt64, jumps: [Int])] = []

  init(site: PatchSite, path: [CompareStub.LoopStep], preamble: ArraySlice<PatchSite.Instruction>, at address: UInt64) {
    self.site = site
    self.path = path
    self.preamble = preamble
    self.a = Assembler(base: address)
  }

  /// A jmp rel32 to the way out to `target`.
  mutating func leave(to target: UInt64) {
    a.emit(0xe9)
    addExit(target)
  }

  /// Records that the rel32 about to be emitted goes to the way out to `target`, and emits it.
  private mutating func addExit(_ target: UInt64) {
    if let i = exits.firstIndex(where: { $0.target == target }) {
      exits[i].jumps.append(a.here)
    } else {
      exits.append((target, [a.here]))
    }
    a.emit32(0)
  }

  /// Copies `steps` of the path: a jcc stays on the loop's side (the other side leaves), a
  /// jmp is dropped (the copy goes on at its target).
  mutating func emit(_ steps: ArraySlice<CompareStub.LoopStep>) -> Bool {
    for step in steps {
      let decoded = step.instruction.decoded
      switch Int32(decoded.kind) {
      case Int32(REWIND_INSTRUCTION_PLAIN):
        guard a.relocate(step.instruction) else { return false }
      case Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP):
        let next = step.instruction.address + UInt64(decoded.size)
        a.emit(0x0f, 0x80 | (step.takesBranch ? decoded.condition ^ 1 : decoded.condition))
        addExit(step.takesBranch ? next : decoded.target)
      default:
        break
      }
    }
    return true
  }

  /// `path[index]` as the last step of a copy, back to `rest`: a taken jcc stays the loop's
  /// own jcc (falling through leaves), anything else is copied and followed by a jmp.
  mutating func closeLoop(at index: Int = 0, to rest: UInt64) -> Bool {
    let step = path[index]
    let decoded = step.instruction.decoded
    if step.takesBranch && Int32(decoded.kind) == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP) {
      guard let rel = a.rel32(from: a.address + 6, to: rest) else { return false }
      a.emit(0x0f, 0x80 | decoded.condition)
      a.bytes += rel
      leave(to: step.instruction.address + UInt64(decoded.size))
      return true
    }
    return emit(path[index...index]) && a.jump(to: rest)
  }

  /// Where the patch jumps when the site starts before the code point: rcx saved if asked,
  /// the preamble, then a jmp whose rel32 (at `jump`) the caller aims. Nil without a
  /// preamble, or when it cannot be copied.
  mutating func patchEntry(savingRcxTo scratch: UInt64? = nil) -> (address: UInt64, jump: Int)? {
    guard !preamble.isEmpty else { return nil }
    let address = a.address
    if let scratch { guard a.movToMemory(rcxTo: scratch) else { return nil } }
    for instruction in preamble {
      guard a.relocate(instruction) else { return nil }
    }
    a.emit(0xe9)
    let jump = a.here
    a.emit32(0)
    return (address, jump)
  }

  /// Lays out the ways out: each restores rcx from `scratch` if given, then goes on at its
  /// target in the original code, or in copies of the patched instructions when the target
  /// lies among them, as the other stub does.
  mutating func leaveCopies(restoringRcxFrom scratch: UInt64?) -> Bool {
    for exit in exits {
      for jump in exit.jumps { a.patch32(at: jump, to: a.address) }
      if let scratch { guard a.movFromMemory(rcxFrom: scratch) else { return false } }
      guard exit.target > site.address && exit.target < site.end else {
        guard a.jump(to: exit.target) else { return false }
        continue
      }
      guard let first = site.instructions.firstIndex(where: { $0.address == exit.target }) else { return false }
      for instruction in site.instructions[first...] {
        guard a.relocate(instruction) else { return false }
      }
      guard a.jump(to: site.end) else { return false }
    }
    exits = []
    return true
  }
}
