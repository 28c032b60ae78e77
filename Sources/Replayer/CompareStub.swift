import CCapstone
import CodePatch
import TraceFormat

/// The machine code of an in-process compare stub (DESIGN.md, principle 4): the code point's
/// first instructions jump here; the stub compares the thread's registers with the recorded
/// ones and executes `int3` only when all match, else runs the displaced instructions and
/// jumps back. A pass that does not match costs about a nanosecond, against ~20 µs for a
/// hardware-breakpoint trap (notes/in-process-compare-stub.md, stub B). When the code point
/// lies on a small loop that leaves rcx alone, `init(loopAt:...)` builds a stub that runs the
/// loop itself, compare included, which costs less still.
///
/// Layout (rcx and rdx are the scratch registers, saved in a scratch word or on the stub's
/// own stack at the end of the scratch page, never on the program's):
///
///     the site's instructions before the code point, if it starts earlier
///     [if the first register is not rcx, rdx or rsp:    the common pass, rsp untouched:
///       mov %rcx,scratch(%rip); movabs $-expected,%rcx; lea (%rcx,%r),%rcx; jrcxz more
///       mov scratch(%rip),%rcx; a copy of the displaced instructions; jmp back
///      more: mov scratch(%rip),%rcx]
///     mov %rsp,saved(%rip); lea saved(%rip),%rsp       the stub's stack; save scratch
///     push %rcx; push %rdx
///     for each register r:                             no instruction here writes flags
///       [mov 8(%rsp),%rdx | mov (%rsp),%rdx | mov saved(%rip),%rdx | rdfsbase %rdx]
///       movabs $-expected,%rcx; lea (%rcx,%r),%rcx     rcx = r - expected
///       jrcxz next
///       pop %rdx; pop %rcx; mov saved(%rip),%rsp       a pass that differs leaves at once
///       a copy of the displaced instructions; jmp back
///     pushfq; mov (%rsp),%rcx; and $0xcd5,%ecx         CF PF AF ZF SF DF OF only: RF, TF
///     cmp $expected,%ecx; jne flagsFail                and IF depend on how it stopped
///     popfq; pop %rdx; pop %rcx; mov saved(%rip),%rsp
///     int3                                             every register is as it was
///     ud2
///   flagsFail: popfq
///   fail: pop %rdx; pop %rcx; mov saved(%rip),%rsp
///   displaced: the relocated instructions from the code point on; jmp back
///
/// Thread identity: the patch is in the process's code, so any thread of it could pass.
/// Only the replayed task runs while the stub is there (replay runs one task of a memory
/// group at a time), but the stub checks identity anyway: rsp is compared like every
/// register, and threads have disjoint stacks, so no other thread can match it; where the
/// kernel lets user code read fs_base (FSGSBASE), the thread pointer is compared too.
/// `%fs:0x10` would also name the thread, but faults before the program sets up its TLS.
/// A pass by another thread that does not match simply runs the displaced instructions.
///
/// The stub writes nothing on the program's stack (an emulated `call` writes the return
/// address the call would have): while it runs, rsp points into the scratch page, where no
/// signal frame is ever built (replay delivers signals only at stops of its own). The common
/// pass writes only the scratch word.
struct CompareStub {
  /// Where the stub's page is mapped in the tracee.
  let address: UInt64
  /// Where the code point's patch jumps to.
  let entryAddress: UInt64
  /// The stub's code; `addRetargetEntries` appends to it.
  var code: [UInt8]
  /// The address of the `int3` executed on a match.
  let trapAddress: UInt64
  /// Where a pass continues that the tracer rejects after a match (registers already restored).
  let displacedAddress: UInt64
  /// Where a task stopped at each displaced instruction goes on in the stub, in order (for
  /// the code point's, the compare).
  let relocatedAddresses: [UInt64]
  /// Where in the scratch page the full compare keeps the program's rsp; its own stack
  /// grows down from there. Loop stubs' data words lie at the page's start.
  static let savedStackPointerOffset: UInt64 = 4096 - 8
  /// The eflags bits the stub does not compare: its own cmp set them, and they are dead at
  /// the code point (no instruction reads them before one sets them), so the tracer gives
  /// back the recorded ones on a match.
  var uncomparedFlags: UInt64 = 0
  /// Words the stub compares with, to be written at `dataAddress` (in the scratch page).
  var data: [UInt64] = []
  var dataAddress: UInt64 = 0
  /// How a pass is first compared, for debugging output.
  var firstCompare = "lea/jrcxz"

