import Foundation
import Replayer
import Testing
import TraceFormat

/// The header checks replay makes before it starts: warnings, never refusals.
@Suite struct TraceCompatibilityTests {
  func header(cpu: String, table: String) -> TraceHeader {
    TraceHeader(
      formatVersion: 2, rewindVersion: "0.9.0", cpuModel: cpu, syscallTableHash: table,
      command: ["/bin/true"], cwd: "/", startTime: Date(timeIntervalSince1970: 0),
      hostname: "h", kernelRelease: "6.1")
  }

  @Test func theSameMachineAndTableSayNothing() {
    let warnings = TraceCompatibility.warnings(
      for: header(cpu: "CPU A", table: "00000000000000aa"), path: "/t", cpuModel: "CPU A",
      syscallTableHash: "00000000000000aa")
    #expect(warnings.isEmpty)
  }

  @Test func anotherCPUIsNamedWithThisOne() throws {
    let warnings = TraceCompatibility.warnings(
      for: header(cpu: "CPU A", table: "00000000000000aa"), path: "/t", cpuModel: "CPU B",
      syscallTableHash: "00000000000000aa")
    let warning = try #require(warnings.first)
    #expect(warnings.count == 1)
    #expect(warning.contains("'CPU A'") && warning.contains("'CPU B'") && warning.contains("glibc"))
  }

  @Test func anotherTableNamesBothHashesAndTheRecordingRewind() throws {
    let warnings = TraceCompatibility.warnings(
      for: header(cpu: "CPU A", table: "00000000000000aa"), path: "/t", cpuModel: "CPU A",
      syscallTableHash: "00000000000000bb")
    let warning = try #require(warnings.first)
    #expect(warnings.count == 1)
    #expect(
      warning.contains("00000000000000aa") && warning.contains("00000000000000bb")
        && warning.contains("rewind 0.9.0"))
  }
}
