import CCapstone
import CodePatch
import Testing
import TraceFormat

@testable import Replayer

/// The loop of bench/alarm_loop.c at -O1, as gcc 12 lays it out at 0x12ab:
///   12ab: cmp %r12d,%ebx          12ae: jge 1298       12b0: add $0x1,%rbp
///   12b4: mov 0x2d7a(%rip),%eax   12ba: cmp %ebx,%eax  12bc: jle 12ab
///   12be: mov 0x2d70(%rip),%ebx   12c4: mov %rbp,%rdx
/// and, at 0x120c, the `jmp 12b0` that enters it in the middle.
private let loopStart: UInt64 = 0x12ab
private let loop: [UInt8] = [
  0x44, 0x39, 0xe3, 0x7d, 0xe8, 0x48, 0x83, 0xc5, 0x01, 0x8b, 0x05, 0x7a, 0x2d, 0x00, 0x00, 0x39, 0xd8, 0x7e, 0xed,
  0x8b, 0x1d, 0x70, 0x2d, 0x00, 0x00, 0x48, 0x89, 0xea,
] + Array(repeating: 0x90, count: 32)

private func code(from address: UInt64) -> [UInt8] { Array(loop[Int(address - loopStart)...]) }

private func contains(_ code: [UInt8], _ part: [UInt8]) -> Bool {
  code.count >= part.count && (0...(code.count - part.count)).contains { Array(code[$0..<($0 + part.count)]) == part }
}

/// The loop stub for a code point at `rip` with rbp (compared first) `rbp`, at 0x10000.
private func loopStub(_ site: PatchSite, rip: UInt64, rbp: UInt64 = 123_456, window: [UInt8] = loop, windowStart: UInt64 = loopStart)
  -> CompareStub?
{
  var target = Registers()
  target.rip = rip
  target.rbp = rbp
  let order = [4] + CompareStub.generalRegisters.map(\.index).filter { $0 != 4 }
  return CompareStub(loopAt: site, window: window, windowStart: windowStart, at: 0x10000, scratch: 0x11000, target: target, order: order)
}

@Suite struct PatchSiteTests {
  @Test func displacesWholeInstructionsAndKnowsWhatTheyReach() throws {
    let site = try PatchSite.plan(at: 0x12bc, codePoint: 0x12bc, code: code(from: 0x12bc)).get()
    #expect(site.instructions.map(\.address) == [0x12bc, 0x12be])
    #expect(site.length == 8)
    #expect(site.instructions[0].decoded.kind == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP))
    #expect(site.instructions[0].decoded.target == 0x12ab)
    #expect(site.instructions[1].decoded.has_rip_operand == 1)
    #expect(site.instructions[1].decoded.rip_target == 0x4034)
    #expect(Set(site.reachedAddresses) == [0x12bc, 0x12c4, 0x12ab, 0x4034])
  }

  @Test func findsADirectJumpIntoThePatchedBytes() throws {
    let site = try PatchSite.plan(at: 0x12ae, codePoint: 0x12ae, code: code(from: 0x12ae)).get()
    #expect(site.end == 0x12b4)
    // 0x1200: mov $0,%ebp; lea 0xdf8(%rip),%r13; jmp 12b0 — then the loop.
    let before: [UInt8] = [0xbd, 0, 0, 0, 0, 0x4c, 0x8d, 0x2d, 0xf8, 0x0d, 0, 0, 0xe9, 0x9f, 0, 0, 0]
    let window = before + Array(repeating: 0x90, count: Int(loopStart) - 0x1200 - before.count) + loop
    #expect(site.branchIntoInterior(window: window, windowStart: 0x1200) == 0x120c)
    // The loop's own jle goes to the site's start, which is fine.
    let sameLoop = try PatchSite.plan(at: 0x12ab, codePoint: 0x12ab, code: code(from: 0x12ab)).get()
    #expect(sameLoop.branchIntoInterior(window: window, windowStart: 0x1200) == nil)
  }

  @Test func refusesWhatCannotMove() {
    // jrcxz, then too short before a ret.
    guard case .failure = PatchSite.plan(at: 0x1000, codePoint: 0x1000, code: [0xe3, 0x10] + Array(repeating: 0x90, count: 30)) else {
      Issue.record("jrcxz was displaced")
      return
    }
    guard case .failure = PatchSite.plan(at: 0x1000, codePoint: 0x1000, code: [0x5d, 0xc3] + Array(repeating: 0xcc, count: 30)) else {
      Issue.record("pop %rbp; ret was patched with a 5-byte jump")
      return
    }
  }

  @Test func neverStartsEarlierAcrossPadding() {
    // nop; nopl 0(%rax); then an endbr64 function entry: calls through pointers land there.
    let bytes: [UInt8] = [0x90, 0x0f, 0x1f, 0x40, 0x00, 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5] + Array(repeating: 0xcc, count: 20)
    guard case .failure = PatchSite.plan(at: 0x1000, codePoint: 0x1005, code: bytes) else {
      Issue.record("patched across padding")
      return
    }
    // mov %rax,%rax; endbr64; push %rbp
    let entry: [UInt8] = [0x48, 0x89, 0xc0, 0xf3, 0x0f, 0x1e, 0xfa, 0x55] + Array(repeating: 0xcc, count: 24)
    guard case .failure(let refusal) = PatchSite.plan(at: 0x1000, codePoint: 0x1003, code: entry) else {
      Issue.record("patched from before an endbr64")
      return
    }
    #expect(refusal.description.contains("endbr64"))
  }