  /// Registers compared, as indices into `Registers.words`, with their x86 encoding.
  static let generalRegisters: [(index: Int, encoding: UInt8)] = [
    (10, 0), (11, 1), (12, 2), (5, 3), (19, 4), (4, 5), (13, 6), (14, 7),
    (9, 8), (8, 9), (7, 10), (6, 11), (3, 12), (2, 13), (1, 14), (0, 15),
  ]
  static let fsBaseIndex = 21
  /// The eflags bits compared: CF PF AF ZF SF DF OF.
  static let flagsMask: UInt64 = 0xcd5

  /// Builds the stub for `site` at `address`, comparing `target`'s registers in `order`
  /// (indices into `Registers.words`; `fsBaseIndex` uses rdfsbase). Nil when a rel32 cannot
  /// reach from `address`.
  ///
  /// With `counter` (an address in the scratch page), every pass adds 1 to the word there
  /// before it is compared, the matching one included: the tracer reads there which
  /// arrival at the code point the match was.
  init?(
    site: PatchSite, at address: UInt64, scratch: UInt64, target: Registers, order: [Int], memory: [CodePointMemory] = [],
    counter: UInt64? = nil
  ) {
    var a = Assembler(base: address)
    // Instructions the site starts with before the code point run first.
    guard var relocated = CompareStub.relocatePreamble(of: site, &a) else { return nil }
    relocated.append(a.address)  // a task stopped at the code point resumes at the compare
    /// The way out for a pass that differs, once rcx is its own again.
    func displacedCopy(_ a: inout Assembler) -> Bool { CompareStub.displacedCopy(of: site, &a) }
    if let counter {
      guard a.countPass(in: counter, scratch: scratch), a.movFromMemory(rcxFrom: scratch) else { return nil }
    }
    var checks = order[...]
    if let first = order.first, let entry = CompareStub.fastRegister(first) {
      // The common pass fails at the first register. Its compare saves rcx in the scratch
      // word rather than on the stack: rsp stays untouched, so the loop's own stack work
      // does not wait on ours.
      guard a.movToMemory(rcxTo: scratch) else { return nil }
      a.compareRcx(with: target.words[first], register: entry)
      a.emit(0xe3)  // jrcxz more
      let more = a.here
      a.emit(0)
      guard a.movFromMemory(rcxFrom: scratch), displacedCopy(&a), a.here - (more + 1) < 128 else { return nil }
      a.patch8(at: more, to: a.here)
      guard a.movFromMemory(rcxFrom: scratch) else { return nil }
      checks = checks.dropFirst()
    }
    guard let trap = a.fullCompare(checks, target: target, memory: memory, scratch: scratch, leave: displacedCopy) else { return nil }
    self.init(finishing: a, site: site, trap: trap, relocated: relocated)
  }

  /// Ends a stub assembled up to its trap (`a`, from the stub's address): the displaced
  /// instructions from the code point on, relocated, and the jump back after them, where a
  /// pass the tracer rejects goes on.
  private init?(finishing assembled: Assembler, site: PatchSite, trap: UInt64, relocated before: [UInt64]) {
    var a = assembled
    var relocated = before
    let displaced = a.address
    for (i, instruction) in site.instructions.enumerated().dropFirst(site.codePointIndex) {
      if i > site.codePointIndex { relocated.append(a.address) }
      guard a.relocate(instruction) else { return nil }
    }
    guard a.jump(to: site.end) else { return nil }
    self.address = a.base
    self.entryAddress = a.base
    self.code = a.bytes
    self.trapAddress = trap
    self.displacedAddress = displaced
    self.relocatedAddresses = relocated
  }

