/// A GDB remote protocol server for one `DebugTarget`, over TCP.
///
/// Design note. The protocol is gdb's "Remote Serial Protocol" (gdb manual, appendix E:
/// https://sourceware.org/gdb/current/onlinedocs/gdb.html/Remote-Protocol.html). The
/// codec (`PacketDecoder`, `GDBRequest`, `GDBReply`, `PacketEncoder`) is pure; this type
/// and `GDBSession` are the only code that touches a socket. Decisions:
/// - All-stop only, one client at a time: a second connection is accepted and closed
///   at once with a log line, since two gdbs driving one replay cannot both be right.
/// - The target is called from the thread that runs `serve()`, one call at a time;
///   only `interrupt()` comes from the watcher thread that reads ^C during a resume.
/// - Target errors never end a session: they become error replies, and a
///   `TargetError`'s message is logged, because gdb 13 shows at most the `Exx` number
///   for most packets (see `GDBSession.errorReply`).
/// - Plain sockets and poll(2) through Glibc, no event loop: a session is a strict
///   request/reply exchange, and blocking I/O keeps it readable.
///
/// `serve()` is called from one thread at a time; `port` may be read from any.
public final class GDBServer: @unchecked Sendable {
  /// The port the server listens on, the one chosen by the system when `init` got 0.
  public let port: UInt16
  private let target: any DebugTarget
  private let listener: ListeningSocket
  private let log: @Sendable (String) -> Void

  /// Listens on `host:port` (TCP, `SO_REUSEADDR`; port 0 picks a free one) right away,
  /// so the caller can print how to connect before calling `serve()`. Errors name the
  /// address and the system's reason: "cannot listen on 127.0.0.1:50505: Address
  /// already in use".
  public init(
    target: any DebugTarget, host: String = "127.0.0.1", port: UInt16,
    log: @escaping @Sendable (String) -> Void
  ) throws {
    self.target = target
    self.log = log
    listener = try ListeningSocket(host: host, port: port)
    self.port = listener.port
  }

  /// Waits for gdb to connect and serves it until it kills the target (`k`, `vKill`),
  /// detaches (`D`) or disconnects. Killing and detaching call `DebugTarget.kill()`; a
  /// disconnect leaves the target as it is, to the caller. Throws only when no client
  /// can be accepted; what happens within a session is logged and answered, never
  /// thrown. May be called again afterwards to serve the next client.
  ///
  /// `stopWaiting`, asked every 100 ms until a client connects, gives up the wait (the gdb
  /// the caller launched died before it connected): then no session is served and
  /// `serve` returns false.
  @discardableResult
  public func serve(stopWaiting: (() -> Bool)? = nil) throws -> Bool {
    guard let descriptor = try listener.accept(stopWaiting: stopWaiting) else { return false }
    let connection = ClientConnection(descriptor: descriptor, listener: listener, log: log)
    log("gdb connected on port \(port)")
    let session = GDBSession(target: target, connection: connection, log: log)
    let end = session.run()
    connection.close()
    log("gdb session ended: \(end)")
    return true
  }
}