  @Test func startsEarlierOnlyFromCertainInstructionStarts() throws {
    // 80 bytes of nops, then the loop: every decode agrees on the loop's instructions.
    let padded = Array(repeating: UInt8(0x90), count: 80) + loop
    let starts = PatchSite.instructionStarts(before: 0x12ae, code: padded, codeStart: loopStart - 80)
    #expect(starts.first == 0x12ab)
    let site = try PatchSite.plan(at: 0x12ab, codePoint: 0x12ae, code: code(from: 0x12ab)).get()
    #expect(site.codePointIndex == 1 && site.length == 5)
  }
}

/// glibc's memcpy/mempcpy layout: 0fe0 ret, padding; 1000 `jmp 1083` (mempcpy's jump to
/// memcpy+3), 8 bytes of nopl, nops; 1080 `mov %rdi,%rax` (memcpy), 1083 `cmp $0x20,%rdx`,
/// 1087 ret. A jmp rel32 at 1080 would cover 1083, where the jmp lands.
private let twoEntries: [UInt8] = {
  var bytes = [UInt8](repeating: 0xcc, count: 0x20)
  bytes[0] = 0xc3
  bytes += [0xe9, 0x7e, 0x00, 0x00, 0x00]  // 1000: jmp 1083
  bytes += [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00]  // 1005: nopl 0(%rax,%rax,1)
  bytes += [UInt8](repeating: 0x90, count: 0x1080 - 0x100d)
  bytes += [0x48, 0x89, 0xf8, 0x48, 0x83, 0xfa, 0x20, 0xc3]  // 1080: mov; cmp; ret
  return bytes + [UInt8](repeating: 0xcc, count: 40)
}()

@Suite struct CompareStubTests {
  @Test func trapsOnlyAfterEveryCompareAndJumpsBack() throws {
    let site = try PatchSite.plan(at: 0x12bc, codePoint: 0x12bc, code: code(from: 0x12bc)).get()
    var target = Registers()
    target.rip = 0x12bc
    target.rbp = 123_456
    target.eflags = 0x246
    let order = CompareStub.generalRegisters.map(\.index)
    let stub = try #require(CompareStub(site: site, at: 0x10000, scratch: 0x11000, target: target, order: order))
    #expect(stub.code[Int(stub.trapAddress - 0x10000)] == 0xcc)
    #expect(stub.code.count < 4096)
    // The displaced jle still goes to 0x12ab, the mov still reads 0x4034, and the copy ends
    // with a jump to 0x12c4: decode the second exit path.
    var address = stub.displacedAddress
    var targets: [UInt64] = []
    for _ in 0..<3 {
      let offset = Int(address - 0x10000)
      var decoded = rewind_instruction()
      #expect(stub.code.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress! + offset, $0.count - offset, address, &decoded) } == 1)
      targets.append(decoded.has_rip_operand != 0 ? decoded.rip_target : decoded.target)
      address += UInt64(decoded.size)
    }
    #expect(targets == [0x12ab, 0x4034, 0x12c4])
    let patches = try #require(CompareStub.patches(site, jumpingTo: 0x10000))
    let patch = patches[0].bytes
    #expect(patches.count == 1 && patches[0].address == 0x12bc)
    #expect(patch.count == 8 && patch[0] == 0xe9 && patch[5...].allSatisfy { $0 == 0xcc })
  }

  @Test func copiesATightLoopWholeWhenRcxIsFree() throws {
    let site = try PatchSite.plan(at: 0x12bc, codePoint: 0x12bc, code: code(from: 0x12bc)).get()
    let stub = try #require(loopStub(site, rip: 0x12bc))
    #expect(stub.entryAddress >= 0x10000 && stub.entryAddress < 0x10000 + UInt64(stub.code.count))
    // A loop that uses rcx cannot keep it for the compare: 12bc jle 12ab; 12ab add %rcx,%rbp; 12ae jmp 12bc.
    let rcxLoop: [UInt8] = [0x48, 0x01, 0xcd, 0xeb, 0x0c] + Array(repeating: 0x90, count: 12) + [0x7e, 0xed] + Array(repeating: 0x90, count: 40)
    let rcxSite = try PatchSite.plan(at: 0x12bc, codePoint: 0x12bc, code: Array(rcxLoop[17...])).get()
    #expect(loopStub(rcxSite, rip: 0x12bc, window: rcxLoop, windowStart: 0x12ab) == nil)
  }