  /// A copy of the displaced instructions from the code point on, then a jump back to the
  /// end of the site: how a pass the stub lets go continues.
  private static func displacedCopy(of site: PatchSite, _ a: inout Assembler) -> Bool {
    for instruction in site.instructions[site.codePointIndex...] {
      guard a.relocate(instruction) else { return false }
    }
    return a.jump(to: site.end)
  }

  /// The site's instructions before the code point, if it starts earlier, relocated to the
  /// stub's start; nil when one cannot be. The addresses each went to.
  private static func relocatePreamble(of site: PatchSite, _ a: inout Assembler) -> [UInt64]? {
    var relocated: [UInt64] = []
    for instruction in site.instructions[..<site.codePointIndex] {
      relocated.append(a.address)
      guard a.relocate(instruction) else { return nil }
    }
    return relocated
  }

  /// The counting form: the code point's first instructions jump here, each pass adds 1 to
  /// the word at `counter` (which the tracer sets to minus the passes wanted), and the pass
  /// that brings it to 0 executes `int3`; the others run the displaced instructions and jump
  /// back. Neither the flags nor any register but rip change (rcx is kept in the scratch
  /// word, the count moved with mov/lea/jrcxz), so a pass costs a few nanoseconds against a
  /// trap's ~20 µs: reverse execution reaches the Nth pass through a loop this way.
  ///
  ///     the site's instructions before the code point, if it starts earlier
  ///     mov %rcx,scratch(%rip); mov counter(%rip),%rcx; lea 1(%rcx),%rcx; mov %rcx,counter(%rip)
  ///     jrcxz hit
  ///     mov scratch(%rip),%rcx; a copy of the displaced instructions; jmp back
  ///   hit: mov scratch(%rip),%rcx; int3; ud2
  ///   displaced: the relocated instructions from the code point on; jmp back
  init?(countingAt site: PatchSite, at address: UInt64, scratch: UInt64, counter: UInt64) {
    var a = Assembler(base: address)
    guard var relocated = CompareStub.relocatePreamble(of: site, &a) else { return nil }
    relocated.append(a.address)
    guard a.countPass(in: counter, scratch: scratch) else { return nil }
    a.emit(0xe3)  // jrcxz hit
    let hit = a.here
    a.emit(0)
    guard a.movFromMemory(rcxFrom: scratch), CompareStub.displacedCopy(of: site, &a), a.here - (hit + 1) < 128 else { return nil }
    a.patch8(at: hit, to: a.here)
    guard a.movFromMemory(rcxFrom: scratch) else { return nil }
    let trap = a.address
    a.emit(0xcc)  // int3
    a.emit(0x0f, 0x0b)  // ud2: the tracer moves rip on, never here
    self.init(finishing: a, site: site, trap: trap, relocated: relocated)
    firstCompare = "pass count"
  }

  /// The index in `Registers.words` of the general register with x86 encoding `encoding`.
  static func wordIndex(encoding: UInt8) -> Int? {
    generalRegisters.first { $0.encoding == encoding }?.index
  }

  /// The register a pass is first compared on without saving more than rcx, if `index`
  /// can be: not rcx, rdx, rsp or fs_base, which need rdx to compare.
  static func fastRegister(_ index: Int) -> UInt8? {
    guard ![11, 12, 19, fsBaseIndex].contains(index) else { return nil }
    return generalRegisters.first { $0.index == index }?.encoding
  }

