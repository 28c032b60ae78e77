// The in-tracee system call buffer library (Sources/RewindPreload), run natively: the
// recorder does not load it yet (docs/ARCHITECTURE.md, "The system call buffer (first
// part)"). Loaded with LD_PRELOAD, a program gets the same results from the calls the
// library takes, and those calls reach the kernel from the buffer page's `syscall`
// instruction, the one address the recording's seccomp filter is to let through.

import Foundation
import Testing

struct SyscallBufferTests {
  /// Next to the rewind executable, where the recorder is to find it.
  static func libraryPath() throws -> String {
    URL(fileURLWithPath: try Harness.rewindPath()).deletingLastPathComponent()
      .appendingPathComponent("librewind_preload.so").path
  }

  @Test(.enabled(if: Harness.hasCompiler))
  func bufferedCallsReturnWhatTheKernelDoes() throws {
    let program = try Harness.fixture("buffered_calls")
    let library = try SyscallBufferTests.libraryPath()
    #expect(FileManager.default.fileExists(atPath: library), "no \(library): swift build builds it")
    let plain = try Harness.run([program])
    let preloaded = try Harness.run([program], env: ["LD_PRELOAD": library])
    #expect(plain.exitedNormally && plain.status == 0, "\(plain.summary)")
    #expect(preloaded.exitedNormally && preloaded.status == 0, "\(preloaded.summary)")
    let plainLines = plain.stdout.split(separator: "\n")
    let preloadedLines = preloaded.stdout.split(separator: "\n")
    #expect(plainLines.count == 3 && preloadedLines.count == 3, "\(plain.summary)\n\(preloaded.summary)")
    guard plainLines.count == 3, preloadedLines.count == 3 else { return }
    // 3,000 writes and preads of 100 bytes (each after a buffered fstat): the 256 KiB ring
    // wraps and the library makes its traced call before writing over unread records.
    #expect(plainLines[0] == preloadedLines[0])
    #expect(plainLines[0].hasPrefix("size 300000 ") && plainLines[0].hasSuffix("clock 0 pid 1 tid 1"))
    #expect(plainLines[1] == "page absent, libc lseek Operation not permitted, raw lseek Operation not permitted")
    #expect(preloadedLines[1] == "page mapped, libc lseek ok, raw lseek Operation not permitted")
  }
}