  /// Where every arithmetic flag is set before any is read (add, cmp; a mov first changes
  /// nothing), the loop stub compares with cmp/je at the code point and leaves the flags to
  /// the tracer; before the loop's jle, which reads them, the cmp goes before the
  /// `cmp %ebx,%eax` that sets them again, and the stub compares them itself.
  @Test func comparesWithCmpWhereTheFlagsAreDead() throws {
    func stub(at codePoint: UInt64, rbp: UInt64) throws -> CompareStub {
      let site = try PatchSite.plan(at: codePoint, codePoint: codePoint, code: code(from: codePoint)).get()
      return try #require(loopStub(site, rip: codePoint, rbp: rbp))
    }
    let cmpRbp: [UInt8] = [0x48, 0x81, 0xfd, 0x40, 0xe2, 0x01, 0x00, 0x0f, 0x84]  // cmp $123456,%rbp; je rel32
    for codePoint: UInt64 in [0x12ab, 0x12b0, 0x12b4] {
      let atPoint = try stub(at: codePoint, rbp: 123_456)
      #expect(atPoint.uncomparedFlags == CompareStub.flagsMask & ~0x400, "at \(String(codePoint, radix: 16))")
      #expect(contains(atPoint.code, cmpRbp) && atPoint.firstCompare.contains("at the code point"))
    }
    let beforeJump = try stub(at: 0x12bc, rbp: 123_456)
    #expect(beforeJump.uncomparedFlags == 0 && contains(beforeJump.code, cmpRbp))
    #expect(beforeJump.firstCompare.hasPrefix("cmp/je of rbp before 0x12ba"))
    let path = try #require(CompareStub.loopPath(from: 0x12bc, window: loop, windowStart: loopStart))
    #expect(path.map(\.instruction.address) == [0x12bc, 0x12ab, 0x12ae, 0x12b0, 0x12b4, 0x12ba])
    #expect(CompareStub.earlyCheckIndex(path, register: 5) == 5)  // rbp
    let fromAdd = try #require(CompareStub.loopPath(from: 0x12b0, window: loop, windowStart: loopStart))
    #expect(CompareStub.earlyCheckIndex(fromAdd, register: 5) == fromAdd.count)
    // 1000: cmp %r12d,%ebx; 1003: add $1,%rbp; 1007: jle 1000. The add sets the flags the
    // jle reads, so a check of rbp would have to come before the add, which changes it.
    let addLast: [UInt8] = [0x44, 0x39, 0xe3, 0x48, 0x83, 0xc5, 0x01, 0x7e, 0xf7] + Array(repeating: 0x90, count: 32)
    let addPath = try #require(CompareStub.loopPath(from: 0x1007, window: addLast, windowStart: 0x1000))
    #expect(CompareStub.earlyCheckIndex(addPath, register: 5) == nil)  // rbp
    #expect(CompareStub.earlyCheckIndex(addPath, register: 3) == 2)  // rbx
    // A value too wide for an imm32 is compared with a word in the scratch page:
    // cmp disp32(%rip),%rbp (48 3b 2d).
    let wide = try stub(at: 0x12b0, rbp: 1 << 40)
    #expect(contains(wide.code, [0x48, 0x3b, 0x2d]) && wide.data.contains(1 << 40) && wide.dataAddress == 0x11008)
    // A loop that uses rcx can be copied whole when the compare needs no rcx: 12ab add
    // %rcx,%rbp (which sets every flag); 12ae jmp 12bc; 12bc jle 12ab. rcx is never saved.
    let rcxLoop: [UInt8] = [0x48, 0x01, 0xcd, 0xeb, 0x0c] + Array(repeating: 0x90, count: 12) + [0x7e, 0xed] + Array(repeating: 0x90, count: 40)
    let rcxSite = try PatchSite.plan(at: 0x12ab, codePoint: 0x12ab, code: rcxLoop).get()
    let withRcx = try #require(loopStub(rcxSite, rip: 0x12ab, window: rcxLoop, windowStart: 0x12ab))
    #expect(withRcx.uncomparedFlags != 0 && contains(withRcx.code, cmpRbp) && !contains(withRcx.code, [0x48, 0x89, 0x0d]))
    #expect(!withRcx.firstCompare.contains("every"))  // rbp moves by rcx, no constant: no fast lane
  }

  /// rbp, which `add $1,%rbp` moves by 1 a pass, is the loop's induction register: the stub
  /// unrolls the loop and checks it against a threshold (cmp disp32(%rip),%rbp; jae) once a
  /// round, so that most passes run no compare at all.
  @Test func aFastLaneForALoopsInductionRegister() throws {
    let site = try PatchSite.plan(at: 0x12bc, codePoint: 0x12bc, code: code(from: 0x12bc)).get()
    let stub = try #require(loopStub(site, rip: 0x12bc, rbp: 123_456))
    let path = try #require(CompareStub.loopPath(from: 0x12bc, window: loop, windowStart: loopStart))
    let copies = CompareStub.fastLaneCopies(path)
    #expect(copies > 4 && stub.firstCompare.hasSuffix("a check every \(copies) passes"))
    #expect(stub.data == [123_456 - UInt64(copies - 1)])
    #expect(contains(stub.code, [0x48, 0x3b, 0x2d]))
    // The loop's own jle closes the fast lane and the precise loop; the unrolled copies
    // fall through an inverted jg (0f 8f) that leaves.
    #expect(contains(stub.code, [0x0f, 0x8e]) && contains(stub.code, [0x0f, 0x8f]))
    let check = try #require(CompareStub.loopCheck(path, first: 10))  // rax first: still rbp
    #expect(check.index == 4 && check.step == 1 && check.position == 5)
  }