  /// What is written to patch the site: over it, `jmp rel32` to the stub, then int3 up to
  /// the end of the displaced instructions (never run: nothing branches there); for a site
  /// with a trampoline, `jmp rel8` to it and int3, and over the trampoline `jmp rel32`.
  /// Where each of `site.retargets` goes in the stub, by target: the compare for the code
  /// point; for an instruction after it, a copy of the displaced instructions from there on
  /// (appended to the code), which then jumps back. Nil when a copy cannot be made.
  mutating func addRetargetEntries(for site: PatchSite) -> [UInt64: UInt64]? {
    var entries: [UInt64: UInt64] = [:]
    var a = Assembler(base: address + UInt64(code.count))
    for target in Set(site.retargets.map(\.target)).sorted() {
      guard let first = site.instructions.firstIndex(where: { $0.address == target }), first >= site.codePointIndex
      else { return nil }
      if first == site.codePointIndex {
        entries[target] = relocatedAddresses[first]
        continue
      }
      entries[target] = a.address
      for instruction in site.instructions[first...] {
        guard a.relocate(instruction) else { return nil }
      }
      guard a.jump(to: site.end) else { return nil }
    }
    code += a.bytes
    return entries
  }

  /// What is written to patch the site: over it, `jmp rel32` to the stub, then int3 up to
  /// the end of the displaced instructions (never run: nothing branches there but the
  /// retargeted branches, whose rel32 now go to `entries`, from `addRetargetEntries`);
  /// for a site with a trampoline, `jmp rel8` to it and int3, and over the trampoline
  /// `jmp rel32`.
  static func patches(
    _ site: PatchSite, jumpingTo stub: UInt64, entries: [UInt64: UInt64] = [:]
  ) -> [(address: UInt64, bytes: [UInt8])]? {
    func jump32(from address: UInt64) -> [UInt8]? {
      guard let rel32 = Int32(exactly: Int64(bitPattern: stub &- (address + 5))) else { return nil }
      return [0xe9] + littleEndian(UInt32(bitPattern: rel32))
    }
    var retargeted: [(address: UInt64, bytes: [UInt8])] = []
    for branch in site.retargets {
      let end = branch.address + UInt64(branch.originalBytes.count)
      guard let entry = entries[branch.target], let rel32 = Int32(exactly: Int64(bitPattern: entry &- end)) else { return nil }
      retargeted.append((branch.address, branch.originalBytes.dropLast(4) + littleEndian(UInt32(bitPattern: rel32))))
    }
    guard let trampoline = site.trampoline else {
      guard let jump = jump32(from: site.address) else { return nil }
      return retargeted + [(site.address, jump + Array(repeating: 0xcc, count: site.length - 5))]
    }
    guard retargeted.isEmpty else { return nil }
    guard let rel8 = Int8(exactly: Int64(bitPattern: trampoline.address &- (site.address + 2))), let jump = jump32(from: trampoline.address)
    else { return nil }
    return [(trampoline.address, jump), (site.address, [0xeb, UInt8(bitPattern: rel8)] + Array(repeating: 0xcc, count: site.length - 2))]
  }

}

/// Just enough of an x86-64 assembler for the stub: bytes at a known address, rel32 fixups.
struct Assembler {
  let base: UInt64
  var bytes: [UInt8] = []
  init(base: UInt64) { self.base = base }

  var here: Int { bytes.count }
  var address: UInt64 { base + UInt64(bytes.count) }

  mutating func emit(_ values: UInt8...) { bytes += values }

  /// cmp $expected,%r (sign-extended imm32): sets the flags, so only where they are dead.
  mutating func compareImmediate(_ expected: Int32, register encoding: UInt8) {
    emit(encoding >= 8 ? 0x49 : 0x48, 0x81, 0xf8 | (encoding & 7))
    emit32(UInt32(bitPattern: expected))
  }

  /// cmp word(%rip),%r: compares with a 64-bit value kept at `word`, for one that does not
  /// fit an imm32. Sets the flags, like `compareImmediate`.
  mutating func compare(register encoding: UInt8, withWordAt word: UInt64) -> Bool {
    guard let rel = rel32(from: address + 7, to: word) else { return false }
    bytes += [encoding >= 8 ? 0x4c : 0x48, 0x3b, 0x05 | ((encoding & 7) << 3)] + rel
    return true
  }

