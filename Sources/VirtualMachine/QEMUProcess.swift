import CVMSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A running qemu-system-x86_64: started so that it dies with rewind (PR_SET_PDEATHSIG), its
/// messages in a log file, and ended by `stop()` on every path out of a command.
public final class QEMUProcess {
  public let pid: pid_t
  public let logPath: String
  public let arguments: [String]
  private var exitStatus: Int32?

  /// Starts `program arguments`; with `ownGroup` QEMU leads a process group of its own (the
  /// terminal's Ctrl-C is then for gdb only).
  public init(program: String, arguments: [String], logPath: String, ownGroup: Bool) throws {
    self.logPath = logPath
    self.arguments = [program] + arguments
    let logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard logFD >= 0 else { throw VMError(.failed, "cannot create '\(logPath)': \(String(cString: strerror(errno)))") }
    defer { close(logFD) }
    var cStrings = self.arguments.map { strdup($0) }
    cStrings.append(nil)
    defer { for pointer in cStrings { free(pointer) } }
    // The child's copy of the descriptor must survive exec: dup2 in the child clears CLOEXEC.
    let pid = rewind_vm_spawn(cStrings, logFD, ownGroup ? 1 : 0)
    guard pid > 0 else { throw VMError(.failed, "cannot start \(program): \(String(cString: strerror(errno)))") }
    self.pid = pid
  }

  deinit { stop() }

  /// Whether QEMU still runs (reaps it when it has ended).
  public var isRunning: Bool {
    if exitStatus != nil { return false }
    var status: Int32 = 0
    let result = waitpid(pid, &status, WNOHANG)
    if result == pid || (result < 0 && errno == ECHILD) {
      exitStatus = result == pid ? status : -1
      return false
    }
    return true
  }

  /// Waits up to `timeout` seconds for QEMU to end; its wait status, or nil if it still runs.
  @discardableResult
  public func wait(timeout: Double) -> Int32? {
    let deadline = Date().addingTimeInterval(timeout)
    while isRunning {
      if Date() > deadline { return nil }
      usleep(10_000)
    }
    return exitStatus
  }

  /// Waits for QEMU to end, however long it takes, checking `interrupted` between waits.
  public func waitForExit(pollEvery seconds: Double = 0.2, while keepWaiting: () -> Bool) -> Int32? {
    while isRunning {
      if !keepWaiting() { return nil }
      usleep(UInt32(seconds * 1_000_000))
    }
    return exitStatus
  }

  /// The exit code when QEMU exited normally.
  public var exitCode: Int32? {
    guard let status = exitStatus, status >= 0 else { return nil }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : nil
  }

  /// A description of how QEMU ended, for messages.
  public var endDescription: String {
    guard let status = exitStatus else { return "still running" }
    if status < 0 { return "ended (status unknown)" }
    if status & 0x7f == 0 { return "exited with status \((status >> 8) & 0xff)" }
    return "was killed by signal \(status & 0x7f)"
  }

  /// Ends QEMU: SIGTERM (QEMU then closes its files, a recording included), SIGKILL if it
  /// does not end within `grace` seconds; reaps it.
  public func stop(grace: Double = 5) {
    guard isRunning else { return }
    kill(pid, SIGTERM)
    if wait(timeout: grace) == nil {
      kill(pid, SIGKILL)
      wait(timeout: 10)
    }
  }

  /// The last lines QEMU printed, for error messages.
  public func lastMessages(_ lines: Int = 5) -> String {
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
    return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
  }
}