  /// A round of `copies` passes that starts below the threshold ends below the recorded
  /// value, and one that starts at it or above goes to the precise compare; a threshold that
  /// would wrap sends every round there.
  @Test func fastLaneThresholds() {
    #expect(CompareStub.fastLaneThreshold(expected: 1000, step: 1, copies: 16) == (985, 0x3))
    #expect(CompareStub.fastLaneThreshold(expected: 1000, step: 8, copies: 16) == (880, 0x3))
    #expect(CompareStub.fastLaneThreshold(expected: 10, step: 1, copies: 16) == (0, 0x3))
    #expect(CompareStub.fastLaneThreshold(expected: 1000, step: -3, copies: 16) == (1045, 0x6))
    #expect(CompareStub.fastLaneThreshold(expected: .max - 2, step: -1, copies: 16) == (.max, 0x6))
  }

  /// A site that starts before the code point (12ab, for a point at the jge 12ae that the
  /// `jmp 12b0` at 120c keeps from being patched) still gets the loop stub: the patch enters
  /// through a copy of `cmp %r12d,%ebx`, a task stopped at the point resumes at the compare.
  @Test func loopStubFromASiteThatStartsEarlier() throws {
    let site = try PatchSite.plan(at: 0x12ab, codePoint: 0x12ae, code: code(from: 0x12ab)).get()
    #expect(site.codePointIndex == 1)
    let stub = try #require(loopStub(site, rip: 0x12ae))
    #expect(stub.relocatedAddresses.count == 2 && stub.relocatedAddresses[0] == stub.entryAddress)
    #expect(stub.relocatedAddresses[1] != stub.entryAddress)
    // The entry starts with the copy of the cmp (44 39 e3).
    let offset = Int(stub.entryAddress - 0x10000)
    #expect(Array(stub.code[offset..<(offset + 3)]) == [0x44, 0x39, 0xe3])
  }

  /// A shift by %cl may shift by zero and leave the flags alone, so it does not count as
  /// setting them; an add does. (1000: shl %cl,%rbp or add $1,%rbp; then jle 1000.)
  @Test func aShiftByClDoesNotKillTheFlags() throws {
    let shift: [UInt8] = [0x48, 0xd3, 0xe5, 0x7e, 0xfb] + Array(repeating: 0x90, count: 32)
    let add: [UInt8] = [0x48, 0x83, 0xc5, 0x01, 0x7e, 0xfa] + Array(repeating: 0x90, count: 32)
    let shiftPath = try #require(CompareStub.loopPath(from: 0x1000, window: shift, windowStart: 0x1000))
    let addPath = try #require(CompareStub.loopPath(from: 0x1000, window: add, windowStart: 0x1000))
    #expect(!CompareStub.flagsAreDead(along: shiftPath))
    #expect(CompareStub.flagsAreDead(along: addPath))
  }

  /// Where a branch lands just after the code point (memcpy+3), the patch is a jmp rel8 to
  /// a jmp rel32 written over the dead padding after mempcpy's jmp, within rel8 reach.
  @Test func aShortSiteJumpsThroughATrampolineInDeadPadding() throws {
    let start: UInt64 = 0xfe0
    let full = try PatchSite.plan(at: 0x1080, codePoint: 0x1080, code: Array(twoEntries[0xa0...])).get()
    #expect(full.branchIntoInterior(window: twoEntries, windowStart: start) == 0x1000)
    var short = try PatchSite.plan(at: 0x1080, codePoint: 0x1080, code: Array(twoEntries[0xa0...]), minimumLength: 2).get()
    #expect(short.length == 3 && short.branchIntoInterior(window: twoEntries, windowStart: start) == nil)
    let padding = PatchSite.deadPadding(before: 0x1080, site: 0x1080, code: twoEntries, codeStart: start)
    // The int3 run after the ret at 0fe0 is out of reach; the run after the jmp starts at 1005.
    #expect(padding.first?.run == 0x1005..<0x1080 && padding.first?.trampoline == 0x1005)
    #expect(padding.count == 1)
    short.trampoline = (0x1005, Array(twoEntries[0x25..<0x2a]))
    let patches = try #require(CompareStub.patches(short, jumpingTo: 0x20000))
    #expect(patches.map(\.address) == [0x1005, 0x1080])
    #expect(patches[0].bytes == [0xe9] + littleEndian(UInt32(0x20000 - 0x100a)))
    #expect(patches[1].bytes == [0xeb, UInt8(bitPattern: Int8(0x1005 - 0x1082)), 0xcc])
    #expect(short.originalWrites.map(\.address) == [0x1080, 0x1005])
    #expect(short.reachedAddresses.contains(0x1005))
    // Padding that a jcc falls through into runs, and is not dead: 1000 `jb` instead of jmp.
    var live = Array(twoEntries[..<0x20]) + [0x0f, 0x82, 0x7d, 0x00, 0x00, 0x00]  // 1000: jb 1083
    live += [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00] + [UInt8](repeating: 0x90, count: 0x1080 - 0x100e)
    live += twoEntries[0xa0...]
    #expect(live.count == twoEntries.count)
    #expect(PatchSite.deadPadding(before: 0x1080, site: 0x1080, code: live, codeStart: start).isEmpty)
    // A function at 1010 that starts with a nop (patchable entry) ends the dead part of the
    // run at the 16-byte boundary: the trampoline fits in 1005..<1010 and no further.
    #expect(padding.first.map { $0.trampoline + 5 <= 0x1010 } == true)
    // Without the jmp's 5 bytes of room before the boundary there is none: `ret` at 100c.
    var tight = Array(twoEntries[..<0x20]) + [UInt8](repeating: 0xcc, count: 0x0c) + [0xc3]
    tight += [UInt8](repeating: 0x90, count: 0x1080 - 0x100d) + twoEntries[0xa0...]
    #expect(tight.count == twoEntries.count)
    #expect(PatchSite.deadPadding(before: 0x1080, site: 0x1080, code: tight, codeStart: start).isEmpty)
    // Under a debugger, int3 is not padding: a run of them after the ret at 0fe0 would not count.
    let int3s = Array(twoEntries[..<0x20]) + [0xc3] + [UInt8](repeating: 0xcc, count: 0x1080 - 0x1001) + twoEntries[0xa0...]
    #expect(!PatchSite.deadPadding(before: 0x1080, site: 0x1080, code: int3s, codeStart: start).isEmpty)
    #expect(PatchSite.deadPadding(before: 0x1080, site: 0x1080, code: int3s, codeStart: start, int3IsPadding: false).isEmpty)
  }

