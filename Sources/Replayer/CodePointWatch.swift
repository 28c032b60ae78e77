import CSupport
import Foundation
import LinuxTrace
import Synchronization

/// Tells the user when replay has looked for one code point far longer than the whole
/// recording ran. A point replay passed without recognizing it (a divergence it cannot see)
/// leaves a program that waits for that signal running for ever, with nothing on screen.
/// Only a notice, once per point: a search with the hardware breakpoint (~20 µs a pass) can
/// be slow and still right. REWIND_CODE_POINT_PATIENCE sets the seconds before it (tests).
final class CodePointWatch: Sendable {
  private struct Search {
    var id: Int
    var started: Double
    var what: String
    var told = false
  }

  private let search = Mutex<Search?>(nil)
  private let nextId = Atomic<Int>(0)
  /// Seconds a search may take before the notice.
  let patience: Double
  private let recordingSeconds: Double?

  /// `recordingSeconds`: how long the whole recording ran, when the trace says.
  init(recordingSeconds: Double?) {
    self.recordingSeconds = recordingSeconds
    let given = ProcessInfo.processInfo.environment["REWIND_CODE_POINT_PATIENCE"].flatMap(Double.init)
    patience = given ?? max(10, 20 * (recordingSeconds ?? 0) + 10)
    let interval = useconds_t(min(1, max(0.05, patience / 4)) * 1e6)
    Thread.detachNewThread { [self] in
      while true {
        usleep(interval)
        tick()
      }
    }
  }

  /// Runs `body`, a search for the code point described by `what`, under watch.
  func watch<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
    let id = nextId.add(1, ordering: .relaxed).newValue
    search.withLock { $0 = Search(id: id, started: monotonicSeconds(), what: what) }
    defer { search.withLock { if $0?.id == id { $0 = nil } } }
    return try body()
  }

  private func tick() {
    let message: String? = search.withLock { current in
      guard var running = current, !running.told else { return nil }
      let elapsed = monotonicSeconds() - running.started
      guard elapsed >= patience else { return nil }
      running.told = true
      current = running
      let recording = recordingSeconds.map { String(format: "; the whole recording ran for %.1f s", $0) } ?? ""
      return "rewind: replay has looked for " + String(format: "%.1f", elapsed) + " s for the point where \(running.what) happened\(recording). "
        + "If the program only goes on after that event, replay passed the point without recognizing it and will not end "
        + "(please report it); ^C stops the replay."
    }
    if let message { printToStandardError(message) }
  }
}
