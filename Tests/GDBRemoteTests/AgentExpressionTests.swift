import Testing

@testable import GDBRemote

/// gdb's agent bytecode as gdb 13 compiles breakpoint conditions (`set debug remote 1`
/// shows them in the `Z0` packets).
@Suite struct AgentExpressionTests {
  private func evaluate(_ bytes: [UInt8], registers: [Int: UInt64] = [:], memory: [UInt64: [UInt8]] = [:]) throws -> Int64 {
    try AgentExpression(bytes).evaluate(register: { registers[$0] }, memory: { address, count in memory[address].map { Array($0.prefix(count)) } })
  }

  @Test func aComparisonOfARegisterWithAConstant() throws {
    // `value == 2` with value in edi (register 5): reg 5, ext 32, const8 2, equal, end.
    let code: [UInt8] = [0x26, 0x00, 0x05, 0x16, 0x20, 0x22, 0x02, 0x13, 0x27]
    #expect(try evaluate(code, registers: [5: 2]) == 1)
    #expect(try evaluate(code, registers: [5: 0xffff_ffff_0000_0002]) == 1)  // the upper half is not the int's
    #expect(try evaluate(code, registers: [5: 3]) == 0)
  }

  @Test func aLocalInMemoryBelowTheFramePointer() throws {
    // `i == 4` with i at -0x14(%rbp): reg 6, const8 0x14, sub, ref32, ext 32, const8 4, equal, end.
    let code: [UInt8] = [0x26, 0x00, 0x06, 0x22, 0x14, 0x03, 0x19, 0x16, 0x20, 0x22, 0x04, 0x13, 0x27]
    #expect(try evaluate(code, registers: [6: 0x1000], memory: [0x1000 - 0x14: [4, 0, 0, 0]]) == 1)
    #expect(try evaluate(code, registers: [6: 0x1000], memory: [0x1000 - 0x14: [5, 0, 0, 0]]) == 0)
    #expect(throws: AgentExpression.Failure.self) { try evaluate(code, registers: [6: 0x1000]) }
  }

  @Test func branchesAndStackOperations() throws {
    // a || b as gdb compiles it: a, if_goto L, b, goto E; L: const8 1; E: end.
    let or: [UInt8] = [0x22, 0x00, 0x20, 0x00, 0x0a, 0x22, 0x00, 0x21, 0x00, 0x0c, 0x22, 0x01, 0x27]
    #expect(try evaluate(or) == 0)
    var taken = or
    taken[1] = 7
    #expect(try evaluate(taken) == 1)
    #expect(try evaluate([0x22, 0x05, 0x28, 0x02, 0x27]) == 10)  // dup, add
    #expect(try evaluate([0x22, 0x01, 0x22, 0x02, 0x2b, 0x03, 0x27]) == 1)  // swap: 2 - 1
    #expect(try evaluate([0x22, 0x01, 0x22, 0x02, 0x22, 0x03, 0x33, 0x29, 0x29, 0x27]) == 3)  // rot: 1 2 3 => 3 1 2
    #expect(try evaluate([0x22, 0xff, 0x16, 0x08, 0x27]) == -1)  // ext 8
    #expect(try evaluate([0x25, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x2a, 0x08, 0x27]) == 0xfe)  // zero_ext 8
    #expect(try evaluate([0x22, 0x02, 0x22, 0x03, 0x14, 0x27]) == 1)  // less_signed
    #expect(try evaluate([0x22, 0x07, 0x22, 0x02, 0x07, 0x27]) == 1)  // rem_signed
  }

  @Test func whatItCannotEvaluateIsAFailure() {
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x22, 0x01, 0x22, 0x00, 0x05, 0x27]) }  // division by zero
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x01, 0x27]) }  // floating point
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x26, 0x00, 0x20, 0x27]) }  // no such register here
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x22, 0x01]) }  // no end
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x21, 0x00, 0x00]) }  // a loop
    #expect(throws: AgentExpression.Failure.self) { try evaluate([0x02, 0x27]) }  // an empty stack
  }
}
