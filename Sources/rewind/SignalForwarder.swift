import Foundation
import Glibc

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to `rewind record` on to the tracee, so
/// the program sees them as it would without rewind and the trace is finished normally.
///
/// A signal from the terminal (si_code SI_KERNEL) went to the whole foreground process group,
/// the tracees included, so it is not sent twice. A signal goes to the recorded root process
/// while it lives, and then to the processes that outlived it (daemons), so that an
/// interrupted recording ends with a complete trace.
final class SignalForwarder: @unchecked Sendable {
  private let lock = NSLock()
  private var root: pid_t = 0
  private var survivors: () -> [pid_t] = { [] }
  private var pending: [Int32] = []
  private var stopped = false
  private var set = sigset_t()

  init(signals: [Int32]) {
    sigemptyset(&set)
    for signal in signals { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
    let thread = Thread { [self] in loop() }
    thread.start()
  }

  func forward(toRoot pid: pid_t, thenTo survivors: @escaping () -> [pid_t]) {
    lock.lock()
    root = pid
    self.survivors = survivors
    let queued = pending
    pending = []
    lock.unlock()
    for signal in queued { send(signal) }
  }

  private func send(_ signal: Int32) {
    let alive = survivors()
    if alive.contains(root) || alive.isEmpty {
      kill(root, signal)
    } else {
      for pid in alive { kill(pid, signal) }
    }
  }

  func stopForwarding() {
    lock.lock()
    stopped = true
    lock.unlock()
  }

  private func loop() {
    var info = siginfo_t()
    var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
    while true {
      lock.lock()
      let done = stopped
      lock.unlock()
      if done { return }
      let signal = sigtimedwait(&set, &info, &timeout)
      if signal <= 0 { continue }
      if info.si_code == 0x80 { continue }  // SI_KERNEL: the terminal sent it to the tracee too
      lock.lock()
      if root > 0 { send(signal) } else { pending.append(signal) }
      lock.unlock()
    }
  }
}
