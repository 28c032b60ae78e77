import Testing
@testable import Watch

@Suite struct DebugRegisterPlanTests {
  @Test func piecesAreAlignedAndCoverTheRange() {
    #expect(DebugRegisterPlan.pieces(address: 0x1000, length: 8).map(\.length) == [8])
    #expect(DebugRegisterPlan.pieces(address: 0x1003, length: 8).map(\.length) == [1, 4, 2, 1])
    #expect(DebugRegisterPlan.pieces(address: 0x1003, length: 8).map(\.address) == [0x1003, 0x1004, 0x1008, 0x100a])
    #expect(DebugRegisterPlan.pieces(address: 0x1000, length: 12).map(\.length) == [8, 4])
    #expect(DebugRegisterPlan.pieces(address: 0x1001, length: 1).map(\.length) == [1])
  }

  @Test func controlRegisterEncodesEachSlot() throws {
    var plan = DebugRegisterPlan()
    try plan.add(WatchRange(address: 0x1000, length: 8, access: .write, label: "a"))
    try plan.add(WatchRange(address: 0x2002, length: 2, access: .readOrWrite, label: "b"))
    // Slot 0: L0, RW=01, LEN=10 (8 bytes); slot 1: L1, RW=11, LEN=01 (2 bytes).
    #expect(plan.control == (1 | 1 << 2 | 0b1001 << 16 | 0b0111 << 20))
    #expect(plan.freeSlots == 2)
  }

  @Test func runningOutOfRegistersChangesNothingAndSaysWhy() throws {
    var plan = DebugRegisterPlan()
    try plan.add(WatchRange(address: 0x1000, length: 16, access: .write, label: "table"))
    do {
      try plan.add(WatchRange(address: 0x2001, length: 8, access: .write, label: "x"))
      Issue.record("a fifth register was handed out")
    } catch {
      #expect(error.description.contains("needs 4 debug registers"), "\(error)")
      #expect(error.description.contains("2 of the 4 are taken"), "\(error)")
    }
    #expect(plan.ranges.count == 1 && plan.freeSlots == 2)
  }

  @Test func removingARangeFreesItsSlots() throws {
    var plan = DebugRegisterPlan()
    try plan.add(WatchRange(address: 0x1000, length: 16, access: .write, label: "a"))
    try plan.add(WatchRange(address: 0x3000, length: 4, access: .write, label: "b"))
    let removed = plan.remove(startingAt: 0x1000)
    let removedAgain = plan.remove(startingAt: 0x1000)
    #expect(removed && !removedAgain)
    #expect(plan.freeSlots == 3)
    #expect(plan.slots.compactMap { $0 }.map(\.range) == [0])
    #expect(plan.ranges.map(\.label) == ["b"])
  }

  @Test func valuesPrintAsNumbersUpToEightBytes() {
    #expect(WatchReport.value([5, 0, 0, 0]) == "0x5 (5)")
    #expect(WatchReport.value([0xff, 0xff]) == "0xffff (-1)")
    #expect(WatchReport.value(Array(repeating: 0xab, count: 9)) == "ab ab ab ab ab ab ab ab ab")
  }
}