  /// C1's `s += j % 7` (Tests/Fixtures/jit_idiv_loop.c, at 0x1000): a jmp rel32 over the
  /// idiv at 1038 covers 103a, where the je at 1031 lands. The patch re-aims that je at the
  /// stub's copy of the instructions from 103a; only branches that are certain instruction
  /// starts, rel32, and land at or after the code point can be re-aimed.
  @Test func reAimsTheBranchesIntoThePatchedBytes() throws {
    let base: UInt64 = 0x1000
    let c1: [UInt8] = [
      0x53, 0x49, 0x89, 0xf8, 0xbf, 0, 0, 0, 0, 0x48, 0xc7, 0xc3, 0, 0, 0, 0, 0xe9, 0x33, 0, 0, 0, 0x66, 0x66, 0x90,
      0x48, 0x8b, 0xc7, 0xb9, 0x07, 0, 0, 0, 0x81, 0xf8, 0, 0, 0, 0x80, 0x0f, 0x85, 0x0b, 0, 0, 0, 0x33, 0xd2,
      0x83, 0xf9, 0xff, 0x0f, 0x84, 0x03, 0, 0, 0, 0x99, 0xf7, 0xf9, 0x48, 0x63, 0xd2, 0x48, 0x03, 0xd3, 0xff, 0xc7,
      0x48, 0x8b, 0xda, 0x90, 0x90, 0x90, 0x44, 0x39, 0xc7, 0x0f, 0x8c, 0xc7, 0xff, 0xff, 0xff, 0x48, 0x8b, 0xc3, 0x5b, 0xc3,
    ] + [UInt8](repeating: 0xf4, count: 64)
    let point: UInt64 = 0x1038
    var site = try PatchSite.plan(at: point, codePoint: point, code: Array(c1[0x38...])).get()
    #expect(site.end == 0x103d)
    var index = BranchIndex()
    let found = index.branches(into: (point + 1)..<site.end, site: point, window: c1, windowStart: base)
    let sources = try #require(found)
    #expect(sources.contains(0x1031))
    let certain = PatchSite.reached(from: point, window: c1, windowStart: base)
    #expect(certain.isSuperset(of: [0x1018, 0x1026, 0x1031, 0x1037, 0x104b]))
    let retargets = try PatchSite.retargets(for: site, sources: sources, certain: certain, window: c1, windowStart: base).get()
    #expect(retargets.map(\.address) == [0x1031] && retargets.map(\.target) == [0x103a])
    // A branch not known to be an instruction start may be a false decode: refused.
    guard case .failure = PatchSite.retargets(for: site, sources: sources, certain: [], window: c1, windowStart: base) else {
      Issue.record("re-aimed a branch not known to be an instruction")
      return
    }
    // A je rel8 cannot reach a stub: 1031 `je 103a` as 74 07 and 5 bytes of nop.
    var short = c1
    short.replaceSubrange(0x31..<0x37, with: [0x74, 0x07, 0x0f, 0x1f, 0x40, 0x00])
    let shortFound = index.branches(into: (point + 1)..<site.end, site: point, window: short, windowStart: base)
    let shortSources = try #require(shortFound)
    let shortCertain = PatchSite.reached(from: point, window: short, windowStart: base)
    guard case .failure = PatchSite.retargets(for: site, sources: shortSources, certain: shortCertain, window: short, windowStart: base) else {
      Issue.record("re-aimed a jcc rel8")
      return
    }
    site.retargets = retargets
    #expect(site.originalWrites.map(\.address) == [point, 0x1031])
    #expect(site.reachedAddresses.contains(0x1037))
    var target = Registers()
    target.rip = point
    var stub = try #require(CompareStub(site: site, at: 0x20000, scratch: 0x21000, target: target, order: [10]))
    let before = stub.code.count
    let added = stub.addRetargetEntries(for: site)
    let entries = try #require(added)
    let entry = try #require(entries[0x103a])
    #expect(entry == 0x20000 + UInt64(before))
    // movslq %edx,%rdx, then jmp 103d.
    #expect(Array(stub.code[before...]) == [0x48, 0x63, 0xd2, 0xe9] + littleEndian(UInt32(truncatingIfNeeded: 0x103d &- (entry + 8))))
    let patches = try #require(CompareStub.patches(site, jumpingTo: stub.entryAddress, entries: entries))
    #expect(patches.map(\.address) == [0x1031, point])
    #expect(patches[0].bytes == [0x0f, 0x84] + littleEndian(UInt32(truncatingIfNeeded: entry &- 0x1037)))
    #expect(CompareStub.patches(site, jumpingTo: stub.entryAddress) == nil)
  }

