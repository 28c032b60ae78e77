import Glibc

/// Reads gdb's socket on its own thread while `DebugTarget.resume` runs on the
/// server's, so a ^C (0x03) can reach `DebugTarget.interrupt()` mid-resume.
///
/// It decodes with the session's decoder, handed over for the duration, so a byte is
/// read once and means the same thing whichever thread reads it; `stop()` hands the
/// decoder back with every frame other than the ^Cs it acted on. A disconnect also
/// interrupts: nobody is left to wait for the stop. A second client, which a long
/// resume would otherwise leave hanging in the backlog, is refused from here too.
///
/// The thread blocks in poll(2) on the socket and a pipe that `stop()` writes to;
/// joining it in `stop()` is what makes its decoder and frames safe to read.
final class InterruptWatcher: @unchecked Sendable {
  struct Result {
    var decoder: PacketDecoder
    var frames: [PacketDecoder.Frame]
  }

  private let connection: ClientConnection
  /// A pipe: `stop()` writes to the second end to wake the thread blocked on the first.
  private let wake: (read: CInt, write: CInt)
  private let onInterrupt: @Sendable () -> Void
  private let log: @Sendable (String) -> Void
  private var decoder: PacketDecoder
  private var frames: [PacketDecoder.Frame] = []
  private var thread = pthread_t()

  /// Starts watching at once, on a new thread.
  init(
    connection: ClientConnection, decoder: PacketDecoder,
    log: @escaping @Sendable (String) -> Void, onInterrupt: @escaping @Sendable () -> Void
  ) {
    self.connection = connection
    self.decoder = decoder
    self.log = log
    self.onInterrupt = onInterrupt
    var ends: [CInt] = [0, 0]
    precondition(pipe(&ends) == 0, "pipe for the interrupt watcher failed: \(String(cString: strerror(errno)))")
    wake = (ends[0], ends[1])
    // The target may spawn tracees during the resume; they must not inherit the pipe.
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    let status = pthread_create(
      &thread, nil,
      { raw in
        Unmanaged<InterruptWatcher>.fromOpaque(raw!).takeRetainedValue().watch()
        return nil
      }, Unmanaged.passRetained(self).toOpaque())
    precondition(status == 0, "pthread_create for the interrupt watcher failed: \(status)")
  }

  /// Ends the watch and returns what was read meanwhile, in order.
  func stop() -> Result {
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
    pthread_join(thread, nil)
    close(wake.read)
    close(wake.write)
    return Result(decoder: decoder, frames: frames)
  }

  private func watch() {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      var fds = [
        pollfd(fd: connection.descriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
        pollfd(fd: connection.watchesListener ? connection.listener.descriptor : -1, events: Int16(POLLIN), revents: 0),
      ]
      if poll(&fds, nfds_t(fds.count), -1) < 0 {
        if errno == EINTR { continue }
        return
      }
      if fds[1].revents != 0 { return }
      if fds[2].revents != 0 { connection.refuseWaitingClient() }
      guard fds[0].revents != 0 else { continue }
      let count = buffer.withUnsafeMutableBytes { recv(connection.descriptor, $0.baseAddress, $0.count, 0) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        // The server's next read sees the same end of stream and ends the session.
        log("gdb disconnected while the target was running; interrupting it")
        onInterrupt()
        return
      }
      for frame in decoder.feed(buffer[..<count]) {
        if frame == .interrupt {
          onInterrupt()
        } else {
          frames.append(frame)
        }
      }
    }
  }
}
