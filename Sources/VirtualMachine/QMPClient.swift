import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A client of QEMU's machine protocol (QMP) over a Unix socket: one JSON object a line;
/// commands are answered with `return` or `error`, and events (`STOP`, `RESUME`, `SHUTDOWN`)
/// arrive in between, kept here until asked for.
public final class QMPClient {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var events: [[String: Any]] = []
  public private(set) var greeting: [String: Any]

  /// Connects, reads the greeting and leaves capabilities negotiation mode. Retries until
  /// `timeout` while QEMU starts up; `alive` says whether QEMU is still running (no point in
  /// waiting for a dead one).
  public init(socketPath: String, timeout: Double, alive: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    var connected: Int32 = -1
    var lastError: Int32 = 0
    while connected < 0 {
      let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else { throw VMError(.failed, "socket: \(String(cString: strerror(errno)))") }
      var address = sockaddr_un()
      address.sun_family = sa_family_t(AF_UNIX)
      let pathBytes = Array(socketPath.utf8)
      guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(fd)
        throw VMError(.failed, "the QMP socket path '\(socketPath)' is too long for a Unix socket; use a shorter TMPDIR")
      }
      withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        raw[pathBytes.count] = 0
      }
      let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
      }
      if result == 0 {
        connected = fd
        break
      }
      lastError = errno
      close(fd)
      if !alive() { throw VMError(.failed, "QEMU ended before its monitor socket accepted a connection") }
      if Date() > deadline {
        throw VMError(.failed, "QEMU's monitor socket '\(socketPath)' did not accept a connection in \(Int(timeout)) s: \(String(cString: strerror(lastError)))")
      }
      usleep(20_000)
    }
    fd = connected
    greeting = [:]
    greeting = try readMessage(deadline: Date().addingTimeInterval(timeout)) ?? [:]
    guard greeting["QMP"] != nil else {
      throw VMError(.failed, "QEMU's monitor did not greet as QMP does: \(greeting)")
    }
    _ = try execute("qmp_capabilities")
  }

  deinit { close(fd) }

  /// Runs a command and returns its `return` value; a QMP `error` is thrown as a `VMError`.
  @discardableResult
  public func execute(_ command: String, _ arguments: [String: Any]? = nil, timeout: Double = 120) throws -> Any {
    var message: [String: Any] = ["execute": command]
    if let arguments { message["arguments"] = arguments }
    var data = try JSONSerialization.data(withJSONObject: message)
    data.append(UInt8(ascii: "\n"))
    try data.withUnsafeBytes { raw in
      var sent = 0
      while sent < raw.count {
        let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
        if n < 0 {
          if errno == EINTR { continue }
          throw VMError(.failed, "QEMU's monitor connection broke (\(String(cString: strerror(errno)))): QEMU ended")
        }
        sent += n
      }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      guard let reply = try readMessage(deadline: deadline) else {
        throw VMError(.failed, "QEMU's monitor did not answer '\(command)' in \(Int(timeout)) s")
      }
      if reply["event"] != nil {
        events.append(reply)
        continue
      }
      if let error = reply["error"] as? [String: Any] {
        throw VMError(.failed, "QEMU refused '\(command)': \(error["desc"] as? String ?? "\(error)")")
      }
      return reply["return"] ?? [:]
    }
  }

  /// A human monitor command (`savevm`, `loadvm`, `info snapshots`); QEMU answers with text,
  /// empty on success.
  @discardableResult
  public func humanMonitor(_ line: String, timeout: Double = 300) throws -> String {
    let text = try execute("human-monitor-command", ["command-line": line], timeout: timeout) as? String ?? ""
    return text
  }

  /// The next event among `names`, waiting at most `timeout` seconds; nil on timeout.
  /// Events of other names are dropped.
  public func waitForEvent(_ names: Set<String>, timeout: Double) throws -> [String: Any]? {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let index = events.firstIndex(where: { names.contains($0["event"] as? String ?? "") }) {
        let event = events[index]
        events.removeSubrange(0...index)
        return event
      }
      events.removeAll()
      guard let message = try readMessage(deadline: deadline) else { return nil }
      if message["event"] != nil { events.append(message) }
    }
  }

  /// The guest instruction count QEMU has replayed or recorded so far.
  public func instructionCount() throws -> UInt64 {
    let reply = try execute("query-replay") as? [String: Any]
    return (reply?["icount"] as? NSNumber)?.uint64Value ?? 0
  }

  /// QEMU's run state ("running", "paused", "shutdown", "internal-error", "prelaunch", ...).
  public func status() throws -> String {
    (try execute("query-status") as? [String: Any])?["status"] as? String ?? "unknown"
  }

  /// One message, or nil when the deadline passes first. Throws when the connection closes.
  private func readMessage(deadline: Date) throws -> [String: Any]? {
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
          throw VMError(.failed, "QEMU's monitor sent something that is not JSON: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        return object
      }
      let remaining = deadline.timeIntervalSinceNow
      if remaining <= 0 { return nil }
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000) + 1)
      if ready < 0 && errno != EINTR { throw VMError(.failed, "poll on QEMU's monitor: \(String(cString: strerror(errno)))") }
      if ready <= 0 { continue }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = recv(fd, &chunk, chunk.count, 0)
      if n < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        throw VMError(.failed, "QEMU's monitor connection broke: \(String(cString: strerror(errno)))")
      }
      if n == 0 { throw VMError(.failed, "QEMU ended (its monitor connection closed)") }
      buffer.append(contentsOf: chunk[0..<n])
    }
  }
}
