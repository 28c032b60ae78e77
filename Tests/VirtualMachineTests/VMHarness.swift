// Runs the built `rewind vm ...` on the example guest (scripts/example-guest.sh) with QEMU.
// The guest is looked for in $REWIND_VM_GUEST, else .build/vm-guest (where scripts/test.sh
// builds it); the tests that need it, or QEMU, are skipped with a message saying how to get
// them.

import Foundation
import Testing

@testable import VirtualMachine

struct VMRun {
  var status: Int32
  var stdout: String
  var stderr: String
  var timedOut: Bool

  var summary: String { "[\(timedOut ? "timed out" : "exit \(status)")]\n--- stdout ---\n\(stdout.suffix(3000))\n--- stderr ---\n\(stderr.suffix(3000))" }
}

enum VMHarness {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static var guestDirectory: String {
    if let directory = ProcessInfo.processInfo.environment["REWIND_VM_GUEST"], !directory.isEmpty { return directory }
    return packageRoot.appendingPathComponent(".build/vm-guest").path
  }

  static var hasQEMU: Bool { QEMUInstallation.findInPath("qemu-system-x86_64") != nil && QEMUInstallation.findInPath("qemu-img") != nil }

  static var hasGuest: Bool {
    ["bzImage", "rootfs.cpio.gz", "System.map"].allSatisfy { FileManager.default.fileExists(atPath: guestDirectory + "/" + $0) }
  }

  static var canRun: Bool { hasQEMU && hasGuest }

  static let skipMessage =
    "needs QEMU and the example guest: scripts/setup.sh --vm && scripts/example-guest.sh .build/vm-guest (scripts/test.sh does both)"

  static func rewindPath() throws -> String {
    if let path = ProcessInfo.processInfo.environment["REWIND_BIN"], !path.isEmpty { return path }
    if let runner = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      let sibling = URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("rewind").path
      if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
    }
    return packageRoot.appendingPathComponent(".build/debug/rewind").path
  }

  /// One directory per test run (traces are tens of MB each); those of test processes that
  /// are gone are swept first.
  static let runDirectory: String = {
    let base = FileManager.default.temporaryDirectory.path
    let prefix = "rewind-vm-tests-"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix) {
      if let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH {
        try? FileManager.default.removeItem(atPath: base + "/" + name)
      }
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)\(getpid())").path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
  }()

  static func makeDirectory(_ label: String) -> String {
    let directory = runDirectory + "/\(label)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
  }

  /// Runs `rewind ARGUMENTS`, killing it after `timeout` seconds.
  static func rewind(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 600) throws -> VMRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try rewindPath())
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["REWIND_TRACE_DIR"] = runDirectory + "/traces"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let io = makeDirectory("io")
    let out = io + "/stdout"
    let err = io + "/stderr"
    FileManager.default.createFile(atPath: out, contents: nil)
    FileManager.default.createFile(atPath: err, contents: nil)
    let outHandle = FileHandle(forWritingAtPath: out)!
    let errHandle = FileHandle(forWritingAtPath: err)!
    defer {
      try? outHandle.close()
      try? errHandle.close()
      try? FileManager.default.removeItem(atPath: io)
    }
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        process.terminate()
        usleep(3_000_000)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        break
      }
      usleep(20_000)
    }
    process.waitUntilExit()
    return VMRun(
      status: process.terminationStatus, stdout: String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self),
      stderr: String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self), timedOut: timedOut)
  }

  /// `rewind vm record` of the example guest into a new directory.
  static func record(_ label: String, extraArguments: [String] = []) throws -> (trace: String, run: VMRun) {
    let trace = makeDirectory(label) + "/trace"
    let run = try rewind([
      "vm", "record", "--kernel", guestDirectory + "/bzImage", "--initrd", guestDirectory + "/rootfs.cpio.gz", "-o", trace,
    ] + extraArguments)
    return (trace, run)
  }

  /// One recording shared by the tests that only read or replay it (each copies it first if
  /// it changes it).
  static func sharedTrace() throws -> String {
    lock.lock()
    defer { lock.unlock() }
    if let shared = shared.value { return shared }
    // With the symbols kept in the trace: gdb tests that give no --symbols use them.
    let (trace, run) = try record("shared", extraArguments: ["--symbols", guestDirectory + "/System.map"])
    guard run.status == 0 else { throw VMTestError("recording the example guest failed:\n\(run.summary)") }
    shared.value = trace
    return trace
  }

  private static let lock = NSLock()
  private final class Box: @unchecked Sendable { var value: String? }
  private static let shared = Box()

  /// QEMU processes whose command line mentions `path` (none may outlive a rewind command).
  static func qemuProcesses(mentioning path: String) -> [String] {
    var found: [String] = []
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
      guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
      let command = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
      if command.contains("qemu-system") && command.contains(path) { found.append("\(entry): \(command.prefix(200))") }
    }
    return found
  }

  /// Copies a trace directory (for tests that damage it).
  static func copyTrace(_ trace: String, label: String) throws -> String {
    let copy = makeDirectory(label) + "/trace"
    try FileManager.default.copyItem(atPath: trace, toPath: copy)
    return copy
  }
}

struct VMTestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