  /// What counts as adding a constant to a register: add/sub $imm, inc, dec and lea
  /// disp(r),r at 32 or 64 bits; not an add of a register, nor an 8-bit add, nor an lea into
  /// another register.
  @Test func decodesAddsOfAConstant() {
    func added(_ bytes: [UInt8]) -> (register: UInt8, width: UInt8, constant: Int64)? {
      var decoded = rewind_instruction()
      let padded = bytes + Array(repeating: 0x90, count: 15)
      guard padded.withUnsafeBufferPointer({ rewind_decode_instruction($0.baseAddress!, $0.count, 0x1000, &decoded) }) == 1,
        decoded.adds_constant != 0
      else { return nil }
      return (decoded.added_register, decoded.added_width, decoded.added_constant)
    }
    #expect(added([0x48, 0x83, 0xc5, 0x01])! == (5, 8, 1))  // add $1,%rbp
    #expect(added([0x83, 0xeb, 0x03])! == (3, 4, -3))  // sub $3,%ebx
    #expect(added([0x48, 0x8d, 0x7f, 0x08])! == (7, 8, 8))  // lea 8(%rdi),%rdi
    #expect(added([0x49, 0xff, 0xcc])! == (12, 8, -1))  // dec %r12
    #expect(added([0xff, 0xc1])! == (1, 4, 1))  // inc %ecx
    #expect(added([0x48, 0x01, 0xcd]) == nil)  // add %rcx,%rbp
    #expect(added([0x80, 0xc3, 0x01]) == nil)  // add $1,%bl
    #expect(added([0x48, 0x8d, 0x58, 0x01]) == nil)  // lea 1(%rax),%rbx
    #expect(added([0x48, 0x8d, 0x04, 0x08]) == nil)  // lea (%rax,%rcx),%rax
  }

  /// What Capstone 4 leaves out and the shim adds: adc, sbb, rcl, rcr, cmc and adcx read the
  /// carry (adox the overflow flag); a failed cmpxchg loads rax, cmpxchg16b rdx:rax, xlatb
  /// al. A carry chain (adc ... dec; jnz) keeps the flags live all round: no cmp goes in it.
  @Test func fillsCapstonesGaps() throws {
    func decoded(_ bytes: [UInt8]) -> rewind_instruction {
      var decoded = rewind_instruction()
      let padded = bytes + Array(repeating: 0x90, count: 15)
      _ = padded.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress!, $0.count, 0x1000, &decoded) }
      return decoded
    }
    let carry = UInt8(REWIND_FLAG_CF)
    for bytes: [UInt8] in [[0x48, 0x11, 0xd3], [0x48, 0x19, 0xd3], [0x48, 0xd1, 0xd3], [0xf5], [0x66, 0x48, 0x0f, 0x38, 0xf6, 0xda]] {
      #expect(decoded(bytes).flags_read & carry != 0, "\(bytes)")
    }
    #expect(decoded([0xf3, 0x48, 0x0f, 0x38, 0xf6, 0xda]).flags_read & UInt8(REWIND_FLAG_OF) != 0)  // adox
    #expect(decoded([0xf0, 0x48, 0x0f, 0xb1, 0x17]).registers_written & 1 != 0)  // lock cmpxchg %rdx,(%rdi)
    #expect(decoded([0x48, 0x0f, 0xc7, 0x0f]).registers_written & 5 == 5)  // cmpxchg16b (%rdi)
    #expect(decoded([0xd7]).registers_written & 1 != 0)  // xlatb
    // bsf leaves flags other than ZF undefined: written, but not defined.
    let bsf = decoded([0x48, 0x0f, 0xbc, 0xda])
    #expect(bsf.flags_defined == UInt8(REWIND_FLAG_ZF) && bsf.flags_written == UInt8(REWIND_FLAGS_ALL))
    // 1000: adc %rdx,%rbx; 1003: lea 8(%rsi),%rsi; 1007: dec %rcx; 100a: jnz 1000.
    let chain: [UInt8] = [0x48, 0x11, 0xd3, 0x48, 0x8d, 0x76, 0x08, 0x48, 0xff, 0xc9, 0x75, 0xf4] + Array(repeating: 0x90, count: 32)
    let path = try #require(CompareStub.loopPath(from: 0x1000, window: chain, windowStart: 0x1000))
    #expect(path.count == 4 && !CompareStub.flagsAreDead(along: path))
    #expect(CompareStub.loopCheck(path, first: 10) == nil)  // nowhere for a cmp, on any register
  }

  @Test func recognizesInterruptibleStringInstructions() throws {
    let movsq = try #require(RepeatedString(bytes: [0xf3, 0x48, 0xa5]))
    #expect(movsq.length == 3 && movsq.elementSize == 8 && movsq.usesSource)
    let stosb = try #require(RepeatedString(bytes: [0xf3, 0xaa]))
    #expect(stosb.elementSize == 1 && !stosb.usesSource)
    #expect(RepeatedString(bytes: [0xa5]) == nil)
    var target = Registers()
    (target.rip, target.rcx, target.rsi, target.rdi, target.eflags) = (0x1354, 10, 0x2050, 0x3050, 0x246)
    var start = target
    (start.rcx, start.rsi, start.rdi) = (20, 0x2000, 0x3000)
    #expect(movsq.iterations(from: start, to: target) == 10)
    start.rdi += 8
    #expect(movsq.iterations(from: start, to: target) == nil)
  }
}

