// `rewind record` of something it cannot run exits as a shell would (127, 126)
// and names the path.

import Foundation
import Testing

struct RecordErrorTests {
  @Test func missingProgram() throws {
    let path = "/no/such/program"
    let work = try Harness.makeWorkDir("missing")
    let result = try Harness.rewind(
      ["record", "-o", work + "/trace", path], env: ["REWIND_TRACE_DIR": work + "/traces"])
    #expect(result.exitedNormally && result.status == 127, "\(result.summary)")
    #expect(result.stderr.contains(path), "the message should name the path\n\(result.summary)")
    #expect(!result.stderr.contains("Fatal error"), "\(result.summary)")
  }

  @Test func nonExecutableFile() throws {
    let work = try Harness.makeWorkDir("not-executable")
    let path = work + "/script.sh"
    try Data("#!/bin/sh\necho should not run\n".utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    let result = try Harness.rewind(
      ["record", "-o", work + "/trace", path], env: ["REWIND_TRACE_DIR": work + "/traces"])
    #expect(result.exitedNormally && result.status == 126, "\(result.summary)")
    #expect(result.stderr.contains(path), "the message should name the path\n\(result.summary)")
    #expect(!result.stdout.contains("should not run"))
    #expect(!result.stderr.contains("Fatal error"), "\(result.summary)")
  }

  /// The harness itself: a missing rewind binary is reported with the fix.
  @Test func missingBinaryMessage() {
    let message = HarnessError.missingRewind("/x/rewind").description
    #expect(message.contains("swift build"))
  }
}

/// `rewind doctor` reports this machine's facts (DESIGN.md: no PMU, no CPUID faulting,
/// RDTSC trapping and debug registers work) and says rewind can record here.
@Suite struct DoctorTests {
  @Test func doctorReportsThisMachine() throws {
    let result = try Harness.rewind(["doctor"])
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    for line in ["yes  ptrace", "yes  disable ASLR", "yes  RDTSC trapping", "yes  hardware debug registers"] {
      #expect(result.stdout.contains(line), "missing '\(line)':\n\(result.stdout)")
    }
    #expect(result.stdout.contains("hardware PMU"))
    #expect(result.stdout.contains("rewind can record and replay on this machine."))
    // `rewind vm`'s needs: QEMU's presence and version, and whether KVM runs guests.
    #expect(result.stdout.contains("QEMU (rewind vm)"))
    #expect(result.stdout.contains("KVM (plain VM runs)"))
    if Harness.which("qemu-system-x86_64") != nil && Harness.which("qemu-img") != nil {
      #expect(result.stdout.contains("QEMU emulator version"), "\(result.stdout)")
    } else {
      #expect(result.stdout.contains("scripts/setup.sh --vm"), "\(result.stdout)")
    }
  }
}