  /// movabs $-expected,%rcx; lea (%rcx,%r),%rcx (or lea -expected(%r),%rcx): rcx becomes 0
  /// exactly when r == expected.
  mutating func compareRcx(with expected: UInt64, register encoding: UInt8) {
    if let displacement = Int32(exactly: Int64(bitPattern: 0 &- expected)) {
      // lea -expected(%r),%rcx: one instruction when the value fits a disp32.
      emit(encoding >= 8 ? 0x49 : 0x48, 0x8d, 0x88 | (encoding & 7))
      if encoding & 7 == 4 { emit(0x24) }  // r12 (and rsp) as a base need a SIB byte
      emit32(UInt32(bitPattern: displacement))
      return
    }
    emit(0x48, 0xb9)
    emit64(0 &- expected)
    // REX.W (+X for r8-r15), 8d, modrm 0x0c, SIB index=r base=rcx
    emit(encoding >= 8 ? 0x4a : 0x48, 0x8d, 0x0c, ((encoding & 7) << 3) | 1)
  }

  /// The compare of every register in `checks`, then the flags, then int3; returns the
  /// int3's address. Starts with rcx the thread's own; saves rcx and rdx on the stub's stack.
  /// After each compare rcx is 0 on a match: jrcxz goes on to the next register, and a pass
  /// that differs falls through into its own way out (`leave`, with rcx and rdx restored),
  /// so it takes no jump here; a way out too long for jrcxz's rel8 jumps to a shared one.
  mutating func fullCompare(
    _ checks: ArraySlice<Int>, target: Registers, memory: [CodePointMemory] = [], flags: UInt64 = CompareStub.flagsMask,
    scratch: UInt64, leave: (inout Assembler) -> Bool
  ) -> UInt64? {
    // The compare runs on a stack of its own at the end of the scratch page: the program's
    // stack below the red zone must hold what it held while recording, since uninitialized
    // locals of later frames may read it there (and a code point's signature may hash it).
    let savedStackPointer = scratch + CompareStub.savedStackPointerOffset
    guard moveRspToMemory(savedStackPointer), loadEffectiveAddress(ofRsp: savedStackPointer) else { return nil }
    emit(0x51, 0x52)  // push %rcx; push %rdx
    var restorable = true
    func restoreScratch(_ a: inout Assembler) {
      a.emit(0x5a, 0x59)  // pop %rdx; pop %rcx
      if !a.moveMemoryToRsp(savedStackPointer) { restorable = false }
    }
    var sharedExitJumps: [Int] = []
    /// Compares the register encoded `source` with `expected`; a pass that differs leaves.
    func compare(_ source: UInt8, with expected: UInt64, _ a: inout Assembler) -> Bool {
      a.compareRcx(with: expected, register: source)
      a.emit(0xe3)  // jrcxz next
      let next = a.here
      a.emit(0)
      let exitStart = a.here
      restoreScratch(&a)
      guard leave(&a) else { return false }
      if a.here - (next + 1) < 128 {
        a.patch8(at: next, to: a.here)
      } else {
        a.bytes.removeSubrange(exitStart...)
        a.bytes[next] = 5
        a.emit(0xe9)  // jmp sharedExit
        sharedExitJumps.append(a.here)
        a.emit32(0)
      }
      return true
    }
    for index in checks {
      var source: UInt8
      switch index {
      case 11: emit(0x48, 0x8b, 0x54, 0x24, 0x08); source = 2  // mov 8(%rsp),%rdx
      case 12: emit(0x48, 0x8b, 0x14, 0x24); source = 2  // mov (%rsp),%rdx
      case 19:  // mov savedStackPointer(%rip),%rdx
        guard ripRelative(0x8b, register: 2, savedStackPointer) else { return nil }
        source = 2
      case CompareStub.fsBaseIndex: emit(0xf3, 0x48, 0x0f, 0xae, 0xc2); source = 2  // rdfsbase %rdx
      default:
        guard let entry = CompareStub.generalRegisters.first(where: { $0.index == index }) else { return nil }
        source = entry.encoding
      }
      guard compare(source, with: target.words[index], &self) else { return nil }
    }
    // The code point's memory, once every register matched: a loop that changes only memory
    // stays in the stub instead of trapping at each pass.
    for word in memory {
      emit(0x48, 0xba)  // movabs $address,%rdx
      emit64(word.address)
      switch word.size {
      case 8: emit(0x48, 0x8b, 0x12)  // mov (%rdx),%rdx
      case 4: emit(0x8b, 0x12)  // mov (%rdx),%edx
      case 2: emit(0x0f, 0xb7, 0x12)  // movzwl (%rdx),%edx
      case 1: emit(0x0f, 0xb6, 0x12)  // movzbl (%rdx),%edx
      default: return nil
      }
      guard compare(2, with: word.value, &self) else { return nil }
    }
    if flags == 0 {
      // The stub's own compare set every flag compared here: the tracer sets the recorded ones.
      restoreScratch(&self)
      let trap = address
      emit(0xcc)  // int3
      emit(0x0f, 0x0b)  // ud2: the tracer moves rip on, never here
      for jump in sharedExitJumps { patch32(at: jump, to: address) }
      if !sharedExitJumps.isEmpty {
        restoreScratch(&self)  // sharedExit
        guard leave(&self) else { return nil }
      }
      return restorable ? trap : nil
    }
    emit(0x9c)  // pushfq
    emit(0x48, 0x8b, 0x0c, 0x24)  // mov (%rsp),%rcx
    emit(0x81, 0xe1)  // and $mask,%ecx
    emit32(UInt32(flags))
    emit(0x81, 0xf9)  // cmp $expected,%ecx
    emit32(UInt32(truncatingIfNeeded: target.eflags & flags))
    emit(0x75)  // jne flagsFail (rel8)
    let flagsJump = here
    emit(0)
    emit(0x9d)  // popfq
    restoreScratch(&self)
    let trap = address
    emit(0xcc)  // int3
    emit(0x0f, 0x0b)  // ud2: the tracer moves rip on, never here
    patch8(at: flagsJump, to: here)
    emit(0x9d)  // flagsFail: popfq
    for jump in sharedExitJumps { patch32(at: jump, to: address) }
    restoreScratch(&self)  // sharedExit
    guard leave(&self) else { return nil }
    return restorable ? trap : nil
  }