@Suite struct SharedAddressSpacesTests {
  /// A vfork child and its parent share memory until the child execs or exits; so do the
  /// children of clone(CLONE_VM) with each other's parent.
  @Test func sharingEndsWhenTheChildLeaves() {
    var spaces = SharedAddressSpaces()
    spaces.share(100, 101)
    spaces.share(100, 102)
    #expect(spaces.isShared(100) && spaces.isShared(101) && spaces.isShared(102))
    spaces.leave(101)
    #expect(spaces.isShared(100) && !spaces.isShared(101) && spaces.isShared(102))
    spaces.leave(102)
    #expect(!spaces.isShared(100) && !spaces.isShared(102))
    // Transitively: P clones C, C clones D, C exits: P and D still share.
    spaces.share(1, 2)
    spaces.share(2, 3)
    spaces.leave(2)
    #expect(spaces.isShared(1) && spaces.isShared(3) && spaces.sharers(of: 1) == [1, 3])
    #expect(spaces.sharers(of: 7) == [7])
  }
}

/// HotSpot C1 code of a Java lambda's counted loop, as a recording of java met it at
/// 0x7fffd940f467: 89 bytes of the code cache's data (relocations, oops), then the method
/// at f4c0. `jmp f56a` at f500 enters the loop at its condition, and the loop's last
/// instruction before it is f567 `mov %rax,%rbx` (3 bytes), where the recording preempted
/// the thread: no jmp rel32 fits there, and no decode of the bytes before it gets through
/// the data. f561 `incl 0x158(%rbx)` (the backedge counter) comes round the loop before it.
private let jitStart: UInt64 = 0x7fff_d940_f467
private let jitLoop: [UInt8] = [
  0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0c, 0xc0, 0x59, 0xc0, 0x2f, 0xa0, 0x03,
  0xc0, 0x19, 0xc0, 0x30, 0x10, 0x32, 0xb0, 0x33, 0x64, 0x20, 0xc0, 0x17, 0x64, 0x0a, 0xc0, 0x17,
  0x64, 0x95, 0xf0, 0x0a, 0x80, 0x11, 0x64, 0x29, 0x64, 0x1f, 0x00, 0x00, 0x64, 0x03, 0xf8, 0x9b,
  0xf7, 0x4a, 0xd6, 0xff, 0x7f, 0x05, 0x70, 0x0e, 0x64, 0x01, 0xf8, 0x9e, 0xff, 0x06, 0x90, 0x0c,
  0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff,
  0x55, 0x48, 0x83, 0xec, 0x60, 0x48, 0xbf, 0xa8, 0x0c, 0x40, 0x94, 0xff, 0x7f, 0x00, 0x00, 0x8b,
  0x9f, 0xf4, 0x00, 0x00, 0x00, 0x83, 0xc3, 0x02, 0x89, 0x9f, 0xf4, 0x00, 0x00, 0x00, 0x81, 0xe3,
  0xfe, 0x07, 0x00, 0x00, 0x83, 0xfb, 0x00, 0x0f, 0x84, 0x31, 0x01, 0x00, 0x00, 0xbf, 0x00, 0x00,
  0x00, 0x00, 0x48, 0xc7, 0xc3, 0x00, 0x00, 0x00, 0x00, 0xe9, 0x65, 0x00, 0x00, 0x00, 0x66, 0x66,
  0x90, 0x48, 0x63, 0xc7, 0x48, 0x63, 0xce, 0x48, 0x0f, 0xaf, 0xc1, 0xb9, 0x03, 0x00, 0x00, 0x00,
  0x48, 0x8b, 0xd3, 0x48, 0xd3, 0xea, 0x48, 0x33, 0xc2, 0x48, 0x03, 0xc3, 0xff, 0xc7, 0x48, 0xbb,
  0xa8, 0x0c, 0x40, 0x94, 0xff, 0x7f, 0x00, 0x00, 0x8b, 0x93, 0xf8, 0x00, 0x00, 0x00, 0x83, 0xc2,
  0x02, 0x89, 0x93, 0xf8, 0x00, 0x00, 0x00, 0x81, 0xe2, 0xfe, 0x3f, 0x00, 0x00, 0x83, 0xfa, 0x00,
  0x0f, 0x84, 0xf9, 0x00, 0x00, 0x00, 0x4d, 0x8b, 0x97, 0x48, 0x03, 0x00, 0x00, 0x41, 0x85, 0x02,
  0x48, 0xbb, 0xa8, 0x0c, 0x40, 0x94, 0xff, 0x7f, 0x00, 0x00, 0xff, 0x83, 0x58, 0x01, 0x00, 0x00,
  0x48, 0x8b, 0xd8, 0x81, 0xff, 0x00, 0x2d, 0x31, 0x01, 0x48, 0xb8, 0xa8, 0x0c, 0x40, 0x94, 0xff,
  0x7f, 0x00, 0x00, 0x48, 0xc7, 0xc1, 0x48, 0x01, 0x00, 0x00, 0x0f, 0x8c, 0x07, 0x00, 0x00, 0x00,
  0x48, 0xc7, 0xc1, 0x38, 0x01, 0x00, 0x00, 0x48, 0x8b, 0x14, 0x08, 0x48, 0x8d, 0x52, 0x01, 0x48,
  0x89, 0x14, 0x08, 0x0f, 0x8c, 0x68, 0xff, 0xff, 0xff, 0x48, 0xbe, 0x50, 0x49, 0x48, 0x87, 0x06,
  0x00, 0x00, 0x00, 0xc5, 0xfb, 0x10, 0x46, 0x70, 0xc4, 0xe1, 0xf9, 0x7e, 0xc7, 0x48, 0x03, 0xfb,
  0x48, 0x89, 0x7c, 0x24, 0x50, 0xc5, 0xfb, 0x10, 0x44, 0x24, 0x50, 0xc5, 0xfb, 0x11, 0x46, 0x70,
  0xf0, 0x83, 0x44, 0x24, 0xc0, 0x00, 0x48, 0x83, 0xc4, 0x60, 0x5d, 0x49, 0x3b, 0xa7, 0x40, 0x03,
  0x00, 0x00, 0x0f, 0x87, 0x88, 0x00, 0x00, 0x00, 0xc3,
]

