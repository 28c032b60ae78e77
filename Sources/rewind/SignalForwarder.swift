import Foundation
import Glibc

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to `rewind record` on to the tracee, so
/// the program sees them as it would without rewind and the trace is finished normally.
///
/// A signal from the terminal (si_code SI_KERNEL) went to the whole foreground process group,
/// the tracee included, so it is not sent twice.
final class SignalForwarder: @unchecked Sendable {
  private let lock = NSLock()
  private var target: pid_t = 0
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

  func forward(to pid: pid_t) {
    lock.lock()
    target = pid
    let queued = pending
    pending = []
    lock.unlock()
    for signal in queued { kill(pid, signal) }
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
      if target > 0 { kill(target, signal) } else { pending.append(signal) }
      lock.unlock()
    }
  }
}
