import Testing
import TraceFormat

@testable import Replayer

/// The indirect calls and jumps reverse-stepi follows, decoded from their bytes and aimed
/// with registers and memory given here.
@Suite struct IndirectBranchTests {
  /// Registers whose general registers hold 0x1000 times their x86 encoding plus 1.
  private func registers() -> Registers {
    var words = [UInt64](repeating: 0, count: 27)
    for entry in CompareStub.generalRegisters { words[entry.index] = 0x1000 * UInt64(entry.encoding) + 1 }
    return Registers(words: words)
  }

  @Test func throughARegister() throws {
    // call *%rdx, call *%r11 (REX.B), notrack jmp *%rax.
    let call = try #require(IndirectBranch([0xff, 0xd2]))
    #expect(call.kind == .call && call.operand == .register(2) && call.size == 2)
    #expect(call.target(at: 0x400000, registers: registers(), read: { _ in nil }) == 0x2001)
    let r11 = try #require(IndirectBranch([0x41, 0xff, 0xd3]))
    #expect(r11.operand == .register(11) && r11.size == 3)
    #expect(r11.target(at: 0, registers: registers(), read: { _ in nil }) == 0xb001)
    let jump = try #require(IndirectBranch([0x3e, 0xff, 0xe0]))
    #expect(jump.kind == .jump && jump.size == 3)
  }

  @Test func throughMemory() throws {
    // A PLT entry's jmp *0x2fca(%rip), with bnd; the slot is read from the next instruction's address.
    let plt = try #require(IndirectBranch([0xf2, 0xff, 0x25, 0xca, 0x2f, 0x00, 0x00]))
    #expect(plt.kind == .jump && plt.operand == .memory(base: nil, index: nil, scale: 1, displacement: 0x2fca, ripRelative: true) && plt.size == 7)
    #expect(plt.target(at: 0x1030, registers: registers(), read: { $0 == 0x1037 + 0x2fca ? 0x7fff_0000 : nil }) == 0x7fff_0000)
    // call *-0x8(%rbx) (disp8, sign-extended) and call *0x100(%r13) (REX.B, disp32).
    let rbx = try #require(IndirectBranch([0xff, 0x53, 0xf8]))
    #expect(rbx.operand == .memory(base: 3, index: nil, scale: 1, displacement: -8, ripRelative: false) && rbx.size == 3)
    #expect(rbx.target(at: 0, registers: registers(), read: { $0 == 0x3001 - 8 ? 42 : nil }) == 42)
    let r13 = try #require(IndirectBranch([0x41, 0xff, 0x95, 0x00, 0x01, 0x00, 0x00]))
    #expect(r13.operand == .memory(base: 13, index: nil, scale: 1, displacement: 0x100, ripRelative: false) && r13.size == 7)
    #expect(r13.target(at: 0, registers: registers(), read: { $0 == 0xd001 + 0x100 ? 7 : nil }) == 7)
  }

  @Test func throughMemoryWithAnIndex() throws {
    // call *0x100(%r12) (SIB, base r12, no index), jmp *0x4020(,%rax,8) (a non-PIC jump
    // table: no base, disp32), call *0x10(%rbx,%r9,4) (REX.X index, disp8).
    let r12 = try #require(IndirectBranch([0x41, 0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00]))
    #expect(r12.kind == .call && r12.size == 8)
    #expect(r12.operand == .memory(base: 12, index: nil, scale: 1, displacement: 0x100, ripRelative: false))
    #expect(r12.target(at: 0, registers: registers(), read: { $0 == 0xc001 + 0x100 ? 5 : nil }) == 5)
    let table = try #require(IndirectBranch([0xff, 0x24, 0xc5, 0x20, 0x40, 0x00, 0x00]))
    #expect(table.kind == .jump && table.size == 7)
    #expect(table.operand == .memory(base: nil, index: 0, scale: 8, displacement: 0x4020, ripRelative: false))
    #expect(table.target(at: 0x401000, registers: registers(), read: { $0 == 0x4020 + 8 * 1 ? 0x401234 : nil }) == 0x401234)
    let indexed = try #require(IndirectBranch([0x42, 0xff, 0x54, 0x8b, 0x10]))
    #expect(indexed.operand == .memory(base: 3, index: 9, scale: 4, displacement: 0x10, ripRelative: false) && indexed.size == 5)
    #expect(indexed.target(at: 0, registers: registers(), read: { $0 == 0x3001 + 4 * 0x9001 + 0x10 ? 9 : nil }) == 9)
    #expect(indexed.operand.registersUsed == [3, 9])
  }

  @Test func refusesWhatItDoesNotWorkOut() {
    // A direct call, a push through memory (FF /6), and bytes cut short (a disp32, a SIB byte).
    #expect(IndirectBranch([0xe8, 0, 0, 0, 0]) == nil)
    #expect(IndirectBranch([0xff, 0x35, 0, 0, 0, 0]) == nil)
    #expect(IndirectBranch([0xff, 0x15, 0x10]) == nil)
    #expect(IndirectBranch([0xff, 0x14]) == nil)
  }
}