@Suite struct JITPatchSiteTests {
  @Test func startsEarlierFromTheLoopWhereDataPrecedesTheCode() throws {
    let point: UInt64 = 0x7fff_d940_f567
    let window = jitLoop
    let at = try PatchSite.plan(at: point, codePoint: point, code: Array(window[Int(point - jitStart)...])).get()
    #expect(at.branchIntoInterior(window: window, windowStart: jitStart) == 0x7fff_d940_f500)
    #expect(PatchSite.instructionStarts(before: point, code: window, codeStart: jitStart).isEmpty)
    let starts = PatchSite.startsReached(from: point, window: window, windowStart: jitStart)
    #expect(starts.first == 0x7fff_d940_f561)
    #expect(starts.allSatisfy { $0 < point && $0 + 32 >= point })
    let site = try PatchSite.plan(at: 0x7fff_d940_f561, codePoint: point, code: Array(window[Int(0x7fff_d940_f561 - jitStart)...])).get()
    #expect(site.codePointIndex == 1 && site.end == 0x7fff_d940_f56a)
    #expect(site.branchIntoInterior(window: window, windowStart: jitStart) == nil)
    // The loop's copy, entered through a copy of the counter's increment, checks rdi (the
    // loop's index, `inc %edi`) in a fast lane.
    var target = Registers()
    target.rip = point
    target.rdi = 0x344aaf
    let order = [14] + CompareStub.generalRegisters.map(\.index).filter { $0 != 14 }
    let stub = try #require(
      CompareStub(loopAt: site, window: window, windowStart: jitStart, at: 0x7fff_d93f_d000, scratch: 0x7fff_d93f_e000, target: target, order: order))
    #expect(stub.firstCompare.hasPrefix("cmp/je of rdi"))
    #expect(stub.relocatedAddresses.count == 2)
  }

  @Test func startsReachedStopAtCallsAndReturns() {
    // 1000: call 1100; 1005: mov %rax,%rbx; 1008: ret — nothing leads back to 1005 from it.
    let code: [UInt8] = [0xe8, 0xfb, 0x00, 0x00, 0x00, 0x48, 0x89, 0xc3, 0xc3] + Array(repeating: 0xcc, count: 32)
    #expect(PatchSite.startsReached(from: 0x1005, window: code, windowStart: 0x1000).isEmpty)
    // A loop: 1000: add %rdx,%rax; 1003: dec %ecx; 1005: jne 1000 — from 1005 round to both.
    let loop: [UInt8] = [0x48, 0x01, 0xd0, 0xff, 0xc9, 0x75, 0xf9, 0xc3] + Array(repeating: 0xcc, count: 32)
    #expect(PatchSite.startsReached(from: 0x1005, window: loop, windowStart: 0x1000) == [0x1003, 0x1000])
  }
}
