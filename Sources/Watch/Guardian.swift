import CSupport
import Glibc
import LinuxTrace

/// What keeps a watched program safe when rewind itself is killed (SIGKILL cannot be
/// caught): the kernel then detaches its tracees, but their debug registers stay set, and
/// the next access would kill the program with SIGTRAP. A guardian process (`rewind
/// watch-guardian`, started first) hears of each watched process over a socket; if the
/// socket closes without rewind saying it has detached, it attaches to every thread left,
/// clears its debug registers and detaches.
public final class GuardianLink {
  private let socket: Int32

  /// `socket` is rewind's end of a socket pair whose other end is the guardian's stdin.
  public init(socket: Int32) { self.socket = socket }

  deinit { close(socket) }

  /// Tells the guardian that `pid` carries watches.
  public func watching(_ pid: Int32) { send("P \(pid)\n") }

  /// Tells the guardian that every watch is cleared: it ends without touching anything.
  public func detached() { send("D\n") }

  private func send(_ line: String) {
    // MSG_NOSIGNAL: a dead guardian must not kill rewind with SIGPIPE.
    var bytes = Array(line.utf8)
    _ = Glibc.send(socket, &bytes, bytes.count, Int32(MSG_NOSIGNAL))
  }

  /// The guardian's side: reads the lines on fd 0 until "D" (returns at once) or the end
  /// of file (rewind is gone: clears every listed process's debug registers).
  public static func serve() {
    var pids: [Int32] = []
    var pending = ""
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
      let n = read(0, &buffer, buffer.count)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      pending += String(decoding: buffer[0..<n], as: UTF8.self)
      while let newline = pending.firstIndex(of: "\n") {
        let line = pending[..<newline]
        pending = String(pending[pending.index(after: newline)...])
        if line == "D" { return }
        if line.hasPrefix("P "), let pid = Int32(line.dropFirst(2)) { pids.append(pid) }
      }
    }
    for pid in Set(pids) { clearDebugRegisters(ofProcess: pid) }
  }

  /// Attaches to each thread of `pid` (once the dead tracer's hold is gone), clears DR0-DR3,
  /// DR6 and DR7, and detaches, delivering any signal a thread stopped for meanwhile.
  public static func clearDebugRegisters(ofProcess pid: Int32) {
    for tid in LiveWatcher.threadIDs(of: pid) {
      var seized = false
      // The kernel unlinks a dead tracer's tracees after closing its files: a moment later.
      for _ in 0..<2000 {
        if rewind_ptrace(0x4206, tid, 0, 0) == 0 { seized = true; break }  // PTRACE_SEIZE
        if errno == ESRCH { break }
        usleep(1000)
      }
      guard seized else { continue }
      let tracee = Tracee(tid: tid)
      try? tracee.interrupt()
      var signal: Int32 = 0
      var status: Int32 = 0
      while true {
        let r = waitpid(tid, &status, Int32(bitPattern: 0x4000_0000))
        if r == -1 && errno == EINTR { continue }
        if r == -1 { break }
        let decoded = WaitStatus(raw: status)
        if decoded.isTerminal { break }
        if case .event(.stop) = decoded {
          tracee.clearDebugRegisters()
          _ = rewind_ptrace(17, tid, 0, UInt(signal))  // PTRACE_DETACH
          break
        }
        if case .signalStop(let s) = decoded { signal = s.rawValue }
        _ = rewind_ptrace(7, tid, 0, 0)  // on to the interrupt's stop
      }
    }
  }
}