  /// REX.W `opcode` between general register `register` (encoding 0-7) and the memory at
  /// `slot`, addressed rip-relative: the mov/lea forms by which stubs reach their scratch page.
  mutating func ripRelative(_ opcode: UInt8, register: UInt8, _ slot: UInt64) -> Bool {
    guard let rel = rel32(from: address + 7, to: slot) else { return false }
    bytes += [0x48, opcode, 0x05 | register << 3] + rel
    return true
  }

  /// Adds 1 to the word at `counter` without touching the flags, leaving the new count in
  /// rcx and the thread's rcx in the word at `scratch`:
  /// mov %rcx,scratch(%rip); mov counter(%rip),%rcx; lea 1(%rcx),%rcx; mov %rcx,counter(%rip).
  mutating func countPass(in counter: UInt64, scratch: UInt64) -> Bool {
    guard movToMemory(rcxTo: scratch), movFromMemory(rcxFrom: counter) else { return false }
    emit(0x48, 0x8d, 0x49, 0x01)  // lea 1(%rcx),%rcx
    return movToMemory(rcxTo: counter)
  }

  /// mov %rsp,slot(%rip)
  mutating func moveRspToMemory(_ slot: UInt64) -> Bool { ripRelative(0x89, register: 4, slot) }
  /// lea slot(%rip),%rsp: a stack whose pushes go below `slot`.
  mutating func loadEffectiveAddress(ofRsp slot: UInt64) -> Bool { ripRelative(0x8d, register: 4, slot) }
  /// mov slot(%rip),%rsp
  mutating func moveMemoryToRsp(_ slot: UInt64) -> Bool { ripRelative(0x8b, register: 4, slot) }
  /// mov %rcx,scratch(%rip)
  mutating func movToMemory(rcxTo scratch: UInt64) -> Bool { ripRelative(0x89, register: 1, scratch) }
  /// mov scratch(%rip),%rcx
  mutating func movFromMemory(rcxFrom scratch: UInt64) -> Bool { ripRelative(0x8b, register: 1, scratch) }

