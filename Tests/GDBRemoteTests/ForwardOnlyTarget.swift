@testable import GDBRemote

/// A `FakeTarget` seen through `DebugTarget` only, so the server finds no
/// `ReversibleTarget` (a live process, say, rather than a replay).
final class ForwardOnlyTarget: DebugTarget {
  let fake: FakeTarget

  init(_ fake: FakeTarget) { self.fake = fake }

  var threads: [ThreadID] { fake.threads }
  var currentStop: StopReason { fake.currentStop }
  func registers(of thread: ThreadID) throws -> RegisterFile { try fake.registers(of: thread) }
  func readMemory(at address: UInt64, count: Int) throws -> [UInt8] { try fake.readMemory(at: address, count: count) }
  func writeMemory(at address: UInt64, bytes: [UInt8]) throws { try fake.writeMemory(at: address, bytes: bytes) }
  func writeRegisters(_ registers: RegisterFile, of thread: ThreadID) throws {
    try fake.writeRegisters(registers, of: thread)
  }
  func resume(_ actions: [ResumeAction]) throws -> StopReason { try fake.resume(actions) }
  func interrupt() { fake.interrupt() }
  func insertBreakpoint(_ breakpoint: Breakpoint) throws { try fake.insertBreakpoint(breakpoint) }
  func removeBreakpoint(_ breakpoint: Breakpoint) throws { try fake.removeBreakpoint(breakpoint) }
  func catchSyscalls(_ which: GDBRequest.SyscallCatch) throws { try fake.catchSyscalls(which) }
  func monitor(_ command: String) throws -> String { try fake.monitor(command) }
  func auxiliaryVector() throws -> [UInt8] { try fake.auxiliaryVector() }
  func executablePath(pid: Int32?) throws -> String { try fake.executablePath(pid: pid) }
  func hostPath(forTargetFile path: String) -> String? { fake.hostPath(forTargetFile: path) }
  func kill() { fake.kill() }
}
