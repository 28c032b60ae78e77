import Glibc

/// The one gdb connection a session serves. While it waits for gdb's bytes it also
/// watches the listening socket, so a second client is turned away at once instead of
/// hanging in the backlog until the first session ends.
///
/// Only `refuseWaitingClient()` is called from another thread (the interrupt watcher's,
/// while the server's is inside `resume`, so never at the same time as the rest).
final class ClientConnection: @unchecked Sendable {
  let descriptor: CInt
  let listener: ListeningSocket
  private let log: @Sendable (String) -> Void
  private(set) var isClosed = false
  /// Whether a second client is refused at once; off once refusing failed.
  private(set) var watchesListener = true

  init(descriptor: CInt, listener: ListeningSocket, log: @escaping @Sendable (String) -> Void) {
    self.descriptor = descriptor
    self.listener = listener
    self.log = log
  }

  deinit { close() }

  func close() {
    guard !isClosed else { return }
    isClosed = true
    Glibc.close(descriptor)
  }

  /// The next bytes gdb sent, or nil once it has disconnected.
  func receive() -> [UInt8]? {
    while true {
      var fds = [
        pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: watchesListener ? listener.descriptor : -1, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&fds, nfds_t(fds.count), -1)
      if ready < 0 {
        if errno == EINTR { continue }
        log("gdb connection: poll failed: \(String(cString: strerror(errno)))")
        return nil
      }
      if fds[1].revents != 0 { refuseWaitingClient() }
      if fds[0].revents != 0 { return read() }
    }
  }

  /// Sends all of `bytes`; false when gdb has gone away. `MSG_NOSIGNAL` turns the
  /// SIGPIPE of a closed peer into EPIPE, which must not kill the debugger's process.
  @discardableResult
  func send(_ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
      let count = bytes.withUnsafeBytes {
        Glibc.send(descriptor, $0.baseAddress! + sent, bytes.count - sent, CInt(MSG_NOSIGNAL))
      }
      if count < 0 {
        if errno == EINTR { continue }
        return false
      }
      sent += count
    }
    return true
  }

  private func read() -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
      if count > 0 { return Array(buffer[..<count]) }
      if count < 0 && errno == EINTR { continue }
      return nil  // 0: orderly close; ECONNRESET and the like end the session the same way.
    }
  }

  func refuseWaitingClient() {
    do {
      guard let second = try listener.acceptPending() else { return }
      Glibc.close(second)
      log("refused a second gdb connection on port \(listener.port): a client is already connected")
    } catch {
      // Out of descriptors, say: the connection stays in the backlog, and polling the
      // listener again would only spin until this session ends.
      watchesListener = false
      log("\(error); it waits until this session ends")
    }
  }
}