  mutating func emit32(_ value: UInt32) { bytes += littleEndian(value) }
  mutating func emit64(_ value: UInt64) { bytes += littleEndian(value) }

  /// Aims the rel32 at byte `offset` (which ends 4 bytes later) at `target`.
  mutating func patch32(at offset: Int, to target: UInt64) {
    let rel = UInt32(truncatingIfNeeded: target &- (base + UInt64(offset + 4)))
    bytes.replaceSubrange(offset..<offset + 4, with: littleEndian(rel))
  }

  mutating func patch8(at offset: Int, to targetOffset: Int) {
    let rel = targetOffset - (offset + 1)
    precondition(rel >= -128 && rel < 128, "the stub's rel8 does not reach")
    bytes[offset] = UInt8(bitPattern: Int8(rel))
  }

  /// The rel32 from the end of an instruction ending at `end` to `target`, if it fits.
  func rel32(from end: UInt64, to target: UInt64) -> [UInt8]? {
    guard let rel = Int32(exactly: Int64(bitPattern: target &- end)) else { return nil }
    return littleEndian(UInt32(bitPattern: rel))
  }

  mutating func jump(to target: UInt64) -> Bool {
    guard let rel = rel32(from: address + 5, to: target) else { return false }
    bytes += [0xe9] + rel
    return true
  }

  /// Appends `instruction` so that it does here what it did where it was.
  mutating func relocate(_ instruction: PatchSite.Instruction) -> Bool {
    let decoded = instruction.decoded
    switch Int32(decoded.kind) {
    case Int32(REWIND_INSTRUCTION_JUMP):
      return jump(to: decoded.target)
    case Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP):
      guard let rel = rel32(from: address + 6, to: decoded.target) else { return false }
      bytes += [0x0f, 0x80 | decoded.condition] + rel
      return true
    case Int32(REWIND_INSTRUCTION_CALL):
      // call rel32, emulated without touching flags: make room for the return address,
      // store it through rax, jmp.
      emit(0x48, 0x8d, 0x64, 0x24, 0xf8)  // lea -8(%rsp),%rsp
      emit(0x50)  // push %rax
      emit(0x48, 0xb8)  // movabs $return,%rax
      emit64(instruction.address + UInt64(instruction.bytes.count))
      emit(0x48, 0x89, 0x44, 0x24, 0x08)  // mov %rax,8(%rsp)
      emit(0x58)  // pop %rax
      return jump(to: decoded.target)
    default:
      var copy = instruction.bytes
      if decoded.has_rip_operand != 0 {
        let offset = Int(decoded.displacement_offset)
        guard let rel = rel32(from: address + UInt64(copy.count), to: decoded.rip_target) else { return false }
        copy.replaceSubrange(offset..<offset + 4, with: rel)
        // Decode the copy where it will run: it must refer to the very same address.
        var check = rewind_instruction()
        let ok = copy.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress!, $0.count, address, &check) }
        guard ok != 0, check.size == decoded.size, check.has_rip_operand != 0, check.rip_target == decoded.rip_target else { return false }
      }
      bytes += copy
      return true
    }
  }
}

func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) } }
func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
